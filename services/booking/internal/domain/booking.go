package domain

import (
	"time"

	"github.com/google/uuid"
)

// Status is a booking's lifecycle state: PENDING → CONFIRMED | FAILED, CONFIRMED → CANCELLED.
type Status string

// Booking states.
const (
	StatusPending   Status = "PENDING"
	StatusConfirmed Status = "CONFIRMED"
	StatusFailed    Status = "FAILED"
	StatusCancelled Status = "CANCELLED"
)

// ParseStatus accepts a booking status as clients spell it.
func ParseStatus(s string) (Status, bool) {
	switch st := Status(s); st {
	case StatusPending, StatusConfirmed, StatusFailed, StatusCancelled:
		return st, true
	}
	return "", false
}

// Payment states.
const (
	PaymentCompleted         = "COMPLETED"
	PaymentRefunded          = "REFUNDED"
	PaymentPartiallyRefunded = "PARTIALLY_REFUNDED"
)

// Seat is one booked seat with the price paid (from inventory's commit answer).
type Seat struct {
	SeatID    string `json:"seat_id"`
	SectionID string `json:"section_id"`
	Row       string `json:"row,omitempty"`
	Number    int    `json:"number,omitempty"`
	Label     string `json:"label"`
	Price     int64  `json:"price"`
}

// Payment is what the payment provider recorded for a booking, refund included.
type Payment struct {
	Provider      string
	Method        string
	Status        string
	Amount        int64
	Currency      string
	TransactionID string
	PaidAt        *time.Time
	RefundAmount  *int64
	RefundTxID    string
	RefundedAt    *time.Time
}

// Failure explains why a booking is FAILED, as the problem the client was shown.
type Failure struct {
	Code   string
	Status int
	Detail string
}

// Booking is one purchase of the seats of one hold.
type Booking struct {
	ID             uuid.UUID
	Ref            string
	UserID         string
	HoldID         uuid.UUID
	IdempotencyKey string
	EventID        uuid.UUID // uuid.Nil until inventory's commit names it
	Status         Status
	Seats          []Seat
	TotalAmount    int64
	Currency       string
	Payment        Payment
	Failure        *Failure
	Version        int
	Attempts       int
	// Reconciled marks a booking the seats.sold reconciler wrote, until the request that
	// made the sale claims it.
	Reconciled bool
	// PolicyVersion is the event's cancellation-policy version in force when the booking
	// was confirmed (0: none); every cancellation of it is judged under that version. Nil
	// (judged under the event's policy when cancelled) for bookings confirmed before
	// versions were recorded, or before booking had learned the event from catalog.
	PolicyVersion *int
	CreatedAt     time.Time
	ConfirmedAt   *time.Time
	CancelledAt   *time.Time
	UpdatedAt     time.Time
}

// SeatIDs lists the booking's seat ids.
func (b Booking) SeatIDs() []string {
	out := make([]string, len(b.Seats))
	for i, s := range b.Seats {
		out[i] = s.SeatID
	}
	return out
}

// VisibleTo reports whether the caller may see the booking: its owner or an admin.
func (b Booking) VisibleTo(userID string, admin bool) bool { return admin || b.UserID == userID }

// ListFilter selects bookings or cancellations (S is their status type) for a page of a
// list; zero fields do not filter.
type ListFilter[S ~string] struct {
	UserID  string
	EventID uuid.UUID
	Status  S
	Limit   int
	Offset  int
}

// BookingFilter selects bookings for lists.
type BookingFilter = ListFilter[Status]
