// Package store is the booking service's PostgreSQL adapter: bun row structs, their
// mapping to domain types, queries, and transactions behind a closure.
package store

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"evently.dev/libs/contracts"
	"evently.dev/libs/kafka"
	"evently.dev/libs/outbox"
	"evently.dev/libs/pg"

	"evently.dev/services/booking/internal/domain"
)

// Source is the CloudEvents source of everything the booking service publishes.
const Source = "/services/booking"

// Store implements domain.Repository over a pool or one transaction.
type Store struct{ db bun.IDB }

var _ domain.Repository = (*Store)(nil)

// New returns a store over db: the pool, or a transaction someone else opened (a
// consumer's), which InTx then joins.
func New(db bun.IDB) *Store { return &Store{db: db} }

// InTx runs fn in a transaction, joining the current one when the store already has one.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context, r domain.Repository) error) error {
	return pg.InTx(ctx, s.db, func(db bun.IDB) domain.Repository { return New(db) }, fn)
}

// Publish writes an event on the booking topic (keyed by the show) to the outbox.
func (s *Store) Publish(ctx context.Context, key, typ string, payload any) error {
	_, err := outbox.AddJSON(ctx, s.db, contracts.TopicBookingBookings, key, typ, Source, payload)
	return err
}

// PublishMany writes several events on the booking topic to the outbox in one statement;
// each message keeps the trace of the request that caused it.
func (s *Store) PublishMany(ctx context.Context, msgs []domain.Message) error {
	evs := make([]kafka.Event, len(msgs))
	for i, m := range msgs {
		e, err := kafka.NewEvent(contracts.TopicBookingBookings, m.Key, m.Type, Source, m.Payload)
		if err != nil {
			return fmt.Errorf("outbox add: %w", err)
		}
		e.Headers = m.Trace
		evs[i] = e
	}
	return outbox.AddMany(ctx, s.db, evs)
}

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("store %s: %w", op, err)
}

// listPage narrows q (over bookings or cancellations) to f's user, event and status and
// scans one page in the given order into q's model; it returns the total count.
func listPage[S ~string](ctx context.Context, q *bun.SelectQuery, f domain.ListFilter[S], order string) (int, error) {
	if f.UserID != "" {
		q = q.Where("user_id = ?", f.UserID)
	}
	if f.EventID != uuid.Nil {
		q = q.Where("event_id = ?", f.EventID)
	}
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	n, err := q.OrderExpr(order).Limit(int64(f.Limit)).Offset(int64(f.Offset)).ScanAndCount(ctx)
	if err != nil && !pg.IsNoRows(err) {
		return 0, err
	}
	return int(n), nil
}
