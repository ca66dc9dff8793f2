// Package refund is the pure cancellation-policy calculation of DESIGN §7: may a booking
// be cancelled now, and how much of its total is refunded, all in integer minor units.
//
// Rounding: every division floors. A refund can never exceed what the tier promises (so
// rounding never creates money the organiser did not agree to give back, and repeated
// partial refunds never sum to more than was paid), and a percentage fee can never exceed
// the stated percentage. Each floored figure is within one minor unit of the exact value.
//
// An event without a policy allows cancellation with a 100 % refund and no fee: the buyer
// was shown no terms (GET /events/{id}/cancellation-policy answers 404), so the system
// must not invent restrictions they never saw.
package refund

import (
	"time"

	"evently.dev/libs/apperr"
)

// Fee types a policy may charge.
const (
	FeeNone       = "NONE"
	FeeFixed      = "FIXED"
	FeePercentage = "PERCENTAGE"
)

// Reasons a cancellation is refused (all 409: the booking's state does not allow it).
var (
	ErrNotAllowed = apperr.New(apperr.KindConflict, "cancellation_not_allowed",
		"the event's policy does not allow cancellation")
	ErrDeadlinePassed = apperr.New(apperr.KindConflict, "cancellation_deadline_passed",
		"the cancellation deadline has passed")
	ErrEventStarted = apperr.New(apperr.KindConflict, "event_started",
		"the event has already started; it can no longer be cancelled")
)

// Tier refunds Percent when cancelled at least HoursBefore hours before the start.
type Tier struct {
	HoursBefore int `json:"hours_before"`
	Percent     int `json:"refund_percent"`
}

// Policy is one version of an event's cancellation policy.
type Policy struct {
	Version           int        `json:"policy_version"`
	AllowCancellation bool       `json:"allow_cancellation"`
	Deadline          *time.Time `json:"cancellation_deadline,omitempty"`
	FeeType           string     `json:"fee_type"`
	// FeeAmount is minor units for FIXED and a percent (0–100) of the total for PERCENTAGE.
	FeeAmount            int64  `json:"fee_amount"`
	Tiers                []Tier `json:"refund_tiers"`
	RequiresApproval     bool   `json:"requires_approval"`
	RefundProcessingDays int    `json:"refund_processing_days"`
}

// Quote is the outcome of judging one cancellation.
type Quote struct {
	// Percent is the refund tier applied (0–100).
	Percent int
	// Gross is total × Percent / 100, before the fee.
	Gross int64
	// Fee is the fee actually kept: the policy's fee, capped at Gross so that
	// Refund + Fee = Gross and the refund never goes below zero.
	Fee int64
	// Refund is what goes back to the buyer: Gross − Fee, never below 0.
	Refund int64
	// PolicyVersion is the version judged under (0: no policy).
	PolicyVersion int
	// RequiresApproval tells whether an admin must approve before it applies.
	RequiresApproval bool
}

// Compute judges a cancellation of a booking worth total at time now for an event starting
// at startsAt under p (nil: no policy). Cancelling exactly at the deadline is still
// allowed; one instant later it is not. A tier applies when at least HoursBefore hours are
// left, so a tier boundary reached exactly counts.
func Compute(p *Policy, total int64, startsAt, now time.Time) (Quote, error) {
	if total < 0 {
		total = 0
	}
	if !now.Before(startsAt) {
		return Quote{}, ErrEventStarted
	}
	if p == nil {
		return Full(total), nil
	}
	if !p.AllowCancellation {
		return Quote{}, ErrNotAllowed
	}
	if p.Deadline != nil && now.After(*p.Deadline) {
		return Quote{}, ErrDeadlinePassed.WithDetail("the cancellation deadline passed at %s",
			p.Deadline.UTC().Format(time.RFC3339))
	}
	pct := TierPercent(p.Tiers, startsAt.Sub(now))
	gross := total * int64(pct) / 100
	fee := p.fee(total)
	if fee > gross {
		fee = gross
	}
	return Quote{Percent: pct, Gross: gross, Fee: fee, Refund: gross - fee, PolicyVersion: p.Version,
		RequiresApproval: p.RequiresApproval}, nil
}

// Full is the refund of a cancelled event: everything back, no fee, no approval.
func Full(total int64) Quote {
	if total < 0 {
		total = 0
	}
	return Quote{Percent: 100, Gross: total, Refund: total}
}

// TierPercent picks the tier with the largest HoursBefore still within left; no tiers at
// all refunds 100 %, tiers of which none is reached refund 0 %.
func TierPercent(tiers []Tier, left time.Duration) int {
	if len(tiers) == 0 {
		return 100
	}
	best, pct := -1, 0
	for _, t := range tiers {
		if time.Duration(t.HoursBefore)*time.Hour <= left && t.HoursBefore > best {
			best, pct = t.HoursBefore, clampPercent(t.Percent)
		}
	}
	return pct
}

func (p *Policy) fee(total int64) int64 {
	switch p.FeeType {
	case FeeFixed:
		return max(p.FeeAmount, 0)
	case FeePercentage:
		return total * clampPercent64(p.FeeAmount) / 100
	default:
		return 0
	}
}

func clampPercent(v int) int { return min(max(v, 0), 100) }

func clampPercent64(v int64) int64 { return min(max(v, 0), 100) }
