// Package inventoryapi is the contract of inventory's internal HTTP API (/internal/v1),
// which booking and the waitlist call: paths, request and answer bodies, and the problem
// codes a caller acts on. Inventory's handlers, both clients and the test fake share these
// types, so a field renamed on one side no longer compiles on the other.
package inventoryapi

import (
	"time"

	"github.com/google/uuid"
)

// Paths of the internal API. Ids are interpolated by the helpers below.
const (
	// PathPrefix is the group every internal route lives under; the gateway never routes it.
	PathPrefix = "/internal/v1"
	// PathHolds places a hold for a user (POST).
	PathHolds = PathPrefix + "/holds"
)

// HoldPath is a hold's own path: GET reads it.
func HoldPath(holdID uuid.UUID) string { return PathHolds + "/" + holdID.String() }

// CommitPath sells a hold's seats for a booking (POST, idempotent by hold).
func CommitPath(holdID uuid.UUID) string { return PathHolds + "/" + holdID.String() + "/commit" }

// ReleaseHoldPath gives a live hold up on its owner's behalf (POST, idempotent).
func ReleaseHoldPath(holdID uuid.UUID) string { return PathHolds + "/" + holdID.String() + "/release" }

// ReleaseBookingPath returns a cancelled booking's seats to sale (POST, idempotent).
func ReleaseBookingPath(bookingID uuid.UUID) string {
	return PathPrefix + "/bookings/" + bookingID.String() + "/release"
}

// AvailabilityPath answers an event's per-section counts (GET).
func AvailabilityPath(eventID uuid.UUID) string {
	return PathPrefix + "/events/" + eventID.String() + "/availability"
}

// AvailableSeatsPath answers an event's seats nobody holds or bought (GET).
func AvailableSeatsPath(eventID uuid.UUID) string {
	return PathPrefix + "/events/" + eventID.String() + "/seats/available"
}

// Hold purposes: a buyer's own hold, or seats reserved for a waitlist offer.
const (
	PurposeUser          = "USER"
	PurposeWaitlistOffer = "WAITLIST_OFFER"
)

// Problem codes a caller may act on. Any other 4xx code is a refusal to report as it is.
const (
	CodeEventNotFound           = "event_not_found"
	CodeSeatNotFound            = "seat_not_found"
	CodeSectionNotFound         = "section_not_found"
	CodeEventNotOnSale          = "event_not_on_sale"
	CodeSeatsUnavailable        = "seats_unavailable"
	CodeHoldLimitExceeded       = "hold_limit_exceeded"
	CodeHoldNotFound            = "hold_not_found"
	CodeHoldExpired             = "hold_expired"
	CodeHoldAlreadyCommitted    = "hold_already_committed"
	CodeBookingAlreadyCommitted = "booking_already_committed"
	CodeEventMismatch           = "event_mismatch"
)

// SeatsProblem holds the extra members of a seats_unavailable (409) or seat_not_found
// (404) problem: which of the asked seats were taken or unknown.
type SeatsProblem struct {
	ConflictingSeatIDs []string `json:"conflicting_seat_ids,omitempty"`
	UnknownSeatIDs     []string `json:"unknown_seat_ids,omitempty"`
}

// HeldSeat is one seat of a hold or a sale, with its price in minor units.
type HeldSeat struct {
	SeatID    string `json:"seat_id"`
	SectionID string `json:"section_id"`
	Row       string `json:"row"`
	Number    int    `json:"number"`
	Label     string `json:"label"`
	Price     int64  `json:"price"`
}

// PlaceHoldRequest asks for exactly SeatIDs to be held for UserID (the waitlist's offer).
// Ids are strings so that a malformed one is a field error, not a decoding error.
type PlaceHoldRequest struct {
	EventID string   `json:"event_id"`
	UserID  string   `json:"user_id"`
	SeatIDs []string `json:"seat_ids"`
	// TTLSeconds is the hold's life; 0 takes inventory's default.
	TTLSeconds int `json:"ttl_seconds"`
	// Purpose defaults to PurposeWaitlistOffer.
	Purpose string `json:"purpose"`
}

// Hold is a live hold as inventory answers it.
type Hold struct {
	HoldID      uuid.UUID  `json:"hold_id"`
	EventID     uuid.UUID  `json:"event_id"`
	UserID      string     `json:"user_id"`
	Purpose     string     `json:"purpose"`
	Seats       []HeldSeat `json:"seats"`
	TotalAmount int64      `json:"total_amount"`
	Currency    string     `json:"currency"`
	CreatedAt   time.Time  `json:"created_at"`
	ExpiresAt   time.Time  `json:"expires_at"`
	TTLSeconds  int        `json:"ttl_seconds"`
}

// CommitRequest sells a hold's seats for a booking.
type CommitRequest struct {
	BookingID string `json:"booking_id"`
	UserID    string `json:"user_id"`
	// EventID, optional, is the event the caller expects the hold to be of.
	EventID string `json:"event_id,omitempty"`
}

// Commit is a recorded sale. BookingID may differ from the one asked for: the same user's
// repeated commit of a hold is answered with the sale already recorded.
type Commit struct {
	HoldID      uuid.UUID  `json:"hold_id"`
	BookingID   uuid.UUID  `json:"booking_id"`
	EventID     uuid.UUID  `json:"event_id"`
	UserID      string     `json:"user_id"`
	Seats       []HeldSeat `json:"seats"`
	TotalAmount int64      `json:"total_amount"`
	Currency    string     `json:"currency"`
	CommittedAt time.Time  `json:"committed_at"`
	// Replayed is true when this answers a retry from the recorded commit.
	Replayed bool `json:"replayed"`
}

// ReleaseHoldRequest names the owner a hold is given up for.
type ReleaseHoldRequest struct {
	UserID string `json:"user_id"`
}

// BookingRelease answers a booking's release.
type BookingRelease struct {
	BookingID uuid.UUID `json:"booking_id"`
	// EventID is set only when seats were released now.
	EventID uuid.UUID `json:"event_id,omitzero"`
	SeatIDs []string  `json:"seat_ids"`
	// Released is false when there was nothing left to release (already done, or unknown).
	Released bool `json:"released"`
}

// SectionCount is one section's seat counts.
type SectionCount struct {
	SectionID string `json:"section_id"`
	Name      string `json:"name"`
	Price     int64  `json:"price"`
	Capacity  int    `json:"capacity"`
	Available int    `json:"available"`
	Held      int    `json:"held"`
	Sold      int    `json:"sold"`
}

// Availability is an event's seat counts, overall and per section.
type Availability struct {
	EventID   uuid.UUID      `json:"event_id"`
	Status    string         `json:"status"`
	Currency  string         `json:"currency"`
	OnSale    bool           `json:"on_sale"`
	Sections  []SectionCount `json:"sections"`
	Capacity  int            `json:"capacity"`
	Available int            `json:"available"`
	Held      int            `json:"held"`
	Sold      int            `json:"sold"`
}

// Seat is one seat of the seat map with its price.
type Seat struct {
	SeatID    string `json:"seat_id"`
	SectionID string `json:"section_id"`
	Row       string `json:"row"`
	Number    int    `json:"number"`
	Label     string `json:"label"`
	Price     int64  `json:"price"`
}

// AvailableSeats lists an event's AVAILABLE seats in seat-map order (front to back, left
// to right), which the waitlist's seat picking relies on.
type AvailableSeats struct {
	EventID uuid.UUID `json:"event_id"`
	Seats   []Seat    `json:"seats"`
}
