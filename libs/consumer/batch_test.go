package consumer_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"evently.dev/libs/consumer"
	"evently.dev/libs/kafka"
	"evently.dev/libs/kafka/kafkatest"
	"evently.dev/libs/testkit"
)

// batchStats reads the consumer.batch.size histogram: how many transactions applied a
// batch, the events they offered to the inbox, and the largest batch.
func batchStats(t *testing.T, reader *sdkmetric.ManualReader) (txs, events, largest int64) {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			h, ok := m.Data.(metricdata.Histogram[int64])
			if !ok || m.Name != "consumer.batch.size" {
				continue
			}
			for _, p := range h.DataPoints {
				txs += int64(p.Count)
				events += p.Sum
				if v, ok := p.Max.Value(); ok && v > largest {
					largest = v
				}
			}
		}
	}
	return txs, events, largest
}

// calls counts handler invocations per event id, safely across partitions.
type calls struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *calls) add(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[id]++
	return c.n[id]
}

func (c *calls) get(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[id]
}

// appliedOnce checks that every event of events has exactly one effect and one inbox row.
func appliedOnce(t *testing.T, db *bun.DB, events []kafka.Event) {
	t.Helper()
	if got := count(t, db, "SELECT count(*) FROM effects"); got != len(events) {
		t.Errorf("%d effects, want %d", got, len(events))
	}
	if got := count(t, db, "SELECT count(*) FROM (SELECT event_id FROM effects GROUP BY event_id HAVING count(*) > 1) d"); got != 0 {
		t.Errorf("%d events applied more than once", got)
	}
	if got := count(t, db, "SELECT count(*) FROM inbox"); got != len(events) {
		t.Errorf("%d inbox rows, want %d", got, len(events))
	}
	for _, e := range events {
		if got := count(t, db, fmt.Sprintf("SELECT count(*) FROM effects WHERE event_id = '%s'", e.ID)); got != 1 {
			t.Errorf("event %s applied %d times, want once", e.ID, got)
		}
	}
}

// A poison message in the middle of a batch rolls the batch back; its neighbours are
// then applied one by one, exactly once, and the poison alone reaches the DLQ after
// MaxAttempts tries (the batch counting as its first).
func TestIntegrationRunnerBatchWithPoisonInTheMiddle(t *testing.T) {
	db, cfg := setup(t)
	p := kafkatest.Producer(t, cfg)
	const good, poison = "evently.test.good.v1", "evently.test.poison.v1"
	var goods []kafka.Event
	for range 20 {
		goods = append(goods, event(t, cfg, "k", good))
	}
	bad := event(t, cfg, "k", poison)
	// One key, one partition, all waiting before the runner starts: one batch.
	publish(t, p, goods[:10]...)
	publish(t, p, bad)
	publish(t, p, goods[10:]...)

	var seen calls
	handler := func(ctx context.Context, tx bun.Tx, e kafka.Event) error {
		seen.add(e.ID)
		if err := applyEffect(ctx, tx, e); err != nil {
			return err
		}
		if e.Type == poison {
			return errors.New("poison pill")
		}
		return nil
	}
	reader := sdkmetric.NewManualReader()
	r, err := consumer.New(cfg, db, consumer.Options{
		Group: kafkatest.Group(t, cfg), Topics: []string{topic}, Handler: handler,
		MaxAttempts: 3, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
		MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)),
	})
	if err != nil {
		t.Fatal(err)
	}
	start(t, r)

	dead := kafkatest.ReadN(t, cfg, cfg.DLQTopic(topic), 1, 30*time.Second)
	testkit.Eventually(t, 30*time.Second, func() bool { return outcomes(t, reader)["processed"] >= int64(len(goods)) }, "good events applied")
	if id := kafkatest.Header(dead[0], "ce_id"); id != bad.ID {
		t.Fatalf("dead letter is %s, want the poison %s", id, bad.ID)
	}
	// Nothing else may follow it to the DLQ.
	more, err := kafkatest.Collect(cfg, cfg.DLQTopic(topic), 3*time.Second, func(got []*sarama.ConsumerMessage) bool { return len(got) > 1 })
	if err != nil {
		t.Fatal(err)
	}
	if len(more) != 1 {
		t.Fatalf("%d dead letters, want only the poison", len(more))
	}
	appliedOnce(t, db, goods)
	if n := count(t, db, fmt.Sprintf("SELECT count(*) FROM inbox WHERE event_id = '%s'", bad.ID)); n != 0 {
		t.Error("the poison is recorded in the inbox")
	}
	if got := seen.get(bad.ID); got != 3 {
		t.Errorf("poison tried %d times, want MaxAttempts=3 (batch + 2 retries)", got)
	}
	// The events before the poison in its batch ran in the rolled-back batch and again
	// alone; the one right before it was certainly with it in its batch (all were waiting).
	if got := seen.get(goods[9].ID); got != 2 {
		t.Errorf("the event before the poison ran %d times, want 2 (rolled-back batch, then alone)", got)
	}
	o := outcomes(t, reader)
	if o["processed"] != int64(len(goods)) || o["dead_lettered"] != 1 || o["duplicate"] != 0 {
		t.Errorf("outcomes %v, want %d processed, 1 dead-lettered, 0 duplicates", o, len(goods))
	}
}

