package contracts

import "time"

// Inventory event types, on TopicInventorySeats keyed by event id.
const (
	TypeHoldCreated   = "evently.inventory.hold.created.v1"
	TypeHoldReleased  = "evently.inventory.hold.released.v1"
	TypeHoldExpired   = "evently.inventory.hold.expired.v1"
	TypeSeatsSold     = "evently.inventory.seats.sold.v1"
	TypeSeatsReleased = "evently.inventory.seats.released.v1"
)

// Hold purposes: a buyer's own hold, or seats reserved for a waitlist offer.
const (
	HoldPurposeUser          = "USER"
	HoldPurposeWaitlistOffer = "WAITLIST_OFFER"
)

// HoldCreated records a new temporary claim on seats.
//
// Delivery: best effort. hold.created and hold.released are written after the Redis change
// that makes them true, not in a transaction with it (holds live in Redis, the outbox in
// PostgreSQL; a PostgreSQL write on every hold would cost the hot path its speed), so a
// crash in between loses the event. That is allowed because no consumer's correctness
// depends on them: no seat is sold or freed on their word (the ledger and seats.sold /
// seats.released, which go through the outbox, decide that); analytics' live holds count
// only holds whose expires_at is still ahead, so a lost hold.released stops counting at
// the hold's expiry and a lost hold.created is one hold missing from the live view and the
// holds_created tally; and the waitlist ends an offer whose window passed without word
// (its offer sweep), so a lost hold.released of an offer delays the next offer by the
// window at most. hold.expired, which the waitlist acts on, goes through the outbox.
type HoldCreated struct {
	HoldID      string    `json:"hold_id"`
	EventID     string    `json:"event_id"`
	UserID      string    `json:"user_id"`
	SeatIDs     []string  `json:"seat_ids"`
	TotalAmount int64     `json:"total_amount"`
	Currency    string    `json:"currency"`
	Purpose     string    `json:"purpose"`
	CreatedAt   time.Time `json:"created_at"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// HoldReleased records a hold given up before it expired (by its owner, or a left waitlist).
// Best effort, like HoldCreated (see there for why that is safe).
type HoldReleased struct {
	HoldID     string    `json:"hold_id"`
	EventID    string    `json:"event_id"`
	UserID     string    `json:"user_id"`
	SeatIDs    []string  `json:"seat_ids"`
	Purpose    string    `json:"purpose"`
	ReleasedAt time.Time `json:"released_at"`
}

// HoldExpired records a hold that lapsed by its TTL; the seats are free again.
type HoldExpired struct {
	HoldID    string    `json:"hold_id"`
	EventID   string    `json:"event_id"`
	UserID    string    `json:"user_id"`
	SeatIDs   []string  `json:"seat_ids"`
	Purpose   string    `json:"purpose"`
	ExpiredAt time.Time `json:"expired_at"`
}

// SoldSeat is one seat in a sale.
type SoldSeat struct {
	SeatID    string `json:"seat_id"`
	SectionID string `json:"section_id"`
	Price     int64  `json:"price"`
	// Label is the seat's printable name (e.g. "Row 3, Seat 12"); optional, added so a
	// consumer can rebuild a booking from seats.sold alone.
	Label string `json:"label,omitempty"`
}

// SectionCount is a section's ledger counters as the change saw them. Sales of one event
// commit in parallel (no per-event lock on the hot path), so a snapshot may miss a
// concurrent sale: readers that need exact counts add the per-seat deltas (Seats) once
// each, which the consumer inbox makes safe.
type SectionCount struct {
	SectionID string `json:"section_id"`
	Capacity  int    `json:"capacity"`
	Sold      int    `json:"sold"`
}

// SeatsSold records seats flipped AVAILABLE → SOLD in the ledger for a booking.
type SeatsSold struct {
	EventID     string         `json:"event_id"`
	BookingID   string         `json:"booking_id"`
	HoldID      string         `json:"hold_id"`
	UserID      string         `json:"user_id"`
	Seats       []SoldSeat     `json:"seats"`
	TotalAmount int64          `json:"total_amount"`
	Currency    string         `json:"currency"`
	SoldAt      time.Time      `json:"sold_at"`
	Sections    []SectionCount `json:"sections"`
	Capacity    int            `json:"capacity"`
	SoldTotal   int            `json:"sold_total"`
}

// Reasons seats return to sale.
const (
	ReleaseBookingCancelled = "BOOKING_CANCELLED"
	ReleaseEventCancelled   = "EVENT_CANCELLED"
)

// SeatsReleased records seats flipped SOLD → AVAILABLE (or CLOSED when the event was
// cancelled); it wakes the waitlist.
type SeatsReleased struct {
	EventID    string         `json:"event_id"`
	BookingID  string         `json:"booking_id,omitempty"`
	SeatIDs    []string       `json:"seat_ids"`
	Seats      []SoldSeat     `json:"seats,omitempty"`
	Reason     string         `json:"reason"`
	ReleasedAt time.Time      `json:"released_at"`
	Sections   []SectionCount `json:"sections"`
	Capacity   int            `json:"capacity"`
	SoldTotal  int            `json:"sold_total"`
}
