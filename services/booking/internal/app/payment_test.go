package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"evently.dev/libs/contracts"
	"evently.dev/libs/httpserver"

	"evently.dev/services/booking/internal/app"
	"evently.dev/services/booking/internal/domain"
)

// TestIntegrationConfirmRetriedWithKeyAfterLostAnswer retries a confirm whose answer never
// reached the client, in both places an answer can be lost: inventory's answer to booking
// (nothing stored, 503) and booking's answer to the client (the booking was written). Each
// retry with the same Idempotency-Key yields the same booking, and the provider charged
// that booking once; a retry without the key (inventory replays the sale, booking charges
// again before it finds the booking) is still one charge.
func TestIntegrationConfirmRetriedWithKeyAfterLostAnswer(t *testing.T) {
	h := newHarness(t)
	ev := h.event(t, time.Hour, nil)
	ctx := context.Background()
	user := newUser()
	hold := h.inv.AddHold(user, ev, time.Minute, map[string]int64{"A-R1-S1": 700, "A-R1-S2": 700})
	req := domain.ConfirmRequest{HoldID: hold.ID, EventID: ev, PaymentMethod: "card", IdempotencyKey: "retry-1"}

	h.inv.SetDropAnswer(true)
	_, _, err := h.svc.ConfirmBooking(ctx, user, req)
	h.inv.SetDropAnswer(false)
	if !errors.Is(err, domain.ErrInventoryUnavailable) {
		t.Fatalf("first try: want 503 inventory_unavailable, got %v", err)
	}
	first, created, err := h.svc.ConfirmBooking(ctx, user, req)
	if err != nil || !created || first.Status != domain.StatusConfirmed {
		t.Fatalf("second try: %s created=%v err=%v", first.Status, created, err)
	}
	// Its answer is lost too; the client tries twice more, once without the key.
	for i, r := range []domain.ConfirmRequest{req, {HoldID: hold.ID, PaymentMethod: "card"}} {
		again, created, err := h.svc.ConfirmBooking(ctx, user, r)
		if err != nil || created || again.ID != first.ID || again.Ref != first.Ref ||
			again.Payment.TransactionID != first.Payment.TransactionID {
			t.Fatalf("retry %d: id %s (want %s) created=%v err=%v", i, again.ID, first.ID, created, err)
		}
	}
	if n := h.pay.Charges(); n != 1 {
		t.Fatalf("provider charged %d times, want 1", n)
	}
	if n := h.count(t, "SELECT count(*) FROM bookings WHERE hold_id = ?", hold.ID); n != 1 {
		t.Fatalf("%d bookings of one hold", n)
	}
	if n := len(h.outboxEvents(t, contracts.TypeBookingConfirmed)); n != 1 {
		t.Fatalf("%d booking.confirmed, want 1", n)
	}
}