// A batch that fails halfway (a panic, then a transient error in the fallback) applies
// nothing twice and loses nothing; a clean batch commits in one transaction; and the
// same batch delivered again is all duplicates and reaches no handler.
func TestIntegrationRunnerBatchFailsHalfwayThenSucceeds(t *testing.T) {
	db, cfg := setup(t)
	p := kafkatest.Producer(t, cfg)
	const n = 60
	var events []kafka.Event
	for range n {
		events = append(events, event(t, cfg, "k", "evently.test.happened.v1"))
	}
	publish(t, p, events...)
	panicky, flaky := events[n/2], events[n/2+5]

	var seen calls
	handler := func(ctx context.Context, tx bun.Tx, e kafka.Event) error {
		try := seen.add(e.ID)
		if err := applyEffect(ctx, tx, e); err != nil {
			return err
		}
		switch {
		case e.ID == panicky.ID && try == 1:
			panic("first try panics")
		case e.ID == flaky.ID && try == 1:
			return errors.New("transient failure")
		}
		return nil
	}
	group := kafkatest.Group(t, cfg)
	newRunner := func(reader *sdkmetric.ManualReader) *consumer.Runner {
		r, err := consumer.New(cfg, db, consumer.Options{
			Group: group, Topics: []string{topic}, Handler: handler,
			MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
			MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)),
		})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	reader := sdkmetric.NewManualReader()
	stop := start(t, newRunner(reader))
	testkit.Eventually(t, 30*time.Second, func() bool { return outcomes(t, reader)["processed"] >= n }, "all events applied")
	appliedOnce(t, db, events)
	if got := seen.get(panicky.ID); got != 2 {
		t.Errorf("panicking event tried %d times, want 2", got)
	}
	if got := seen.get(flaky.ID); got != 2 {
		t.Errorf("flaky event tried %d times, want 2 (in the fallback, it fails once and is retried)", got)
	}
	if o := outcomes(t, reader); o["dead_lettered"] != 0 || o["processed"] != n {
		t.Errorf("outcomes %v, want %d processed and nothing dead-lettered", o, n)
	}
	stop()

	// More events, no failures: they commit in fewer transactions than messages.
	var more []kafka.Event
	for range n {
		more = append(more, event(t, cfg, "k", "evently.test.happened.v1"))
	}
	publish(t, p, more...)
	reader = sdkmetric.NewManualReader()
	stop = start(t, newRunner(reader))
	testkit.Eventually(t, 30*time.Second, func() bool { return outcomes(t, reader)["processed"] >= n }, "second batch applied")
	stop()
	txs, offered, largest := batchStats(t, reader)
	t.Logf("%d events in %d transactions, largest batch %d", offered, txs, largest)
	if offered != n || txs >= n/2 || largest < 2 {
		t.Errorf("%d events in %d transactions (largest %d): want %d events in far fewer transactions", offered, txs, largest, n)
	}
	all := append(append([]kafka.Event{}, events...), more...)
	appliedOnce(t, db, all)

	// Redeliver everything: every message is a duplicate, no handler runs.
	resetOffsets(t, cfg, group)
	before := map[string]int{}
	for _, e := range all {
		before[e.ID] = seen.get(e.ID)
	}
	reader = sdkmetric.NewManualReader()
	start(t, newRunner(reader))
	testkit.Eventually(t, 30*time.Second, func() bool { return outcomes(t, reader)["duplicate"] >= int64(len(all)) }, "all redelivered")
	if o := outcomes(t, reader); o["processed"] != 0 {
		t.Errorf("redelivery applied events again: %v", o)
	}
	for _, e := range all {
		if seen.get(e.ID) != before[e.ID] {
			t.Fatalf("handler ran for redelivered event %s", e.ID)
		}
	}
	appliedOnce(t, db, all)
}

