package events

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/uptrace/bun"

	"evently.dev/libs/consumer"
	"evently.dev/libs/contracts"
	"evently.dev/libs/kafka"

	"evently.dev/services/analytics/internal/store"
)

// FuzzDecode feeds arbitrary payloads to the decoder every handler uses: it must never
// panic, and every refusal must be permanent (dead-lettered, not retried forever).
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"event_id":"0192a5d2-0000-7000-8000-000000000001","booking_id":"b","currency":"EUR","total_amount":100}`))
	f.Add([]byte(`{"event_id":"not-a-uuid"}`))
	f.Add([]byte(`{"event_id":42}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"event_id":"0192A5D2-0000-7000-8000-000000000001","seats":[{"price":"x"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var d contracts.BookingConfirmed
		err := decode(kafka.Event{ID: "x", Type: contracts.TypeBookingConfirmed, Data: json.RawMessage(data)}, &d, &d.EventID)
		if err != nil && !consumer.IsPermanent(err) {
			t.Fatalf("retryable decode error: %v", err)
		}
		if err == nil && len(d.EventID) != 36 {
			t.Fatalf("accepted event id %q", d.EventID)
		}
	})
}

// Types must list exactly what apply reads: a type apply handles but Types lacks would be
// acknowledged by the runner without ever being applied.
func TestTypesMatchApply(t *testing.T) {
	listed := map[string]bool{}
	for _, typ := range Types {
		listed[typ] = true
		// Every listed type reaches its decoder, which refuses a payload without a show id;
		// an unread type would fall through to the default and be accepted.
		err := apply(context.Background(), bun.Tx{}, store.Projector{}, slog.New(slog.DiscardHandler),
			kafka.Event{ID: "x", Type: typ, Data: json.RawMessage(`{}`)})
		if !consumer.IsPermanent(err) {
			t.Errorf("%s: apply(%s) = %v, want a permanent decode error (is the type handled?)", typ, `{}`, err)
		}
	}
	for _, typ := range []string{contracts.TypePolicyUpdated, contracts.TypeUserRegistered, "evently.future.v9"} {
		if listed[typ] {
			t.Errorf("%s is listed but analytics does not read it", typ)
		}
		if err := apply(context.Background(), bun.Tx{}, store.Projector{}, slog.New(slog.DiscardHandler),
			kafka.Event{ID: "x", Type: typ, Data: json.RawMessage(`{}`)}); err != nil {
			t.Errorf("%s: apply = %v, want it ignored", typ, err)
		}
	}
}