// TestIntegrationDeclinedChargeReleasesSeats drives the simulated provider's decline
// through each path that charges: the request itself, the request's retry, the
// reconciler of a PENDING booking and the seats.sold reconciler. Each ends FAILED with
// 402 payment_declined, no booking.confirmed, and one booking.cancelled (PAYMENT_DECLINED,
// nothing refunded) naming the sold seats, which is what makes inventory return them.
func TestIntegrationDeclinedChargeReleasesSeats(t *testing.T) {
	h := newHarness(t)
	ev := h.event(t, time.Hour, nil)
	ctx := context.Background()

	checkCancelled := func(t *testing.T, bookingID uuid.UUID, seats ...string) {
		t.Helper()
		var found bool
		for _, row := range h.outboxEvents(t, contracts.TypeBookingCancelled) {
			var p contracts.BookingCancelled
			if err := json.Unmarshal(row.Payload, &p); err != nil {
				t.Fatal(err)
			}
			if p.BookingID != bookingID.String() {
				continue
			}
			if found {
				t.Fatalf("two booking.cancelled for %s", bookingID)
			}
			found = true
			if p.Reason != contracts.CancelPaymentDeclined || p.RefundAmount != 0 || p.EventID != ev.String() ||
				len(p.SeatIDs) != len(seats) {
				t.Fatalf("booking.cancelled %+v", p)
			}
		}
		if !found {
			t.Fatalf("no booking.cancelled for %s: its seats stay sold", bookingID)
		}
		if n := h.count(t, "SELECT count(*) FROM bookings WHERE id = ? AND status = 'FAILED' AND failure_code = 'payment_declined'", bookingID); n != 1 {
			t.Fatalf("booking %s is not FAILED payment_declined", bookingID)
		}
	}
	confirmedBefore := len(h.outboxEvents(t, contracts.TypeBookingConfirmed))

	t.Run("the request: 402 problem, FAILED, seats released; its retry answers the same", func(t *testing.T) {
		user := newUser()
		hold := h.inv.AddHold(user, ev, time.Minute, map[string]int64{"B-R1-S1": 500, "B-R1-S2": 500})
		req := domain.ConfirmRequest{HoldID: hold.ID, EventID: ev, PaymentMethod: declinedCard, IdempotencyKey: "declined-1"}
		b, created, err := h.svc.ConfirmBooking(ctx, user, req)
		if !errors.Is(err, domain.ErrPaymentDeclined) || !created || b.Status != domain.StatusFailed {
			t.Fatalf("confirm: %s created=%v err=%v", b.Status, created, err)
		}
		prob := httpserver.ToProblem(err)
		if prob.Status != http.StatusPaymentRequired || prob.Code != "payment_declined" || prob.Extra["booking_id"] != b.ID.String() {
			t.Fatalf("problem %+v", prob)
		}
		checkCancelled(t, b.ID, "B-R1-S1", "B-R1-S2")
		again, created, err := h.svc.ConfirmBooking(ctx, user, req)
		if !errors.Is(err, domain.ErrPaymentDeclined) || created || again.ID != b.ID {
			t.Fatalf("retry: id %s created=%v err=%v", again.ID, created, err)
		}
		checkCancelled(t, b.ID, "B-R1-S1", "B-R1-S2")
	})

	t.Run("a PENDING booking the reconciler drives", func(t *testing.T) {
		user := newUser()
		hold := h.inv.AddHold(user, ev, time.Minute, map[string]int64{"B-R2-S1": 500})
		b := pendingRow(t, h, user, hold.ID)
		if _, err := h.db.NewRaw("UPDATE bookings SET payment_method = ? WHERE id = ?", declinedCard, b.ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		h.clock = h.clock.Add(time.Minute)
		if _, err := h.svc.ReconcileOnce(ctx, app.ReconcileOptions{MinAge: 5 * time.Second, Batch: 10, Lease: 30 * time.Second}); err != nil {
			t.Fatal(err)
		}
		checkCancelled(t, b.ID, "B-R2-S1")
	})

	t.Run("a sale whose request died, written by the seats.sold reconciler", func(t *testing.T) {
		user := newUser()
		hold := h.inv.AddHold(user, ev, time.Minute, map[string]int64{"B-R3-S1": 500})
		h.inv.SetDropAnswer(true)
		_, _, _ = h.confirm(t, user, hold.ID)
		h.inv.SetDropAnswer(false)
		bookingID := uuid.MustParse(h.inv.SoldTo(ev, "B-R3-S1"))
		sale := domain.Commit{HoldID: hold.ID, BookingID: bookingID, EventID: ev, UserID: user, TotalAmount: 500,
			Currency: "EUR", Seats: []domain.Seat{{SeatID: "B-R3-S1", SectionID: "B", Price: 500}}, CommittedAt: h.clock}
		if err := h.svc.RecordSales(ctx, h.store, []domain.Commit{sale}); err != nil {
			t.Fatal(err)
		}
		h.pay.DeclineMethods = append(h.pay.DeclineMethods, domain.DefaultPaymentMethod)
		defer func() { h.pay.DeclineMethods = []string{declinedCard} }()
		h.clock = h.clock.Add(time.Minute)
		if _, err := h.svc.ReconcileSales(ctx, 5*time.Second, 10); err != nil {
			t.Fatal(err)
		}
		checkCancelled(t, bookingID, "B-R3-S1")
	})

	if n := len(h.outboxEvents(t, contracts.TypeBookingConfirmed)); n != confirmedBefore {
		t.Fatalf("%d booking.confirmed written for declined charges", n-confirmedBefore)
	}
}
