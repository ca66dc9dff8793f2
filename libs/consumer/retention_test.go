package consumer_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/uptrace/bun"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"evently.dev/libs/consumer"
	"evently.dev/libs/kafka"
	"evently.dev/libs/kafka/kafkatest"
	"evently.dev/libs/testkit"
)

// The runner deletes its own group's inbox rows older than the retention, in chunks, and
// nothing else: recent rows, other groups' rows and the rows it writes stay, so a
// redelivery within the retention is still recognised.
func TestIntegrationRunnerInboxRetention(t *testing.T) {
	db, cfg := setup(t)
	ctx := context.Background()
	group := kafkatest.Group(t, cfg)
	insert := func(consumerName string, n int, age time.Duration) {
		t.Helper()
		_, err := db.ExecContext(ctx, `INSERT INTO inbox (consumer, event_id, topic, processed_at)
			SELECT ?, ? || i, 'old.v1', now() - ?::interval FROM generate_series(1, ?) AS i`,
			consumerName, fmt.Sprintf("%s-%s-", consumerName, age), fmt.Sprintf("%d seconds", int(age.Seconds())), n)
		if err != nil {
			t.Fatal(err)
		}
	}
	insert(group, 2500, 2*time.Hour) // more than one cleanup chunk
	insert(group, 3, 10*time.Minute)
	insert("another-group", 5, 2*time.Hour)

	reader := sdkmetric.NewManualReader()
	r, err := consumer.New(cfg, db, consumer.Options{Group: group, Topics: []string{topic},
		Handler:        func(ctx context.Context, tx bun.Tx, e kafka.Event) error { return applyEffect(ctx, tx, e) },
		InboxRetention: time.Hour, InboxCleanupInterval: 100 * time.Millisecond,
		MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))})
	if err != nil {
		t.Fatal(err)
	}
	start(t, r)
	byGroup := func(name string) int {
		var n int
		if err := db.NewRaw(`SELECT count(*) FROM inbox WHERE consumer = ?`, name).Scan(ctx, &n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	testkit.Eventually(t, 20*time.Second, func() bool { return byGroup(group) == 3 }, "old rows of the group deleted")
	if n := byGroup("another-group"); n != 5 {
		t.Fatalf("another group's inbox: %d rows, want 5 (not ours to delete)", n)
	}

	// An event applied now is kept, and its redelivery is a duplicate.
	p := kafkatest.Producer(t, cfg)
	e := event(t, cfg, "k", "evently.test.happened.v1")
	publish(t, p, e)
	testkit.Eventually(t, 30*time.Second, func() bool { return count(t, db, "SELECT count(*) FROM effects") == 1 }, "event applied")
	after := event(t, cfg, "k", "evently.test.happened.v1")
	publish(t, p, e, after)
	testkit.Eventually(t, 30*time.Second, func() bool { return count(t, db, "SELECT count(*) FROM effects") == 2 }, "later event applied")
	for _, ev := range []kafka.Event{e, after} {
		if got := count(t, db, fmt.Sprintf("SELECT count(*) FROM effects WHERE event_id = '%s'", ev.ID)); got != 1 {
			t.Fatalf("event %s applied %d times, want once", ev.ID, got)
		}
	}
	if n := byGroup(group); n != 5 {
		t.Fatalf("inbox of the group: %d rows, want the 3 recent ones and the 2 applied now", n)
	}
	if got := outcomes(t, reader); got["duplicate"] != 1 {
		t.Fatalf("outcomes %v, want one duplicate", got)
	}
}

// Readiness: a runner that cannot reach any broker reports it once UnhealthyAfter has
// passed, not before.
func TestIntegrationRunnerCheckWithoutBroker(t *testing.T) {
	db, cfg := setup(t)
	cfg.Brokers = []string{"127.0.0.1:1"} // nothing listens there
	r, err := consumer.New(cfg, db, consumer.Options{Group: "unreachable", Topics: []string{topic},
		Handler:    func(ctx context.Context, tx bun.Tx, e kafka.Event) error { return applyEffect(ctx, tx, e) },
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, UnhealthyAfter: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Check(context.Background()); err != nil {
		t.Fatalf("check before Run: %v", err)
	}
	started := time.Now()
	start(t, r)
	err = r.Check(context.Background())
	if elapsed := time.Since(started); err != nil && elapsed < 2*time.Second {
		t.Fatalf("check failed %s after start, within the threshold: %v", elapsed, err)
	}
	testkit.Eventually(t, 10*time.Second, func() bool { return r.Check(context.Background()) != nil }, "check fails after the threshold")
}
