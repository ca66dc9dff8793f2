package e2e

import (
	"fmt"
	"testing"
	"time"

	"evently.dev/libs/testkit"
)

// bkEvent creates a template and an event on it as a DRAFT, sets its cancellation policy
// (when policy is not nil), and publishes it, so event.published carries the policy and
// booking learns both together. The event starts in startsIn; the first section costs
// 2 × base_price. It returns the event id and its sections.
func bkEvent(t testing.TB, adminTok string, templateBody map[string]any, basePrice int64, startsIn time.Duration, policy map[string]any) (string, []sectionInfo) {
	t.Helper()
	tpl := createTemplate(t, adminTok, templateBody)
	ev := expect(t, call(t, "POST", "/api/v1/admin/events", adminTok,
		eventBody(tpl, "E2E Booking", startsIn, basePrice)), 201).JSON(t)
	id := ev["id"].(string)
	if policy != nil {
		setCancellationPolicy(t, adminTok, id, policy)
	}
	pub := expect(t, call(t, "POST", "/api/v1/admin/events/"+id+"/publish", adminTok, nil), 200).JSON(t)
	return id, eventSections(t, pub)
}

// bkHold holds seats through the gateway and returns the hold id and total, failing the
// test unless inventory answers 201. It retries 404/409 "not on sale" for a few seconds,
// while inventory is still learning about a just-published event.
func bkHold(t testing.TB, token, eventID string, seatIDs []string) (string, int64) {
	t.Helper()
	var r resp
	testkit.Eventually(t, 15*time.Second, func() bool {
		r = call(t, "POST", "/api/v1/seats/hold", token, map[string]any{"event_id": eventID, "seat_ids": seatIDs})
		if r.Status != 201 && r.Status != 404 && r.Status != 409 {
			t.Fatalf("hold %v: %d %s", seatIDs, r.Status, r.Body)
		}
		return r.Status == 201
	}, "hold %v of %s on sale; last answer: %v", seatIDs, eventID, testkit.Lazy(func() string { return fmt.Sprintf("%d %s", r.Status, r.Body) }))
	var h struct {
		HoldID      string `json:"hold_id"`
		TotalAmount int64  `json:"total_amount"`
	}
	r.Decode(t, &h)
	return h.HoldID, h.TotalAmount
}

// bkSeatStatuses reads the seat map and returns each seat's status, past the gateway's
// read cache (READ_CACHE_TTL) so it sees what the test just did.
func bkSeatStatuses(t testing.TB, token, eventID string) map[string]string {
	t.Helper()
	var m struct {
		Seats []struct {
			SeatID string `json:"seat_id"`
			Status string `json:"status"`
		} `json:"seats"`
	}
	expect(t, call(t, "GET", "/api/v1/events/"+eventID+"/venue/layout", token, nil, "Cache-Control", "no-cache"), 200).Decode(t, &m)
	out := make(map[string]string, len(m.Seats))
	for _, s := range m.Seats {
		out[s.SeatID] = s.Status
	}
	return out
}

// bkWaitSeats polls the seat map until every seat has the wanted status.
func bkWaitSeats(t testing.TB, token, eventID string, seats []string, want string) {
	t.Helper()
	var st map[string]string
	testkit.Eventually(t, 20*time.Second, func() bool {
		st = bkSeatStatuses(t, token, eventID)
		for _, s := range seats {
			if st[s] != want {
				return false
			}
		}
		return true
	}, "seats %v of %s all %s; last seen: %v", seats, eventID, want, testkit.Lazy(func() string { return fmt.Sprint(st) }))
}

// bkBooking is the booking object as tests read it.
type bkBooking struct {
	BookingID   string `json:"booking_id"`
	BookingRef  string `json:"booking_ref"`
	Status      string `json:"status"`
	EventID     string `json:"event_id"`
	UserID      string `json:"user_id"`
	TotalAmount int64  `json:"total_amount"`
	Currency    string `json:"currency"`
	TotalSeats  int    `json:"total_seats"`
	Version     int    `json:"version"`
	Seats       []struct {
		SeatID string `json:"seat_id"`
		Price  int64  `json:"price"`
	} `json:"seats"`
	Payment struct {
		Status        string `json:"status"`
		Amount        int64  `json:"amount"`
		Method        string `json:"method"`
		Provider      string `json:"provider"`
		TransactionID string `json:"transaction_id"`
		RefundAmount  *int64 `json:"refund_amount"`
	} `json:"payment"`
	CancelledAt *time.Time `json:"cancelled_at"`
}

// bkCancellation is the cancellation object as tests read it.
type bkCancellation struct {
	ID              string `json:"id"`
	BookingID       string `json:"booking_id"`
	Status          string `json:"status"`
	CancellationFee int64  `json:"cancellation_fee"`
	RefundAmount    int64  `json:"refund_amount"`
	Currency        string `json:"currency"`
	PolicyVersion   int    `json:"policy_version"`
}

// bkConfirm confirms a hold and expects 201.
func bkConfirm(t testing.TB, token, holdID string) bkBooking {
	t.Helper()
	var b bkBooking
	expect(t, call(t, "POST", "/api/v1/bookings/confirm", token, map[string]any{"hold_id": holdID}), 201).Decode(t, &b)
	return b
}

// bkCancelCall posts a cancel-like request, retrying 503 while booking's read model has
// not yet caught up with catalog's event.
func bkCancelCall(t testing.TB, path, token string, body any) resp {
	t.Helper()
	var r resp
	testkit.Eventually(t, 20*time.Second, func() bool {
		r = call(t, "POST", path, token, body)
		return r.Status != 503
	}, "POST %s answered other than 503 (booking's read model caught up with catalog)", path)
	return r
}
