// Package store is the booking service's PostgreSQL adapter: bun row structs, their
// mapping to domain types, queries, and transactions behind a closure.
package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
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
type Store struct {
	db   bun.IDB
	inTx bool
}

var _ domain.Repository = (*Store)(nil)

// New returns a store over the pool.
func New(db *bun.DB) *Store { return &Store{db: db} }

// WithTx returns a store whose methods all run in tx (a consumer's transaction).
func WithTx(tx bun.Tx) *Store { return &Store{db: tx, inTx: true} }

// InTx runs fn in a transaction, joining the current one when the store already has one.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context, r domain.Repository) error) error {
	if s.inTx {
		return fn(ctx, s)
	}
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		return fn(ctx, &Store{db: tx, inTx: true})
	})
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

// constraint returns the name of the unique constraint err violated, or "".
func constraint(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		if pgErr.ConstraintName == "" {
			return "unknown"
		}
		return pgErr.ConstraintName
	}
	return ""
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
