package e2e

import (
	"testing"
	"time"
)

// declinedCard is the payment method the system under test's simulated provider declines
// (PAYMENT_SIMULATE_DECLINE_METHODS in extraEnv).
const declinedCard = "declined_card"

// TestBookingDeclinedChargeReleasesSeats confirms a hold with a payment method the
// provider declines: the client gets 402 payment_declined problem+json naming a FAILED
// booking, repeating the request answers the same, no booking is CONFIRMED, the seats
// come back to AVAILABLE (inventory's ledger and catalog's seat map), another buyer can
// hold and buy them, and analytics agrees with the ledger.
func TestBookingDeclinedChargeReleasesSeats(t *testing.T) {
	admin := adminToken(t)
	eventID, secs := bkEvent(t, admin, hallTemplateBody(), 100000, 72*time.Hour, nil)
	seats := secs[1].FirstSeats(2)
	buyer := registerUser(t)
	holdID, _ := bkHold(t, buyer.AccessToken, eventID, seats)

	body := map[string]any{"hold_id": holdID, "event_id": eventID, "payment_method": declinedCard}
	prob := expectProblem(t, call(t, "POST", "/api/v1/bookings/confirm", buyer.AccessToken, body,
		"Idempotency-Key", "declined-"+holdID), 402)
	bookingID, _ := prob["booking_id"].(string)
	if prob["code"] != "payment_declined" || bookingID == "" {
		t.Fatalf("problem %v", prob)
	}
	again := expectProblem(t, call(t, "POST", "/api/v1/bookings/confirm", buyer.AccessToken, body,
		"Idempotency-Key", "declined-"+holdID), 402)
	if again["booking_id"] != bookingID {
		t.Fatalf("repeat names booking %v, want %s", again["booking_id"], bookingID)
	}
	var b bkBooking
	expect(t, call(t, "GET", "/api/v1/bookings/"+bookingID, buyer.AccessToken, nil), 200).Decode(t, &b)
	if b.Status != "FAILED" {
		t.Fatalf("booking %s is %s, want FAILED", bookingID, b.Status)
	}

	bkWaitSeats(t, buyer.AccessToken, eventID, seats, "AVAILABLE")
	other := registerUser(t)
	hold2, _ := bkHold(t, other.AccessToken, eventID, seats)
	if got := bkConfirm(t, other.AccessToken, hold2); got.Status != "CONFIRMED" {
		t.Fatalf("second buyer's booking: %s", got.Status)
	}

	db := anDB(t)
	var confirmed int
	if err := db.QueryRow(t.Context(), `SELECT count(*) FROM booking.bookings WHERE event_id = $1 AND user_id = $2
		AND status = 'CONFIRMED'`, eventID, b.UserID).Scan(&confirmed); err != nil {
		t.Fatal(err)
	}
	if confirmed != 0 {
		t.Fatalf("%d CONFIRMED bookings for the declined buyer", confirmed)
	}
	var detail string
	anWaitFor(t, 30*time.Second, "analytics equal to the ledger", func() bool {
		var a anEvent
		r := call(t, "GET", "/api/v1/admin/events/"+eventID+"/analytics", admin, nil)
		if r.Status != 200 {
			detail = string(r.Body)
			return false
		}
		r.Decode(t, &a)
		ok, d := anMatches(a, anTruthOf(t, db, eventID))
		detail = d
		return ok && a.SeatsSold == 2
	}, &detail)
}

// TestBookingConfirmRetriedWithIdempotencyKey sends the same confirm twice with one
// Idempotency-Key, as a client does when the first answer was lost: the second answer is
// 200 with the same booking and the same payment transaction (charged once).
func TestBookingConfirmRetriedWithIdempotencyKey(t *testing.T) {
	admin := adminToken(t)
	eventID, secs := bkEvent(t, admin, hallTemplateBody(), 100000, 72*time.Hour, nil)
	user := registerUser(t)
	holdID, _ := bkHold(t, user.AccessToken, eventID, secs[1].FirstSeats(1))
	body := map[string]any{"hold_id": holdID, "payment_method": "card"}
	var first, second bkBooking
	expect(t, call(t, "POST", "/api/v1/bookings/confirm", user.AccessToken, body, "Idempotency-Key", "retry-"+holdID), 201).Decode(t, &first)
	expect(t, call(t, "POST", "/api/v1/bookings/confirm", user.AccessToken, body, "Idempotency-Key", "retry-"+holdID), 200).Decode(t, &second)
	if second.BookingID != first.BookingID || second.Payment.TransactionID != first.Payment.TransactionID ||
		first.Status != "CONFIRMED" {
		t.Fatalf("first %+v, retry %+v", first, second)
	}
}
