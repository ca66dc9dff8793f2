package domain

import (
	"sort"
	"strconv"
	"time"

	"github.com/google/uuid"

	"evently.dev/libs/apperr"
)

// Fee types of a cancellation policy.
const (
	FeeNone       = "NONE"
	FeeFixed      = "FIXED"
	FeePercentage = "PERCENTAGE"
)

// Policy bounds.
const (
	MaxRefundTiers              = 20
	MaxHoursBefore              = 24 * 365 * 5
	MaxRefundProcessingDays     = 365
	DefaultRefundProcessingDays = 7
)

// RefundTier refunds Percent when cancelled at least HoursBefore the start.
type RefundTier struct {
	HoursBefore int
	Percent     int
}

// Policy is one version of an event's cancellation policy.
type Policy struct {
	EventID              uuid.UUID
	Version              int
	AllowCancellation    bool
	Deadline             *time.Time
	FeeType              string
	FeeAmount            int64
	RefundTiers          []RefundTier
	RequiresApproval     bool
	RefundProcessingDays int
	CreatedAt            time.Time
}

// RefundTierInput is a tier as sent; pointers tell a missing field from a zero.
type RefundTierInput struct {
	HoursBefore   *int
	RefundPercent *int
}

// PolicyInput is a policy as the organiser sends it. On update, nil fields keep the
// previous version's values.
type PolicyInput struct {
	AllowCancellation    *bool
	CancellationDeadline *string
	ClearDeadline        bool
	FeeType              *string
	FeeAmount            *int64
	RefundTiers          *[]RefundTierInput
	RequiresApproval     *bool
	RefundProcessingDays *int
}

// NextPolicy validates in over prev (nil when creating) and returns the next version.
// Tiers come back ordered by hours_before, largest first.
func NextPolicy(eventID uuid.UUID, prev *Policy, in PolicyInput) (Policy, error) {
	p := Policy{EventID: eventID, Version: 1, AllowCancellation: true, FeeType: FeeNone,
		RefundTiers: []RefundTier{}, RefundProcessingDays: DefaultRefundProcessingDays}
	if prev != nil {
		p = *prev
		p.Version = prev.Version + 1
		p.RefundTiers = append([]RefundTier{}, prev.RefundTiers...)
	}
	var f apperr.Fields
	if in.AllowCancellation != nil {
		p.AllowCancellation = *in.AllowCancellation
	}
	if in.ClearDeadline {
		p.Deadline = nil
	}
	if in.CancellationDeadline != nil {
		t, err := time.Parse(time.RFC3339, *in.CancellationDeadline)
		if err != nil {
			f.Add("cancellation_deadline", "must be an RFC 3339 time such as 2026-12-24T19:30:00Z")
		} else {
			t = t.UTC()
			p.Deadline = &t
		}
	}
	if in.FeeType != nil {
		p.FeeType = *in.FeeType
		if in.FeeAmount == nil {
			p.FeeAmount = 0
		}
	}
	if in.FeeAmount != nil {
		p.FeeAmount = *in.FeeAmount
	}
	switch p.FeeType {
	case FeeNone:
		if p.FeeAmount != 0 {
			f.Add("fee_amount", "must be 0 when fee_type is NONE")
		}
	case FeeFixed:
		if p.FeeAmount < 0 || p.FeeAmount > MaxBasePrice {
			f.Add("fee_amount", "must be between 0 and %d minor units for a FIXED fee", MaxBasePrice)
		}
	case FeePercentage:
		if p.FeeAmount < 0 || p.FeeAmount > 100 {
			f.Add("fee_amount", "must be a percent between 0 and 100 for a PERCENTAGE fee")
		}
	default:
		f.Add("fee_type", "must be one of NONE, FIXED, PERCENTAGE")
	}
	if in.RefundTiers != nil {
		tiers := *in.RefundTiers
		if len(tiers) > MaxRefundTiers {
			f.Add("refund_tiers", "at most %d tiers", MaxRefundTiers)
		}
		seen := map[int]bool{}
		p.RefundTiers = make([]RefundTier, 0, len(tiers))
		for i, t := range tiers {
			prefix := "refund_tiers[" + strconv.Itoa(i) + "]."
			ok := true
			switch {
			case t.HoursBefore == nil:
				f.Add(prefix+"hours_before", "is required")
				ok = false
			case *t.HoursBefore < 0 || *t.HoursBefore > MaxHoursBefore:
				f.Add(prefix+"hours_before", "must be between 0 and %d", MaxHoursBefore)
				ok = false
			case seen[*t.HoursBefore]:
				f.Add(prefix+"hours_before", "must be unique across tiers")
				ok = false
			}
			switch {
			case t.RefundPercent == nil:
				f.Add(prefix+"refund_percent", "is required")
				ok = false
			case *t.RefundPercent < 0 || *t.RefundPercent > 100:
				f.Add(prefix+"refund_percent", "must be between 0 and 100")
				ok = false
			}
			if ok {
				seen[*t.HoursBefore] = true
				p.RefundTiers = append(p.RefundTiers, RefundTier{HoursBefore: *t.HoursBefore, Percent: *t.RefundPercent})
			}
		}
		sort.Slice(p.RefundTiers, func(i, j int) bool { return p.RefundTiers[i].HoursBefore > p.RefundTiers[j].HoursBefore })
	}
	if in.RequiresApproval != nil {
		p.RequiresApproval = *in.RequiresApproval
	}
	if in.RefundProcessingDays != nil {
		if *in.RefundProcessingDays < 0 || *in.RefundProcessingDays > MaxRefundProcessingDays {
			f.Add("refund_processing_days", "must be between 0 and %d", MaxRefundProcessingDays)
		}
		p.RefundProcessingDays = *in.RefundProcessingDays
	}
	if err := f.Err(); err != nil {
		return Policy{}, err
	}
	return p, nil
}
