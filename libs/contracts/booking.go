package contracts

import "time"

// Booking event types, on TopicBookingBookings keyed by event id.
const (
	TypeBookingConfirmed = "evently.booking.confirmed.v1"
	TypeBookingCancelled = "evently.booking.cancelled.v1"
)

// BookedSeat is one seat of a booking with the price paid.
type BookedSeat struct {
	SeatID    string `json:"seat_id"`
	SectionID string `json:"section_id"`
	Label     string `json:"label"`
	Price     int64  `json:"price"`
}

// BookingConfirmed records a paid booking whose seats are SOLD in the ledger.
type BookingConfirmed struct {
	BookingID     string       `json:"booking_id"`
	BookingRef    string       `json:"booking_ref"`
	EventID       string       `json:"event_id"`
	UserID        string       `json:"user_id"`
	HoldID        string       `json:"hold_id"`
	Seats         []BookedSeat `json:"seats"`
	TotalAmount   int64        `json:"total_amount"`
	Currency      string       `json:"currency"`
	PaymentMethod string       `json:"payment_method"`
	ConfirmedAt   time.Time    `json:"confirmed_at"`
}

// Cancellation reasons.
const (
	CancelByUser         = "USER_REQUEST"
	CancelEventCancelled = "EVENT_CANCELLED"
	// CancelPaymentDeclined undoes a sale whose charge the payment provider declined: the
	// booking is FAILED (never CONFIRMED, so nothing was paid or refunded) and inventory
	// returns its seats to sale.
	CancelPaymentDeclined = "PAYMENT_DECLINED"
)

// BookingCancelled records a cancelled booking and its refund; inventory releases its seats.
type BookingCancelled struct {
	BookingID       string    `json:"booking_id"`
	BookingRef      string    `json:"booking_ref"`
	EventID         string    `json:"event_id"`
	UserID          string    `json:"user_id"`
	CancellationID  string    `json:"cancellation_id"`
	SeatIDs         []string  `json:"seat_ids"`
	TotalAmount     int64     `json:"total_amount"`
	RefundAmount    int64     `json:"refund_amount"`
	CancellationFee int64     `json:"cancellation_fee"`
	Currency        string    `json:"currency"`
	Reason          string    `json:"reason"`
	PolicyVersion   int       `json:"policy_version"`
	CancelledAt     time.Time `json:"cancelled_at"`
}
