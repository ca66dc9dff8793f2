package events

import (
	"encoding/json"
	"testing"

	"evently.dev/libs/consumer"
	"evently.dev/libs/contracts"
	"evently.dev/libs/kafka"
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
