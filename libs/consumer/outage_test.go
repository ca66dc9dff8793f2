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
	"evently.dev/libs/migrate"
	"evently.dev/libs/testkit"
)

// A consumer recovers by itself from a broker that is stopped and started again, and
// from one frozen longer than the group session: no restart of the runner, nothing lost
// and nothing applied twice. It needs its own broker, so it runs only where the Kafka
// jars are at hand: KAFKA_LIBS=$EVENTLY_DATA_DIR/kafka/libs go test -run Outage ./consumer/
func TestIntegrationRunnerSurvivesBrokerOutage(t *testing.T) {
	broker := kafkatest.StartPrivateBroker(t)
	cfg := kafka.Config{Brokers: []string{broker.Addr()}, TopicPrefix: testkit.Name(t, "t") + ".",
		ClientID: "evently-test", Partitions: 3}.WithDefaults()
	db := testkit.DB(t, schema)
	ctx := context.Background()
	if _, err := migrate.Up(ctx, db, schema, consumer.Migrations); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE effects (event_id text NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	kafkatest.Topics(t, cfg, topic)

	reader := sdkmetric.NewManualReader()
	r, err := consumer.New(cfg, db, consumer.Options{Group: "outage", Topics: []string{topic},
		Handler:        func(ctx context.Context, tx bun.Tx, e kafka.Event) error { return applyEffect(ctx, tx, e) },
		MeterProvider:  sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)),
		UnhealthyAfter: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	start(t, r)

	var sent []kafka.Event
	publishRound := func(label string) {
		t.Helper()
		p, err := kafka.NewSyncProducer(cfg)
		if err != nil {
			t.Fatalf("%s: producer: %v", label, err)
		}
		defer func() { _ = p.Close() }()
		var round []kafka.Event
		for i := range 30 {
			round = append(round, event(t, cfg, fmt.Sprintf("k%d", i%5), "evently.test.happened.v1"))
		}
		publish(t, p, round...)
		sent = append(sent, round...)
		t0 := time.Now()
		testkit.Eventually(t, 90*time.Second, func() bool { return count(t, db, "SELECT count(*) FROM effects") >= len(sent) }, "%s", label)
		t.Logf("%s: %d events applied %s after publishing", label, len(round), time.Since(t0).Round(time.Millisecond))
	}
	publishRound("before the outage")
	if err := r.Check(ctx); err != nil {
		t.Fatalf("check before the outage: %v", err)
	}

	broker.Stop()
	t0 := time.Now()
	// Readiness turns to "not ready" once the runner is out of its session longer than
	// UnhealthyAfter; the wait is also longer than the session timeout, so the group
	// forgets the member.
	testkit.Eventually(t, 40*time.Second, func() bool { return r.Check(ctx) != nil }, "check fails while the broker is down")
	time.Sleep(15*time.Second - time.Since(t0))
	broker.Start()
	t.Logf("broker down %s (stopped, then started again)", time.Since(t0).Round(time.Second))
	publishRound("after the broker restart")
	testkit.Eventually(t, 30*time.Second, func() bool { return r.Check(ctx) == nil }, "check passes after the restart")

	broker.Freeze()
	t.Cleanup(broker.Thaw) // before the runner stops, should the test fail while frozen
	t0 = time.Now()
	testkit.Eventually(t, 14*time.Second, func() bool { return r.Check(ctx) != nil }, "check fails while the broker is frozen")
	time.Sleep(15*time.Second - time.Since(t0))
	broker.Thaw()
	t.Logf("broker frozen %s (SIGSTOP, SIGCONT)", time.Since(t0).Round(time.Second))
	publishRound("after the broker freeze")
	testkit.Eventually(t, 30*time.Second, func() bool { return r.Check(ctx) == nil }, "check passes after the freeze")

	if !r.Ready() {
		testkit.Eventually(t, 30*time.Second, r.Ready, "runner back in a group session")
	}
	appliedOnce(t, db, sent)
}
