package consumer_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"evently.dev/libs/consumer"
	"evently.dev/libs/kafka"
	"evently.dev/libs/kafka/kafkatest"
	"evently.dev/libs/testkit"
)

// tally is a TxScope that adds one to a counter row per event, written once per
// transaction.
type tally struct {
	n     int
	fails *atomic.Int32 // flushes still to fail
}

func (s *tally) Flush(ctx context.Context, tx bun.Tx) error {
	if s.fails.Add(-1) >= 0 {
		return errors.New("flush refused")
	}
	_, err := tx.ExecContext(ctx, `UPDATE tally SET n = n + ?, flushes = flushes + 1`, s.n)
	return err
}

// Work a handler defers to the transaction's scope lands once per event: a whole batch
// flushes once, and a batch whose flush fails is rolled back and applied one message per
// transaction, each flushing its own share, so nothing counts twice or goes missing.
func TestIntegrationRunnerScopeFlushesOncePerTransaction(t *testing.T) {
	const events = 30
	t.Run("batch", func(t *testing.T) {
		if f := runTally(t, events, 0); f >= events {
			t.Errorf("%d flushes for %d waiting events: the batch did not share one flush", f, events)
		}
	})
	t.Run("flush fails", func(t *testing.T) {
		if f := runTally(t, events, 1); f != events {
			t.Errorf("%d flushes, want %d (one per message after the batch's flush failed)", f, events)
		}
	})
}

// runTally publishes n events before a runner with a tally scope starts (so the first
// batch takes them all), makes the first failFlushes flushes fail, checks every event
// counted exactly once and returns how many flushes committed.
func runTally(t *testing.T, n int, failFlushes int32) int {
	db, cfg := setup(t)
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `CREATE TABLE tally (n int NOT NULL, flushes int NOT NULL);
		INSERT INTO tally VALUES (0, 0)`); err != nil {
		t.Fatal(err)
	}
	p := kafkatest.Producer(t, cfg)
	const typ = "evently.test.counted.v1"
	var events []kafka.Event
	for range n {
		events = append(events, event(t, cfg, "k", typ))
	}
	publish(t, p, events...)

	var fails atomic.Int32
	fails.Store(failFlushes)
	handler := func(ctx context.Context, tx bun.Tx, e kafka.Event) error {
		if err := applyEffect(ctx, tx, e); err != nil {
			return err
		}
		s, ok := consumer.ScopeFrom(ctx).(*tally)
		if !ok {
			return errors.New("no scope in the handler's context")
		}
		s.n++
		return nil
	}
	r, err := consumer.New(cfg, db, consumer.Options{
		Group: kafkatest.Group(t, cfg), Topics: []string{topic}, Handler: handler,
		Scope:       func() consumer.TxScope { return &tally{fails: &fails} },
		MaxAttempts: 3, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	start(t, r)
	testkit.Eventually(t, 30*time.Second, func() bool { return count(t, db, "SELECT n FROM tally") >= n },
		"every event counted")
	appliedOnce(t, db, events)
	if got := count(t, db, "SELECT n FROM tally"); got != n {
		t.Fatalf("tally %d, want %d", got, n)
	}
	return count(t, db, "SELECT flushes FROM tally")
}
