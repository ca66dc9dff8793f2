package store

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"evently.dev/libs/pg"

	"evently.dev/services/booking/internal/domain"
	"evently.dev/services/booking/internal/domain/refund"
)

type eventRow struct {
	bun.BaseModel `bun:"table:events"`

	ID            uuid.UUID      `bun:"id,pk,type:uuid"`
	Name          *string        `bun:"name"`
	Status        *string        `bun:"status"`
	StartsAt      *time.Time     `bun:"starts_at"`
	Currency      *string        `bun:"currency"`
	EventVersion  int            `bun:"event_version"`
	Policy        *refund.Policy `bun:"policy,type:jsonb"`
	PolicyVersion int            `bun:"policy_version"`
	UpdatedAt     time.Time      `bun:"updated_at"`
}

func (r eventRow) toDomain() domain.Event {
	return domain.Event{ID: r.ID, Name: str(r.Name), Status: str(r.Status), StartsAt: utc(r.StartsAt),
		Currency: str(r.Currency), EventVersion: r.EventVersion, Policy: r.Policy, PolicyVersion: r.PolicyVersion}
}

// Event reads the read model of one event.
func (s *Store) Event(ctx context.Context, id uuid.UUID) (domain.Event, bool, error) {
	var row eventRow
	if err := s.db.NewSelect().Model(&row).Where("id = ?", id).Scan(ctx); err != nil {
		if pg.IsNoRows(err) {
			return domain.Event{}, false, nil
		}
		return domain.Event{}, false, wrap("get event", err)
	}
	return row.toDomain(), true, nil
}

// LockEventShared share-locks the event's row, creating a stub row first only when it is
// missing: on the confirm path the row almost always exists, so that is one statement.
func (s *Store) LockEventShared(ctx context.Context, id uuid.UUID) (domain.Event, error) {
	var row eventRow
	err := s.db.NewSelect().Model(&row).Where("id = ?", id).For("SHARE").Scan(ctx)
	if pg.IsNoRows(err) {
		if _, err := s.db.NewRaw(`INSERT INTO events (id) VALUES (?) ON CONFLICT (id) DO NOTHING`, id).Exec(ctx); err != nil {
			return domain.Event{}, wrap("stub event", err)
		}
		err = s.db.NewSelect().Model(&row).Where("id = ?", id).For("SHARE").Scan(ctx)
	}
	if err != nil {
		return domain.Event{}, wrap("lock event", err)
	}
	return row.toDomain(), nil
}

// SaveEventFacts upserts catalog's facts unless a newer version is stored. CANCELLED is
// final: a late event.updated never reopens an event.
func (s *Store) SaveEventFacts(ctx context.Context, e domain.Event) error {
	const q = `INSERT INTO events (id, name, status, starts_at, currency, event_version, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, now())
		ON CONFLICT (id) DO UPDATE SET
			name = EXCLUDED.name,
			status = CASE WHEN events.status = 'CANCELLED' THEN 'CANCELLED' ELSE EXCLUDED.status END,
			starts_at = EXCLUDED.starts_at, currency = EXCLUDED.currency,
			event_version = EXCLUDED.event_version, updated_at = now()
		WHERE events.event_version <= EXCLUDED.event_version OR events.status IS NULL`
	_, err := s.db.NewRaw(q, e.ID, strPtr(e.Name), strPtr(e.Status), e.StartsAt, strPtr(e.Currency), e.EventVersion).Exec(ctx)
	return wrap("save event", err)
}

// SavePolicy stores a policy version unless a newer one is stored.
func (s *Store) SavePolicy(ctx context.Context, e domain.Event) error {
	row := eventRow{ID: e.ID, Policy: e.Policy, PolicyVersion: e.PolicyVersion, UpdatedAt: time.Now()}
	const q = `INSERT INTO events (id, policy, policy_version, updated_at) VALUES (?, ?, ?, now())
		ON CONFLICT (id) DO UPDATE SET policy = EXCLUDED.policy, policy_version = EXCLUDED.policy_version,
			updated_at = now()
		WHERE events.policy_version < EXCLUDED.policy_version`
	if _, err := s.db.NewRaw(q, row.ID, row.Policy, row.PolicyVersion).Exec(ctx); err != nil {
		return wrap("save policy", err)
	}
	const h = `INSERT INTO event_policies (event_id, version, policy) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`
	_, err := s.db.NewRaw(h, row.ID, row.PolicyVersion, row.Policy).Exec(ctx)
	return wrap("keep policy version", err)
}

// PolicyVersion returns one kept version of the event's policy.
func (s *Store) PolicyVersion(ctx context.Context, eventID uuid.UUID, version int) (*refund.Policy, bool, error) {
	var rows []struct {
		Policy *refund.Policy `bun:"policy,type:jsonb"`
	}
	err := s.db.NewRaw(`SELECT policy FROM event_policies WHERE event_id = ? AND version = ?`, eventID, version).Scan(ctx, &rows)
	if err != nil {
		return nil, false, wrap("get policy version", err)
	}
	if len(rows) == 0 {
		return nil, false, nil
	}
	return rows[0].Policy, true, nil
}

// MarkEventCancelled sets CANCELLED; the row lock it takes makes a concurrent confirm
// (which share-locks the row) wait for this transaction.
func (s *Store) MarkEventCancelled(ctx context.Context, id uuid.UUID) error {
	const q = `INSERT INTO events (id, status, updated_at) VALUES (?, 'CANCELLED', now())
		ON CONFLICT (id) DO UPDATE SET status = 'CANCELLED', updated_at = now()`
	_, err := s.db.NewRaw(q, id).Exec(ctx)
	return wrap("cancel event", err)
}

// LockEventsShared is LockEventShared for the events of a batch of confirmations: one
// statement on the usual path, where every row exists.
func (s *Store) LockEventsShared(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]domain.Event, error) {
	lock := func() ([]eventRow, error) {
		var rows []eventRow
		err := s.db.NewSelect().Model(&rows).Where("id IN (?)", bun.List(ids)).OrderExpr("id").For("SHARE").Scan(ctx)
		return rows, err
	}
	rows, err := lock()
	if err != nil && !pg.IsNoRows(err) {
		return nil, wrap("lock events", err)
	}
	if len(rows) < len(ids) {
		for _, id := range ids {
			if _, err := s.db.NewRaw(`INSERT INTO events (id) VALUES (?) ON CONFLICT (id) DO NOTHING`, id).Exec(ctx); err != nil {
				return nil, wrap("stub event", err)
			}
		}
		if rows, err = lock(); err != nil {
			return nil, wrap("lock events", err)
		}
	}
	out := make(map[uuid.UUID]domain.Event, len(rows))
	for _, r := range rows {
		out[r.ID] = r.toDomain()
	}
	return out, nil
}
