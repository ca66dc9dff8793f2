package outbox_test

import (
	"context"
	"testing"
	"time"

	"evently.dev/libs/kafka"
	"evently.dev/libs/kafka/kafkatest"
	"evently.dev/libs/migrate"
	"evently.dev/libs/outbox"
	"evently.dev/libs/testkit"
)

// The relay rides out a broker that is stopped and started again, and one frozen: it
// backs off, keeps the events in the outbox, reports itself unhealthy while it cannot
// publish for longer than UnhealthyAfter, and publishes everything once the broker is
// back, without a restart. It needs its own broker, so it runs only where the Kafka jars
// are at hand: KAFKA_LIBS=$EVENTLY_DATA_DIR/kafka/libs go test -run Outage ./outbox/
func TestIntegrationRelaySurvivesBrokerOutage(t *testing.T) {
	broker := kafkatest.StartPrivateBroker(t)
	cfg := kafka.Config{Brokers: []string{broker.Addr()}, TopicPrefix: testkit.Name(t, "t") + ".",
		ClientID: "evently-test", Partitions: 3}.WithDefaults()
	db := testkit.DB(t, schema)
	ctx := context.Background()
	if _, err := migrate.Up(ctx, db, schema, outbox.Migrations); err != nil {
		t.Fatal(err)
	}
	kafkatest.Topics(t, cfg, topic)
	r := outbox.NewRelay(db, cfg, outbox.RelayOptions{UnhealthyAfter: 3 * time.Second, MaxBackoff: time.Second})
	startRelay(t, r)

	var written []string
	delivered := func(label string) {
		t.Helper()
		t0 := time.Now()
		testkit.Eventually(t, 120*time.Second, func() bool { return unsent(t, db) == 0 }, "%s: all rows sent", label)
		got := kafkatest.ReadN(t, cfg, cfg.Topic(topic), len(written), 30*time.Second)
		seen := map[string]bool{}
		for _, m := range got {
			seen[kafkatest.Header(m, "ce_id")] = true
		}
		for _, id := range written {
			if !seen[id] {
				t.Fatalf("%s: event %s not delivered", label, id)
			}
		}
		t.Logf("%s: %d events delivered, the last %s after the broker returned", label, len(written), time.Since(t0).Round(time.Millisecond))
	}
	written = append(written, write(t, ctx, db, "a", "b", "c", "a")...)
	delivered("before the outage")
	if err := r.Check(ctx); err != nil {
		t.Fatalf("check before the outage: %v", err)
	}

	broker.Stop()
	written = append(written, write(t, ctx, db, "a", "b", "c", "a")...)
	testkit.Eventually(t, 60*time.Second, func() bool { return r.Check(ctx) != nil }, "check fails while the broker is down")
	if n := unsent(t, db); n != 4 {
		t.Fatalf("%d rows unsent while the broker is down, want 4", n)
	}
	broker.Start()
	delivered("after the broker restart")
	testkit.Eventually(t, 30*time.Second, func() bool { return r.Check(ctx) == nil }, "check passes after the restart")

	broker.Freeze()
	t.Cleanup(broker.Thaw) // before the relay stops, should the test fail while frozen
	written = append(written, write(t, ctx, db, "a", "b", "c", "a")...)
	testkit.Eventually(t, 60*time.Second, func() bool { return r.Check(ctx) != nil }, "check fails while the broker is frozen")
	broker.Thaw()
	delivered("after the broker freeze")
	testkit.Eventually(t, 30*time.Second, func() bool { return r.Check(ctx) == nil }, "check passes after the freeze")
}
