package domain

import (
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Commit is inventory's answer to committing a hold: the sold seats and what they cost.
// It is the only source of a booking's amounts; the client never sends prices.
type Commit struct {
	HoldID      uuid.UUID
	BookingID   uuid.UUID
	EventID     uuid.UUID
	UserID      string
	Seats       []Seat
	TotalAmount int64
	Currency    string
	CommittedAt time.Time
}

// InventoryRefusal is a definite "no" from inventory (a 4xx answer): the hold expired,
// belongs to someone else, or its seats are gone. Retrying cannot change it, so the
// booking FAILS with it. Anything else (timeouts, 5xx) is transient and leaves the
// booking PENDING for a retry or the reconciler.
type InventoryRefusal struct {
	Status int
	Code   string
	Detail string
}

// Error implements error.
func (r *InventoryRefusal) Error() string {
	return fmt.Sprintf("inventory refused (%d %s): %s", r.Status, r.Code, r.Detail)
}
