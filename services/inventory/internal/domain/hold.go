package domain

import (
	"time"

	"github.com/google/uuid"
)

// Hold purposes (contracts.HoldPurposeUser / HoldPurposeWaitlistOffer).
const (
	PurposeUser          = "USER"
	PurposeWaitlistOffer = "WAITLIST_OFFER"
)

// HeldSeat is one seat of a hold with the price it was held at.
type HeldSeat struct {
	SeatID    string `json:"seat_id"`
	SectionID string `json:"section_id"`
	Row       string `json:"row"`
	Number    int    `json:"number"`
	Label     string `json:"label"`
	Price     int64  `json:"price"`
}

// Hold is a temporary, all-or-nothing claim of seats by one user. It lives in Redis only.
type Hold struct {
	ID          uuid.UUID  `json:"hold_id"`
	EventID     uuid.UUID  `json:"event_id"`
	UserID      string     `json:"user_id"`
	Purpose     string     `json:"purpose"`
	Seats       []HeldSeat `json:"seats"`
	TotalAmount int64      `json:"total_amount"`
	Currency    string     `json:"currency"`
	CreatedAt   time.Time  `json:"created_at"`
	ExpiresAt   time.Time  `json:"expires_at"`
}

// SeatIDs lists the hold's seat ids in order.
func (h *Hold) SeatIDs() []string {
	ids := make([]string, len(h.Seats))
	for i, s := range h.Seats {
		ids[i] = s.SeatID
	}
	return ids
}

// Commit is the ledger's record that a hold became a booking's seats.
type Commit struct {
	HoldID      uuid.UUID
	BookingID   uuid.UUID
	EventID     uuid.UUID
	UserID      string
	Seats       []HeldSeat
	TotalAmount int64
	Currency    string
	CommittedAt time.Time
}

// SectionCount is one section's absolute ledger counts after a change.
type SectionCount struct {
	SectionID string
	Capacity  int
	Sold      int
}

// Change is one seat-map change pushed to live subscribers.
type Change struct {
	Type    string   `json:"type"`
	HoldID  string   `json:"hold_id,omitempty"`
	SeatIDs []string `json:"seat_ids"`
}

// Change types.
const (
	ChangeHeld     = "held"
	ChangeReleased = "released"
	ChangeExpired  = "expired"
	ChangeSold     = "sold"
	ChangeReturned = "returned"
)
