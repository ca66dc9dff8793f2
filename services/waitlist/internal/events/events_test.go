package events

import (
	"context"
	"testing"

	"github.com/uptrace/bun"

	"evently.dev/libs/consumer"
	"evently.dev/libs/contracts"
	"evently.dev/libs/kafka"
)

// A payload that cannot decode, or lacks a well-formed id it must carry, is dead-lettered
// at once; types the waitlist does not need are acknowledged without touching the database.
func TestHandleDecodeFailuresAndIgnoredTypes(t *testing.T) {
	h := &Handlers{}
	tests := []struct {
		typ       string
		data      string
		permanent bool
	}{
		{contracts.TypeBookingConfirmed, `{"booking_id": 5}`, true},
		{contracts.TypeHoldExpired, `[]`, true},
		{contracts.TypeUserRegistered, `"x"`, true},
		{contracts.TypeEventCancelled, `{"event_id":"not-a-uuid"}`, true},
		{contracts.TypeBookingCancelled, `{"event_id":""}`, true},
		{contracts.TypeHoldCreated, `{}`, false},
		{contracts.TypeSeatsSold, `{}`, false},
		{"evently.something.new.v1", `{}`, false},
	}
	for _, tt := range tests {
		err := h.Handle(context.Background(), bun.Tx{}, kafka.Event{ID: "1", Type: tt.typ, Data: []byte(tt.data)})
		if tt.permanent != consumer.IsPermanent(err) || (!tt.permanent && err != nil) {
			t.Errorf("%s %s: %v", tt.typ, tt.data, err)
		}
	}
}
