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

// The projection of a booking's facts is one statement per fact, and the counters they
// move are written once per transaction whatever its size: this is what lets a batch of
// a rush's messages commit in a few milliseconds. The figures are what the handler and
// the flush run; the runner adds BEGIN, one inbox insert and COMMIT per batch.
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
	apply(1)
	for _, typ := range []string{contracts.TypeHoldCreated, contracts.TypeSeatsSold, contracts.TypeBookingConfirmed} {
		per := float64(perType[typ]) / float64(facts[typ])
		t.Logf("%s: %.1f statements per fact", typ, per)
		if per > 1 {
			t.Errorf("%s costs %.1f statements per fact, want 1", typ, per)
		}
	}
	// Every counter table is written at most once per transaction.
	if maxFlush > 9 {
		t.Errorf("a transaction's flush ran %d statements, want at most one per counter table (9)", maxFlush)
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
	apply(len(s.msgs))
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
