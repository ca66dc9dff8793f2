package events_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"evently.dev/libs/consumer"
	"evently.dev/libs/contracts"
	"evently.dev/libs/kafka"
	"evently.dev/libs/outbox"
	"evently.dev/libs/testkit"

	"evently.dev/services/booking/internal/app"
	"evently.dev/services/booking/internal/events"
	"evently.dev/services/booking/internal/payment"
	"evently.dev/services/booking/internal/store"
	"evently.dev/services/booking/migrations"
)

func TestIntegrationCatalogReadModel(t *testing.T) {
	t.Parallel()
	db := testkit.MigratedDB(t, "booking", outbox.Migrations, consumer.Migrations, migrations.FS)
	ctx := context.Background()
	st := store.New(db)
	h := &events.Handlers{App: app.New(st, nil, &payment.Simulated{}, slog.New(slog.NewTextHandler(io.Discard, nil))),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	apply := func(typ string, payload any) {
		t.Helper()
		if err := contracts.ValidateValue(typ, payload); err != nil {
			t.Fatalf("test payload breaks the contract: %v", err)
		}
		e, err := kafka.NewEvent(contracts.TopicCatalogEvents, "k", typ, "/test", payload)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error { return h.Catalog(ctx, tx, e) }); err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
	}
	id := uuid.Must(uuid.NewV7())
	start := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	deadline := start.Add(-24 * time.Hour)

	// The policy of a draft arrives before the event is published.
	apply(contracts.TypePolicyUpdated, contracts.PolicyUpdated{EventID: id.String(), UpdatedAt: time.Now().UTC(),
		PolicySnapshot: contracts.PolicySnapshot{PolicyVersion: 1, AllowCancellation: true, CancellationDeadline: &deadline,
			FeeType: "FIXED", FeeAmount: 300, RefundTiers: []contracts.RefundTier{{HoursBefore: 24, RefundPercent: 80}}}})
	apply(contracts.TypeEventPublished, contracts.EventPublished{EventID: id.String(), Name: "Show", Category: "music",
		Tags: []string{}, VenueTemplateID: uuid.NewString(), VenueName: "Hall", StartsAt: start, EndsAt: start.Add(time.Hour),
		Currency: "EUR", HoldLimitPerUser: 4, Sections: []contracts.LayoutSection{{SectionID: uuid.NewString(), Code: "A",
			Name: "Stalls", Price: 100, Capacity: 2, Rows: []contracts.LayoutRow{{Label: "1", First: 1, Last: 2}}}}, PublishedAt: time.Now().UTC(), Version: 1,
		Policy: &contracts.PolicySnapshot{PolicyVersion: 1, AllowCancellation: true, FeeType: "NONE",
			RefundTiers: []contracts.RefundTier{}}})
	ev, ok, err := st.Event(ctx, id)
	if err != nil || !ok || !ev.Known() || ev.Status != "PUBLISHED" || !ev.StartsAt.Equal(start) || ev.Currency != "EUR" {
		t.Fatalf("after publish: %+v %v", ev, err)
	}
	if ev.PolicyVersion != 1 || ev.Policy.FeeType != "FIXED" || ev.Policy.Deadline == nil || len(ev.Policy.Tiers) != 1 {
		t.Fatalf("policy v1 must stay as first received (same version): %+v", ev.Policy)
	}
	apply(contracts.TypePolicyUpdated, contracts.PolicyUpdated{EventID: id.String(), UpdatedAt: time.Now().UTC(),
		PolicySnapshot: contracts.PolicySnapshot{PolicyVersion: 2, AllowCancellation: false, FeeType: "NONE",
			RefundTiers: []contracts.RefundTier{}}})
	later := start.Add(time.Hour)
	apply(contracts.TypeEventUpdated, contracts.EventUpdated{EventID: id.String(), Name: "Show 2", Status: "PUBLISHED",
		StartsAt: later, EndsAt: later.Add(time.Hour), Currency: "EUR", HoldLimitPerUser: 4, Prices: []contracts.SectionPrice{},
		UpdatedAt: time.Now().UTC(), Version: 3})
	// A stale update (older version) changes nothing.
	apply(contracts.TypeEventUpdated, contracts.EventUpdated{EventID: id.String(), Name: "Old", Status: "PUBLISHED",
		StartsAt: start, EndsAt: start, Currency: "EUR", HoldLimitPerUser: 4, Prices: []contracts.SectionPrice{}, UpdatedAt: time.Now().UTC(), Version: 2})
	ev, _, _ = st.Event(ctx, id)
	if ev.PolicyVersion != 2 || ev.Policy.AllowCancellation || ev.Name != "Show 2" || !ev.StartsAt.Equal(later) {
		t.Fatalf("after updates: %+v", ev)
	}
	apply(contracts.TypeEventCancelled, contracts.EventCancelled{EventID: id.String(), CancelledAt: time.Now().UTC()})
	apply(contracts.TypeEventUpdated, contracts.EventUpdated{EventID: id.String(), Name: "Show 3", Status: "PUBLISHED",
		StartsAt: later, EndsAt: later, Currency: "EUR", HoldLimitPerUser: 4, Prices: []contracts.SectionPrice{}, UpdatedAt: time.Now().UTC(), Version: 4})
	if ev, _, _ = st.Event(ctx, id); ev.Status != "CANCELLED" {
		t.Fatalf("a cancelled event was reopened: %s", ev.Status)
	}

	// A payload that can never be read is parked, not retried.
	bad := kafka.Event{ID: uuid.NewString(), Type: contracts.TypeEventCancelled, Source: "/t", Data: []byte(`{"event_id":"x"}`)}
	err = db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error { return h.Catalog(ctx, tx, bad) })
	if !consumer.IsPermanent(err) {
		t.Fatalf("bad event id: %v, want a permanent error", err)
	}
}
