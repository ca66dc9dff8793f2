package app_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"evently.dev/libs/consumer"
	"evently.dev/libs/contracts"
	"evently.dev/libs/contracts/inventoryapi/inventoryapitest"
	"evently.dev/libs/outbox"
	"evently.dev/libs/testkit"

	"evently.dev/services/booking/internal/app"
	"evently.dev/services/booking/internal/domain"
	"evently.dev/services/booking/internal/domain/refund"
	"evently.dev/services/booking/internal/inventory"
	"evently.dev/services/booking/internal/payment"
	"evently.dev/services/booking/internal/store"
	"evently.dev/services/booking/migrations"
)

const secret = "test-secret"

// declinedCard is the payment method the harness's simulated provider declines.
const declinedCard = "declined_card"

type harness struct {
	db    *bun.DB
	svc   *app.Service
	inv   *inventoryapitest.Fake
	store *store.Store
	// pay is the simulated provider; it declines the method "declined_card".
	pay *payment.Simulated
	// clock is what svc.Now answers; tests move it.
	clock time.Time
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	db := testkit.MigratedDB(t, "booking", outbox.Migrations, consumer.Migrations, migrations.FS)
	h := &harness{db: db, inv: inventoryapitest.New(t, secret), store: store.New(db), clock: time.Now().UTC(),
		pay: &payment.Simulated{DeclineMethods: []string{declinedCard}}}
	client := inventory.New(inventory.Options{BaseURL: h.inv.URL, Secret: secret, Timeout: 2 * time.Second,
		Retries: 1, RetryBackoff: 5 * time.Millisecond})
	h.svc = app.New(h.store, client, h.pay, slog.New(slog.NewTextHandler(io.Discard, nil)))
	h.svc.Now = func() time.Time { return h.clock }
	return h
}

// event records a published event (and optionally its policy) in the read model, as the
// catalog consumer would.
func (h *harness) event(t *testing.T, startsIn time.Duration, p *refund.Policy) uuid.UUID {
	t.Helper()
	id := uuid.Must(uuid.NewV7())
	starts := h.clock.Add(startsIn)
	ctx := context.Background()
	if err := h.store.SaveEventFacts(ctx, domain.Event{ID: id, Name: "Show", Status: domain.EventPublished,
		StartsAt: &starts, Currency: "EUR", EventVersion: 1}); err != nil {
		t.Fatal(err)
	}
	if p != nil {
		if err := h.store.SavePolicy(ctx, domain.Event{ID: id, Policy: p, PolicyVersion: p.Version}); err != nil {
			t.Fatal(err)
		}
	}
	return id
}

func (h *harness) confirm(t *testing.T, user string, hold uuid.UUID) (domain.Booking, bool, error) {
	t.Helper()
	return h.svc.ConfirmBooking(context.Background(), user, domain.ConfirmRequest{HoldID: hold,
		PaymentMethod: domain.DefaultPaymentMethod})
}

func (h *harness) mustConfirm(t *testing.T, user string, eventID uuid.UUID, prices map[string]int64) domain.Booking {
	t.Helper()
	hold := h.inv.AddHold(user, eventID, time.Minute, prices)
	b, created, err := h.confirm(t, user, hold.ID)
	if err != nil || !created || b.Status != domain.StatusConfirmed {
		t.Fatalf("confirm: created=%v status=%s err=%v", created, b.Status, err)
	}
	return b
}

type outboxRow struct {
	Type    string          `bun:"type"`
	Key     string          `bun:"key"`
	Payload json.RawMessage `bun:"payload"`
}

// outboxEvents returns the outbox rows of a type, each validated against its schema.
func (h *harness) outboxEvents(t *testing.T, typ string) []outboxRow {
	t.Helper()
	var rows []outboxRow
	if err := h.db.NewRaw("SELECT type, key, payload FROM outbox WHERE type = ? ORDER BY created_at", typ).
		Scan(context.Background(), &rows); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := contracts.Validate(r.Type, r.Payload); err != nil {
			t.Fatalf("outbox payload breaks its schema: %v", err)
		}
	}
	return rows
}

func (h *harness) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	if err := h.db.NewRaw(q, args...).Scan(context.Background(), &n); err != nil {
		t.Fatal(err)
	}
	return n
}

func newUser() string { return uuid.Must(uuid.NewV7()).String() }
