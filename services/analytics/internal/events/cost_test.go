package events_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"evently.dev/libs/consumer"
	"evently.dev/libs/contracts"
	"evently.dev/libs/kafka/kafkatest"

	"evently.dev/services/analytics/internal/events"
	"evently.dev/services/analytics/internal/store"
)

// statementCounter counts the SQL statements run through a bun.DB, transaction control
// excluded.
type statementCounter struct{ n atomic.Int64 }

func (c *statementCounter) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context {
	return ctx
}

func (c *statementCounter) AfterQuery(_ context.Context, e *bun.QueryEvent) {
	switch strings.ToUpper(strings.TrimSpace(e.Query)) {
	case "BEGIN", "COMMIT", "ROLLBACK":
		return
	}
	c.n.Add(1)
}

// The projection of a booking's facts runs no statement of its own: their state rows and
// the counters they move are written when the transaction ends, a few statements whatever
// its size. This is what lets a batch of a rush's messages commit in a few milliseconds.
// The figures are what the handler and the flush run; the runner adds BEGIN, one inbox
// insert and COMMIT per batch.
func TestIntegrationStatementsPerBookingFact(t *testing.T) {
	t.Parallel()
	sys := newSystem(t, "UTC")
	counter := &statementCounter{}
	db := sys.db.WithQueryHook(counter)
	h := events.Handler(store.Projector{Gen: 1, Loc: time.UTC}, slog.New(slog.DiscardHandler))
	newScope := events.Scope(1)

	s := newScript(t, time.UTC)
	now := time.Now().UTC().Truncate(time.Second)
	ev := s.publish("Rush", "concert", "EUR", now.Add(-time.Hour),
		contracts.LayoutSection{Name: "Stalls", Capacity: 500, Price: 5000},
		contracts.LayoutSection{Name: "Balcony", Capacity: 300, Price: 3000},
		contracts.LayoutSection{Name: "Boxes", Capacity: 40, Price: 9000})
	ids := s.sectionIDs(ev)
	const bookings = 20
	for i := range bookings {
		s.book(ev, now.Add(time.Duration(i)*time.Second), seat{ids[i%3], 5000}, seat{ids[(i+1)%3], 3000})
	}

	perType := map[string]int64{}
	facts := map[string]int64{}
	var flushes, maxFlush int64
	// apply runs the script's messages in transactions of size each, as the runner's
	// batches would.
	apply := func(size int) {
		for start := 0; start < len(s.msgs); start += size {
			batch := s.msgs[start:min(start+size, len(s.msgs))]
			if err := db.RunInTx(context.Background(), nil, func(ctx context.Context, tx bun.Tx) error {
				scope := newScope()
				ctx = consumer.WithScope(ctx, scope)
				for _, e := range batch {
					before := counter.n.Load()
					if err := h(ctx, tx, e); err != nil {
						return fmt.Errorf("%s: %w", e.Type, err)
					}
					perType[e.Type] += counter.n.Load() - before
					facts[e.Type]++
				}
				before := counter.n.Load()
				err := scope.Flush(ctx, tx)
				n := counter.n.Load() - before
				flushes++
				maxFlush = max(maxFlush, n)
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A flush writes each kind of state row (hold created, ended, converted; booking
	// confirmed) once per round (a hold's creation and its sale in one transaction take
	// two rounds), and every counter table at most once.
	const flushBound = 4*2 + 9
	apply(1)
	for _, typ := range []string{contracts.TypeHoldCreated, contracts.TypeSeatsSold, contracts.TypeBookingConfirmed} {
		per := float64(perType[typ]) / float64(facts[typ])
		t.Logf("%s: %.1f statements per fact", typ, per)
		if per > 0 {
			t.Errorf("%s costs %.1f statements per fact in the handler, want none", typ, per)
		}
	}
	if maxFlush > flushBound {
		t.Errorf("a one-fact transaction's flush ran %d statements, want at most %d", maxFlush, flushBound)
	}
	var sold, converted, holds int
	if err := sys.db.QueryRowContext(context.Background(), `SELECT ledger_sold, holds_converted, holds_created FROM events
		WHERE gen = 1 AND event_id = ?`, ev.id).Scan(&sold, &converted, &holds); err != nil {
		t.Fatal(err)
	}
	if sold != 2*bookings || converted != bookings || holds != bookings {
		t.Errorf("ledger %d, converted %d, holds %d; want %d, %d, %d", sold, converted, holds, 2*bookings, bookings, bookings)
	}

	// The same facts again (as a rebuild racing a redelivery would see them, past the
	// inbox): the state rows keep every count where it was.
	// (seats.sold has no state row of its own: only the inbox guards the ledger count.)
	// This time the whole script is one transaction, like a backlog's batch.
	maxFlush = 0
	apply(len(s.msgs))
	if maxFlush > flushBound {
		t.Errorf("the flush of %d facts in one transaction ran %d statements, want at most %d",
			len(s.msgs), maxFlush, flushBound)
	}
	var booked int
	if err := sys.db.QueryRowContext(context.Background(), `SELECT seats_sold, holds_converted, holds_created FROM events
		WHERE gen = 1 AND event_id = ?`, ev.id).Scan(&booked, &converted, &holds); err != nil {
		t.Fatal(err)
	}
	if booked != 2*bookings || converted != bookings || holds != bookings {
		t.Errorf("after repeated facts: seats sold %d, converted %d, holds %d; want %d, %d, %d",
			booked, converted, holds, 2*bookings, bookings, bookings)
	}
}

// txCounter counts statements and commits separately.
type txCounter struct{ statements, commits atomic.Int64 }

func (c *txCounter) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context {
	return ctx
}

func (c *txCounter) AfterQuery(_ context.Context, e *bun.QueryEvent) {
	switch strings.ToUpper(strings.TrimSpace(e.Query)) {
	case "COMMIT":
		c.commits.Add(1)
	case "BEGIN", "ROLLBACK":
	default:
		c.statements.Add(1)
	}
}

// What a booking costs analytics through the real consumer: its three facts arrive on
// two topics, are batched per partition, and share each batch's BEGIN, inbox insert and
// COMMIT. A backlog (the state after a rush) is the case batching is for.
func TestIntegrationStatementsPerBookingThroughKafka(t *testing.T) {
	t.Parallel()
	sys := newSystem(t, "UTC")
	counter := &txCounter{}
	sys.store = store.New(sys.db.WithQueryHook(counter))
	cfg := kafkatest.Config(t)
	kafkatest.Topics(t, cfg, events.Topics...)

	s := newScript(t, time.UTC)
	now := time.Now().UTC().Truncate(time.Second)
	ev := s.publish("Rush", "concert", "EUR", now.Add(-time.Hour),
		contracts.LayoutSection{Name: "Stalls", Capacity: 5000, Price: 5000},
		contracts.LayoutSection{Name: "Balcony", Capacity: 3000, Price: 3000})
	ids := s.sectionIDs(ev)
	const bookings = 300
	for i := range bookings {
		s.book(ev, now.Add(time.Duration(i)*time.Millisecond), seat{ids[i%2], 5000}, seat{ids[(i+1)%2], 3000})
	}
	send(t, kafkatest.Producer(t, cfg), cfg, s.msgs...)

	sys.startConsuming(cfg)
	sys.waitApplied(1)
	statements, commits := counter.statements.Load(), counter.commits.Load()
	t.Logf("%d bookings (%d messages): %d statements, %d commits; %.2f statements and %.3f commits per booking",
		bookings, len(s.msgs), statements, commits, float64(statements)/bookings, float64(commits)/bookings)
	var sold, booked int
	if err := sys.db.QueryRowContext(context.Background(), `SELECT ledger_sold, seats_sold FROM events WHERE gen = 1 AND event_id = ?`,
		ev.id).Scan(&sold, &booked); err != nil {
		t.Fatal(err)
	}
	if sold != 2*bookings || booked != 2*bookings {
		t.Fatalf("ledger %d, booked %d seats; want %d each", sold, booked, 2*bookings)
	}
	// One statement per fact plus the batches' share; well under one commit per booking.
	if per := float64(statements) / bookings; per > 4 {
		t.Errorf("%.2f statements per booking, want at most 4", per)
	}
	if commits >= bookings/2 {
		t.Errorf("%d commits for %d bookings: the backlog was not batched", commits, bookings)
	}
}

// Deferred state rows keep each row's facts in order inside one transaction: a hold
// created and released, one created and sold, a repeated creation, and a booking confirmed
// and cancelled, all in a single batch, count as they would one by one.
func TestIntegrationDeferredStatesKeepOrderWithinATransaction(t *testing.T) {
	t.Parallel()
	sys := newSystem(t, "UTC")
	h := events.Handler(store.Projector{Gen: 1, Loc: time.UTC}, slog.New(slog.DiscardHandler))
	s := newScript(t, time.UTC)
	now := time.Now().UTC().Truncate(time.Second)
	ev := s.publish("Order", "concert", "EUR", now.Add(-time.Hour),
		contracts.LayoutSection{Name: "Stalls", Capacity: 100, Price: 5000})
	ids := s.sectionIDs(ev)

	released := s.hold(ev, 2, now, now.Add(10*time.Minute))
	s.emit(contracts.TopicInventorySeats, ev.id, contracts.TypeHoldReleased, now, contracts.HoldReleased{
		HoldID: released, EventID: ev.id, ReleasedAt: now})
	// The same release again, and the release of a hold never seen: neither counts.
	s.emit(contracts.TopicInventorySeats, ev.id, contracts.TypeHoldReleased, now, contracts.HoldReleased{
		HoldID: released, EventID: ev.id, ReleasedAt: now})
	s.emit(contracts.TopicInventorySeats, ev.id, contracts.TypeHoldReleased, now, contracts.HoldReleased{
		HoldID: newID(), EventID: ev.id, ReleasedAt: now})
	b := s.book(ev, now, seat{ids[0], 5000}, seat{ids[0], 5000})
	s.cancel(b, 4000, contracts.CancelByUser, now.Add(time.Second))
	// A repeated creation of the released hold (a redelivery past the inbox) changes nothing.
	repeat := s.msgs[1]
	s.msgs = append(s.msgs, repeat)

	err := sys.db.RunInTx(context.Background(), nil, func(ctx context.Context, tx bun.Tx) error {
		scope := events.Scope(1)()
		ctx = consumer.WithScope(ctx, scope)
		for _, e := range s.msgs {
			if err := h(ctx, tx, e); err != nil {
				return fmt.Errorf("%s: %w", e.Type, err)
			}
		}
		return scope.Flush(ctx, tx)
	})
	if err != nil {
		t.Fatal(err)
	}
	var created, rel, converted, sold, booked int
	var status string
	if err := sys.db.QueryRowContext(context.Background(), `SELECT holds_created, holds_released, holds_converted,
			ledger_sold, seats_sold FROM events WHERE gen = 1 AND event_id = ?`, ev.id).
		Scan(&created, &rel, &converted, &sold, &booked); err != nil {
		t.Fatal(err)
	}
	if created != 2 || rel != 1 || converted != 1 || sold != 0 || booked != 0 {
		t.Errorf("created %d, released %d, converted %d, ledger sold %d, seats sold %d; want 2, 1, 1, 0, 0",
			created, rel, converted, sold, booked)
	}
	if err := sys.db.QueryRowContext(context.Background(), `SELECT status FROM bookings WHERE gen = 1 AND booking_id = ?`,
		b.id).Scan(&status); err != nil || status != store.BookingCancelled {
		t.Errorf("booking %s: status %q (%v), want %s", b.id, status, err, store.BookingCancelled)
	}
}
