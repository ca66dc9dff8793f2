package http_test

import (
	"context"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/google/uuid"

	"evently.dev/libs/consumer"
	"evently.dev/libs/contracts"
	"evently.dev/libs/kafka"
	"evently.dev/libs/kafka/kafkatest"
	"evently.dev/libs/outbox"
	"evently.dev/libs/testkit"

	"evently.dev/services/inventory/internal/events"
	"evently.dev/services/inventory/internal/inventorytest"
)

// TestIntegrationKafkaLedgerAndReleaseOnce drives the inventory only through Kafka, as
// catalog and booking will: event.published builds the ledger; a booking.cancelled
// delivered twice (same ce_id) and republished (new ce_id) releases the seats once; the
// outbox relay publishes exactly one seats.released.
func TestIntegrationKafkaLedgerAndReleaseOnce(t *testing.T) {
	env := inventorytest.New(t)
	cfg := kafkatest.Config(t)
	kafkatest.Topics(t, cfg, contracts.TopicCatalogEvents, contracts.TopicBookingBookings, contracts.TopicInventorySeats)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, o := range []consumer.Options{
		{Group: testkit.Name(t, events.GroupCatalog), Topics: []string{contracts.TopicCatalogEvents}, Handler: env.Events.Catalog},
		{Group: testkit.Name(t, events.GroupBookings), Topics: []string{contracts.TopicBookingBookings}, Handler: env.Events.Bookings},
	} {
		o.Logger = env.Log
		r, err := consumer.New(cfg, env.DB, o)
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = r.Run(ctx) }()
	}
	relay := outbox.NewRelay(env.DB, cfg, outbox.RelayOptions{Logger: env.Log})
	go func() { _ = relay.Run(ctx) }()
	prod := kafkatest.Producer(t, cfg)
	send := func(topic, typ, key string, payload any, id string) {
		e, err := kafka.NewEvent(cfg.Topic(topic), key, typ, "/test", payload)
		if err != nil {
			t.Fatal(err)
		}
		if id != "" {
			e.ID = id
		}
		if _, _, err := prod.SendMessage(e.ProducerMessage()); err != nil {
			t.Fatal(err)
		}
	}

	p := inventorytest.EventPublished(inventorytest.Layout{Sections: 1, Rows: 2, SeatsPerRow: 10, Price: 1500}, 6)
	send(contracts.TopicCatalogEvents, contracts.TypeEventPublished, p.EventID, p, "")
	testkit.Eventually(t, 30*time.Second, func() bool {
		return env.Call(t, "GET", "/api/v1/events/"+p.EventID+"/availability", "", nil).Status == 200
	}, "the ledger to be built from Kafka")

	u := user()
	seats := inventorytest.SeatIDs(p, 0, 0, 1, 2)
	h := mustHold(t, env, u, map[string]any{"event_id": p.EventID, "seat_ids": seats})
	booking := uuid.NewString()
	if r := commit(t, env, h["hold_id"].(string), booking, u); r.Status != 200 {
		t.Fatalf("commit: %d %s", r.Status, r.Body)
	}
	msg := contracts.BookingCancelled{BookingID: booking, EventID: p.EventID, UserID: u, SeatIDs: seats,
		Currency: "EUR", Reason: contracts.CancelByUser, CancelledAt: time.Now().UTC()}
	ce := uuid.NewString()
	send(contracts.TopicBookingBookings, contracts.TypeBookingCancelled, p.EventID, msg, ce)
	send(contracts.TopicBookingBookings, contracts.TypeBookingCancelled, p.EventID, msg, ce)
	send(contracts.TopicBookingBookings, contracts.TypeBookingCancelled, p.EventID, msg, "")

	got := kafkatest.ReadN(t, cfg, cfg.Topic(contracts.TopicInventorySeats), 3, 30*time.Second) // created, sold, released
	testkit.Eventually(t, 30*time.Second, func() bool {
		var n int
		_ = env.DB.NewRaw(`SELECT count(*) FROM inbox WHERE topic = ?`, cfg.Topic(contracts.TopicBookingBookings)).Scan(ctx, &n)
		return n == 2 // two distinct ce_ids processed; the duplicate was dropped
	}, "both booking messages to be consumed")
	time.Sleep(500 * time.Millisecond) // let a (wrong) second seats.released reach Kafka if there were one
	all, err := kafkatest.Collect(cfg, cfg.Topic(contracts.TopicInventorySeats), 3*time.Second, func([]*sarama.ConsumerMessage) bool { return false })
	_ = got
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, m := range all {
		typ := kafkatest.Header(m, kafka.HeaderType)
		count[typ]++
		if err := contracts.Validate(typ, m.Value); err != nil {
			t.Fatal(err)
		}
	}
	if count[contracts.TypeSeatsReleased] != 1 || count[contracts.TypeSeatsSold] != 1 || count[contracts.TypeHoldCreated] != 1 {
		t.Fatalf("on Kafka: %v", count)
	}
	if st := ledgerStatus(t, env, p.EventID); st["AVAILABLE"] != 20 {
		t.Fatalf("ledger = %v", st)
	}
}
