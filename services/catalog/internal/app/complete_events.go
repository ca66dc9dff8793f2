package app

import (
	"context"
	"log/slog"
	"time"

	"evently.dev/libs/contracts"

	"evently.dev/services/catalog/internal/domain"
)

// CompleteEndedEvents moves up to limit PUBLISHED events whose end time has passed to
// COMPLETED, each announced with event.updated (status COMPLETED) in the same
// transaction, and returns how many it moved. Nothing else ends an event's life: without
// this pass, an event stays PUBLISHED (listed, bookable in the read models) forever.
// Rows are claimed with SKIP LOCKED, so replicas running the pass at once split the work.
func (a *Catalog) CompleteEndedEvents(ctx context.Context, limit int) (int, error) {
	now := a.now()
	done := 0
	err := a.store.InTx(ctx, func(ctx context.Context, tx domain.Tx) error {
		ids, err := tx.EndedEvents(ctx, now, limit)
		if err != nil {
			return err
		}
		for _, id := range ids {
			e, err := tx.LockEvent(ctx, id)
			if err != nil {
				return err
			}
			e.Status, e.UpdatedAt = domain.StatusCompleted, now
			e.Version++
			if err := tx.UpdateEvent(ctx, e); err != nil {
				return err
			}
			if err := tx.Publish(ctx, contracts.TypeEventUpdated, e.ID.String(), updatedEvent(e)); err != nil {
				return err
			}
			done++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if done > 0 {
		a.cache.Invalidate(ctx)
	}
	return done, nil
}

// RunEventCompleter runs CompleteEndedEvents every interval until ctx ends, draining a
// backlog batch by batch.
func (a *Catalog) RunEventCompleter(ctx context.Context, log *slog.Logger, interval time.Duration, batch int) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for {
			n, err := a.CompleteEndedEvents(ctx, batch)
			if err != nil && ctx.Err() == nil {
				log.WarnContext(ctx, "event completion pass failed", "error", err)
			}
			if n > 0 {
				log.InfoContext(ctx, "events completed", "count", n)
			}
			if err != nil || n < batch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
