package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
)

// stateKind is what a deferred fact does to its state row.
type stateKind int

const (
	holdCreate stateKind = iota
	holdEnd
	holdConvert
	bookingConfirm
)

// stateOp is one fact's state-row change, waiting in the transaction's Deltas. Whether the
// fact counts is only known once its statement has run (a repeat inserts nothing, an
// ended hold does not end again), so its counter moves are in counts, called with the
// row's status before the change when the statement says the fact counts.
type stateOp struct {
	kind stateKind
	id   string // hold or booking id

	eventID            string
	seats              int
	purpose, status    string
	createdAt, expires time.Time // holdCreate; createdAt is confirmed_at for bookingConfirm
	currency           string
	total              int64
	seatsJSON          string

	counts func(d *Deltas, prior string)
}

// key names the state row an op touches.
func (o *stateOp) key() string {
	if o.kind == bookingConfirm {
		return "b:" + o.id
	}
	return "h:" + o.id
}

// addState defers op to the end of the transaction.
func (d *Deltas) addState(op stateOp) { d.states = append(d.states, op) }

// flushStates writes the deferred state rows, one statement per kind of change instead of
// one per fact (three per booking in a rush). Facts about different rows commute, so the
// ops are applied in rounds: each round takes the next op of every row, in arrival order,
// so facts about one row keep their order (a hold's creation before its sale or end).
func (d *Deltas) flushStates(ctx context.Context, db bun.IDB) error {
	ops := d.states
	d.states = nil
	for len(ops) > 0 {
		var round, rest []stateOp
		seen := make(map[string]bool, len(ops))
		for _, o := range ops {
			if k := o.key(); seen[k] {
				rest = append(rest, o)
			} else {
				seen[k] = true
				round = append(round, o)
			}
		}
		for _, step := range []struct {
			kind stateKind
			run  func(context.Context, bun.IDB, []stateOp) (map[string]string, error)
		}{{holdCreate, d.createHolds}, {holdEnd, d.endHolds}, {holdConvert, d.convertHolds}, {bookingConfirm, d.confirmBookings}} {
			var batch []stateOp
			for _, o := range round {
				if o.kind == step.kind {
					batch = append(batch, o)
				}
			}
			if len(batch) == 0 {
				continue
			}
			counted, err := step.run(ctx, db, batch)
			if err != nil {
				return err
			}
			for _, o := range batch {
				if prior, ok := counted[o.id]; ok && o.counts != nil {
					o.counts(d, prior)
				}
			}
		}
		ops = rest
	}
	return nil
}

// scanCounted reads the (id, prior status) rows a state statement returns.
func scanCounted(ctx context.Context, db bun.IDB, q string, args ...any) (map[string]string, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, prior string
		if err := rows.Scan(&id, &prior); err != nil {
			return nil, err
		}
		out[id] = prior
	}
	return out, rows.Err()
}

// createHolds inserts new holds; a hold already known (a repeat) counts nothing.
func (d *Deltas) createHolds(ctx context.Context, db bun.IDB, ops []stateOp) (map[string]string, error) {
	ids, events, purposes := make([]string, len(ops)), make([]string, len(ops)), make([]string, len(ops))
	seats := make([]int64, len(ops))
	created, expires := make([]time.Time, len(ops)), make([]time.Time, len(ops))
	for i, o := range ops {
		ids[i], events[i], purposes[i], seats[i], created[i], expires[i] = o.id, o.eventID, o.purpose, int64(o.seats), o.createdAt, o.expires
	}
	out, err := scanCounted(ctx, db, `INSERT INTO holds (gen, hold_id, event_id, seats, purpose, status, created_at, expires_at)
		SELECT ?, x.id, x.e::uuid, x.n, x.p, ?, x.c, x.x
		FROM unnest(?::text[], ?::text[], ?::int[], ?::text[], ?::timestamptz[], ?::timestamptz[]) AS x(id, e, n, p, c, x)
		ON CONFLICT DO NOTHING RETURNING hold_id, ''`,
		d.gen, HoldActive, pgdialect.Array(ids), pgdialect.Array(events), pgdialect.Array(seats), pgdialect.Array(purposes),
		pgdialect.Array(created), pgdialect.Array(expires))
	if err != nil {
		return nil, fmt.Errorf("hold created: %w", err)
	}
	return out, nil
}

// endHolds moves live holds to RELEASED or EXPIRED; an unknown or already ended hold
// counts nothing.
func (d *Deltas) endHolds(ctx context.Context, db bun.IDB, ops []stateOp) (map[string]string, error) {
	ids, statuses := make([]string, len(ops)), make([]string, len(ops))
	for i, o := range ops {
		ids[i], statuses[i] = o.id, o.status
	}
	out, err := scanCounted(ctx, db, `UPDATE holds h SET status = x.s
		FROM unnest(?::text[], ?::text[]) AS x(id, s)
		WHERE h.gen = ? AND h.hold_id = x.id AND h.status = ? RETURNING h.hold_id, ?`,
		pgdialect.Array(ids), pgdialect.Array(statuses), d.gen, HoldActive, HoldActive)
	if err != nil {
		return nil, fmt.Errorf("hold ended: %w", err)
	}
	return out, nil
}

// convertHolds marks sold holds CONVERTED and returns each one's status before: a hold the
// sweeper saw lapse (EXPIRED) whose commit had already won still converts.
func (d *Deltas) convertHolds(ctx context.Context, db bun.IDB, ops []stateOp) (map[string]string, error) {
	ids := make([]string, len(ops))
	for i, o := range ops {
		ids[i] = o.id
	}
	out, err := scanCounted(ctx, db, `UPDATE holds n SET status = ? FROM (SELECT hold_id, status FROM holds
			WHERE gen = ? AND hold_id = ANY(?::text[]) AND status IN (?, ?) ORDER BY hold_id FOR UPDATE) o
		WHERE n.gen = ? AND n.hold_id = o.hold_id RETURNING o.hold_id, o.status`,
		HoldConverted, d.gen, pgdialect.Array(ids), HoldActive, HoldExpired, d.gen)
	if err != nil {
		return nil, fmt.Errorf("ledger counts: convert hold: %w", err)
	}
	return out, nil
}

// confirmBookings inserts confirmed bookings; a booking id already counted counts nothing.
func (d *Deltas) confirmBookings(ctx context.Context, db bun.IDB, ops []stateOp) (map[string]string, error) {
	ids, events, currencies, seats := make([]string, len(ops)), make([]string, len(ops)), make([]string, len(ops)), make([]string, len(ops))
	totals := make([]int64, len(ops))
	at := make([]time.Time, len(ops))
	for i, o := range ops {
		ids[i], events[i], currencies[i], seats[i], totals[i], at[i] = o.id, o.eventID, o.currency, o.seatsJSON, o.total, o.createdAt
	}
	out, err := scanCounted(ctx, db, `INSERT INTO bookings (gen, booking_id, event_id, currency, total, seats, status, confirmed_at)
		SELECT ?, x.id, x.e::uuid, x.c, x.t, x.s::jsonb, ?, x.a
		FROM unnest(?::text[], ?::text[], ?::text[], ?::bigint[], ?::text[], ?::timestamptz[]) AS x(id, e, c, t, s, a)
		ON CONFLICT DO NOTHING RETURNING booking_id, ''`,
		d.gen, BookingConfirmed, pgdialect.Array(ids), pgdialect.Array(events), pgdialect.Array(currencies),
		pgdialect.Array(totals), pgdialect.Array(seats), pgdialect.Array(at))
	if err != nil {
		return nil, fmt.Errorf("booking confirmed: %w", err)
	}
	return out, nil
}
