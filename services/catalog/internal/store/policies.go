package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"evently.dev/libs/pg"

	"evently.dev/services/catalog/internal/domain"
)

type tierJSON struct {
	HoursBefore   int `json:"hours_before"`
	RefundPercent int `json:"refund_percent"`
}

type policyRow struct {
	bun.BaseModel        `bun:"table:cancellation_policies"`
	EventID              uuid.UUID  `bun:"event_id,pk"`
	Version              int        `bun:"version,pk"`
	AllowCancellation    bool       `bun:"allow_cancellation"`
	CancellationDeadline *time.Time `bun:"cancellation_deadline"`
	FeeType              string     `bun:"fee_type"`
	FeeAmount            int64      `bun:"fee_amount"`
	RefundTiers          []tierJSON `bun:"refund_tiers,type:jsonb"`
	RequiresApproval     bool       `bun:"requires_approval"`
	RefundProcessingDays int        `bun:"refund_processing_days"`
	CreatedAt            time.Time  `bun:"created_at"`
}

// CurrentPolicy loads the latest version of an event's policy.
func (q queries) CurrentPolicy(ctx context.Context, eventID uuid.UUID) (domain.Policy, error) {
	var r policyRow
	if err := q.db.NewSelect().Model(&r).Where("event_id = ?", eventID).Order("version DESC").Limit(1).Scan(ctx); err != nil {
		return domain.Policy{}, notFound(err, domain.ErrPolicyNotFound)
	}
	p := domain.Policy{EventID: r.EventID, Version: r.Version, AllowCancellation: r.AllowCancellation,
		Deadline: utcPtr(r.CancellationDeadline), FeeType: r.FeeType, FeeAmount: r.FeeAmount,
		RequiresApproval: r.RequiresApproval, RefundProcessingDays: r.RefundProcessingDays, CreatedAt: r.CreatedAt.UTC(),
		RefundTiers: make([]domain.RefundTier, len(r.RefundTiers))}
	for i, t := range r.RefundTiers {
		p.RefundTiers[i] = domain.RefundTier{HoursBefore: t.HoursBefore, Percent: t.RefundPercent}
	}
	return p, nil
}

// InsertPolicy stores a new policy version; a concurrent writer of the same version fails.
func (t *txStore) InsertPolicy(ctx context.Context, p domain.Policy) error {
	r := policyRow{EventID: p.EventID, Version: p.Version, AllowCancellation: p.AllowCancellation,
		CancellationDeadline: p.Deadline, FeeType: p.FeeType, FeeAmount: p.FeeAmount, RequiresApproval: p.RequiresApproval,
		RefundProcessingDays: p.RefundProcessingDays, CreatedAt: p.CreatedAt, RefundTiers: make([]tierJSON, len(p.RefundTiers))}
	for i, tier := range p.RefundTiers {
		r.RefundTiers[i] = tierJSON{HoursBefore: tier.HoursBefore, RefundPercent: tier.Percent}
	}
	if _, err := t.tx.NewInsert().Model(&r).Exec(ctx); err != nil {
		if pg.IsUniqueViolation(err) {
			return domain.ErrPolicyExists
		}
		return fmt.Errorf("insert policy: %w", err)
	}
	return nil
}