// A batch that PostgreSQL aborts to break a deadlock with another transaction is run
// again as a batch (the conflict was about timing, not its messages): every event is
// applied once, in one committed batch, and nothing is dead-lettered.
func TestIntegrationRunnerBatchRetriedAfterDeadlock(t *testing.T) {
	db, cfg := setup(t)
	p := kafkatest.Producer(t, cfg)
	var events []kafka.Event
	for range 10 {
		events = append(events, event(t, cfg, "k", "evently.test.happened.v1"))
	}
	publish(t, p, events...)

	// The other transaction holds lock 2 and then asks for lock 1, which the first
	// event's handler holds while it asks for lock 2: a real deadlock.
	ctx := context.Background()
	other, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = other.Rollback() }()
	if _, err := other.ExecContext(ctx, "SELECT pg_advisory_xact_lock(2)"); err != nil {
		t.Fatal(err)
	}
	holding := make(chan struct{})
	otherDone := make(chan error, 1)
	go func() {
		<-holding
		time.Sleep(200 * time.Millisecond) // let the handler queue for lock 2 first
		_, err := other.ExecContext(ctx, "SELECT pg_advisory_xact_lock(1)")
		if err == nil {
			err = other.Commit()
		}
		otherDone <- err
	}()

	var seen calls
	var once sync.Once
	handler := func(ctx context.Context, tx bun.Tx, e kafka.Event) error {
		if seen.add(e.ID) == 1 && e.ID == events[0].ID {
			if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(1)"); err != nil {
				return err
			}
			once.Do(func() { close(holding) })
			if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(2)"); err != nil {
				return fmt.Errorf("second lock: %w", err)
			}
		}
		return applyEffect(ctx, tx, e)
	}
	reader := sdkmetric.NewManualReader()
	r, err := consumer.New(cfg, db, consumer.Options{
		Group: kafkatest.Group(t, cfg), Topics: []string{topic}, Handler: handler,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
		MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)),
	})
	if err != nil {
		t.Fatal(err)
	}
	start(t, r)
	testkit.Eventually(t, 30*time.Second, func() bool { return outcomes(t, reader)["processed"] >= int64(len(events)) }, "events applied")
	select {
	case err := <-otherDone:
		// One side of the deadlock was aborted: the batch (then retried) or the other.
		t.Logf("other transaction: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the other transaction never finished: no deadlock was resolved")
	}
	appliedOnce(t, db, events)
	if seen.get(events[0].ID) < 2 {
		t.Fatalf("first event ran %d times; the deadlock should have aborted its batch once", seen.get(events[0].ID))
	}
	txs, offered, largest := batchStats(t, reader)
	if largest != int64(len(events)) || offered != int64(len(events)) || txs != 1 {
		t.Errorf("committed %d events in %d transactions (largest %d): want the whole batch retried as one", offered, txs, largest)
	}
	if o := outcomes(t, reader); o["retried"] != 0 || o["dead_lettered"] != 0 {
		t.Errorf("outcomes %v: want no per-message retries", o)
	}
}

// A database that cannot be reached for longer than the retries last is waited for: no
// event is dead-lettered for it, and every event is applied once when it is back.
func TestIntegrationRunnerWaitsOutDatabaseOutage(t *testing.T) {
	db, cfg := setup(t)
	ctx := context.Background()
	var name string
	if err := db.QueryRowContext(ctx, "SELECT current_database()").Scan(&name); err != nil {
		t.Fatal(err)
	}
	admin, err := pgx.Connect(ctx, testkit.AdminDatabaseURL())
	if err != nil {
		t.Fatal(err)
	}
	setAllowed := func(allowed bool) {
		t.Helper()
		if _, err := admin.Exec(ctx, fmt.Sprintf("ALTER DATABASE %s ALLOW_CONNECTIONS %t", pgx.Identifier{name}.Sanitize(), allowed)); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		setAllowed(true) // before the database is dropped
		_ = admin.Close(ctx)
	})

	reader := sdkmetric.NewManualReader()
	r, err := consumer.New(cfg, db, consumer.Options{
		Group: kafkatest.Group(t, cfg), Topics: []string{topic}, Handler: applyEffect,
		MaxAttempts: 2, MinBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
		MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)),
	})
	if err != nil {
		t.Fatal(err)
	}
	start(t, r)
	testkit.Eventually(t, 30*time.Second, r.Ready, "runner in a group session")

	// The outage: no new connections, and the open ones cut.
	setAllowed(false)
	if _, err := admin.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = $1 AND pid <> pg_backend_pid()`, name); err != nil {
		t.Fatal(err)
	}
	var events []kafka.Event
	for i := range 12 {
		events = append(events, event(t, cfg, fmt.Sprintf("k%d", i%3), "evently.test.happened.v1"))
	}
	publish(t, kafkatest.Producer(t, cfg), events...)
	testkit.Eventually(t, 30*time.Second, func() bool { return outcomes(t, reader)["retried"] >= 10 }, "runner retrying against the outage")
	time.Sleep(2 * time.Second) // many times what MaxAttempts=2 would allow
	setAllowed(true)

	testkit.Eventually(t, 30*time.Second, func() bool { return outcomes(t, reader)["processed"] >= int64(len(events)) }, "events applied after the outage")
	if o := outcomes(t, reader); o["dead_lettered"] != 0 {
		t.Fatalf("outcomes %v: an unreachable database dead-lettered events", o)
	}
	appliedOnce(t, db, events)
}
