package app

import (
	"context"
	"time"

	"evently.dev/services/booking/internal/domain"
)

// ReconcileOptions tunes the reconciler.
type ReconcileOptions struct {
	Interval time.Duration
	MinAge   time.Duration
	Batch    int
	Lease    time.Duration
}

// RunReconciler finishes bookings left PENDING by a crash or an unreachable inventory,
// every Interval until ctx ends. Inventory's commit is idempotent, so re-calling it
// either confirms (the sale happened, or happens now) or fails the booking (409: the hold
// is gone and nothing was sold), and the ledger and bookings agree again.
func (s *Service) RunReconciler(ctx context.Context, o ReconcileOptions) error {
	t := time.NewTicker(o.Interval)
	defer t.Stop()
	for {
		if _, err := s.ReconcileOnce(ctx, o); err != nil && ctx.Err() == nil {
			s.Log.WarnContext(ctx, "reconcile pass failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// ReconcileOnce claims one batch of stuck PENDING bookings (FOR UPDATE SKIP LOCKED with a
// lease, so replicas split the work and no lock is held across the HTTP call) and drives
// each. It returns how many it finished (CONFIRMED or FAILED).
func (s *Service) ReconcileOnce(ctx context.Context, o ReconcileOptions) (int, error) {
	now := s.now()
	claimed, err := s.Repo.ClaimPending(ctx, now.Add(-o.MinAge), now, o.Lease, o.Batch)
	if err != nil {
		return 0, err
	}
	done := 0
	for _, b := range claimed {
		if ctx.Err() != nil {
			break
		}
		got, err := s.drive(ctx, b)
		if got.Status != domain.StatusPending {
			done++
			s.Log.InfoContext(ctx, "reconciled booking", "booking_id", b.ID, "status", got.Status, "attempt", got.Attempts)
		} else if err != nil {
			s.Log.WarnContext(ctx, "reconcile: booking still pending", "booking_id", b.ID, "error", err)
		}
	}
	return done, nil //nolint:nilerr // stopping early because ctx ended is not a failed pass; unfinished claims are picked up again once their lease runs out
}
