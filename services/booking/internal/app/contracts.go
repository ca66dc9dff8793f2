package app

import (
	"time"

	"evently.dev/libs/contracts"

	"evently.dev/services/booking/internal/domain"
	"evently.dev/services/booking/internal/payment"
)

// confirmedEvent maps a confirmed booking to the public booking.confirmed payload.
func confirmedEvent(b domain.Booking) contracts.BookingConfirmed {
	seats := make([]contracts.BookedSeat, len(b.Seats))
	for i, s := range b.Seats {
		seats[i] = contracts.BookedSeat{SeatID: s.SeatID, SectionID: s.SectionID, Label: s.Label, Price: s.Price}
	}
	var at = b.CreatedAt
	if b.ConfirmedAt != nil {
		at = *b.ConfirmedAt
	}
	return contracts.BookingConfirmed{BookingID: b.ID.String(), BookingRef: b.Ref, EventID: b.EventID.String(),
		UserID: b.UserID, HoldID: b.HoldID.String(), Seats: seats, TotalAmount: b.TotalAmount, Currency: b.Currency,
		PaymentMethod: b.Payment.Method, ConfirmedAt: at.UTC()}
}

// cancelledEvent maps an applied cancellation to the public booking.cancelled payload.
func cancelledEvent(b domain.Booking, c domain.Cancellation) contracts.BookingCancelled {
	at := c.RequestedAt
	if c.ProcessedAt != nil {
		at = *c.ProcessedAt
	}
	return contracts.BookingCancelled{BookingID: b.ID.String(), BookingRef: b.Ref, EventID: b.EventID.String(),
		UserID: b.UserID, CancellationID: c.ID.String(), SeatIDs: b.SeatIDs(), TotalAmount: b.TotalAmount,
		RefundAmount: c.Refund, CancellationFee: c.Fee, Currency: c.Currency, Reason: c.ReasonCode,
		PolicyVersion: c.PolicyVersion, CancelledAt: at.UTC()}
}

// declinedEvent is the booking.cancelled of a sale whose charge was declined: nothing was
// paid, so nothing is refunded; inventory returns the seats. The booking id stands in for
// the cancellation id, as no cancellation request exists.
func declinedEvent(b domain.Booking, at time.Time) contracts.BookingCancelled {
	return contracts.BookingCancelled{BookingID: b.ID.String(), BookingRef: b.Ref, EventID: b.EventID.String(),
		UserID: b.UserID, CancellationID: b.ID.String(), SeatIDs: b.SeatIDs(), TotalAmount: b.TotalAmount,
		Currency: b.Currency, Reason: contracts.CancelPaymentDeclined, CancelledAt: at.UTC()}
}

func paymentCharge(b domain.Booking, c domain.Commit) payment.Charge {
	return payment.Charge{BookingID: b.ID, Amount: c.TotalAmount, Currency: c.Currency, Method: b.Payment.Method}
}
