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
	n int
	// failBatches refuses the flush of every transaction carrying more than one event,
	// counting the refusals in refused.
	failBatches bool
	refused     *atomic.Int32
}

func (s *tally) Flush(ctx context.Context, tx bun.Tx) error {
	if s.failBatches && s.n > 1 {
		s.refused.Add(1)
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
		if f, _ := runTally(t, events, false); f >= events {
			t.Errorf("%d flushes for %d waiting events: the batch did not share one flush", f, events)
		}
	})
	t.Run("flush fails", func(t *testing.T) {
		// However the fetches split the events into batches, every batch's flush fails, so
		// every event ends in a transaction of its own with a flush of its own.
		f, refused := runTally(t, events, true)
		if refused == 0 {
			t.Fatalf("no batch of more than one event was tried: nothing was tested")
		}
		if f != events {
			t.Errorf("%d flushes, want %d (one per message after %d batch flushes failed)", f, events, refused)
		}
	})
}

// runTally publishes n events before a runner with a tally scope starts (so the first
// batches take them together), with failBatches refuses every flush of more than one
// event, checks every event counted exactly once and returns how many flushes committed
// and how many were refused.
func runTally(t *testing.T, n int, failBatches bool) (flushes, refused int) {
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

	var refusals atomic.Int32
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
		Scope:       func() consumer.TxScope { return &tally{failBatches: failBatches, refused: &refusals} },
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
	return count(t, db, "SELECT flushes FROM tally"), int(refusals.Load())
}
