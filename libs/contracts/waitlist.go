package contracts

import "time"

// Waitlist event types, on TopicWaitlist keyed by event id.
const (
	TypeWaitlistJoined    = "evently.waitlist.joined.v1"
	TypeWaitlistOffered   = "evently.waitlist.offered.v1"
	TypeWaitlistConverted = "evently.waitlist.converted.v1"
	TypeWaitlistExpired   = "evently.waitlist.expired.v1"
	TypeWaitlistLeft      = "evently.waitlist.left.v1"
)

// WaitlistJoined records a user queuing for seats of a sold-out event (or section).
type WaitlistJoined struct {
	EntryID   string    `json:"entry_id"`
	EventID   string    `json:"event_id"`
	UserID    string    `json:"user_id"`
	SectionID string    `json:"section_id,omitempty"`
	Quantity  int       `json:"quantity"`
	Position  int       `json:"position"`
	JoinedAt  time.Time `json:"joined_at"`
}

// WaitlistOffered records seats reserved for the entry's user until ExpiresAt.
type WaitlistOffered struct {
	EntryID   string    `json:"entry_id"`
	EventID   string    `json:"event_id"`
	UserID    string    `json:"user_id"`
	HoldID    string    `json:"hold_id"`
	SeatIDs   []string  `json:"seat_ids"`
	OfferedAt time.Time `json:"offered_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// WaitlistConverted records an offer that became a booking.
type WaitlistConverted struct {
	EntryID     string    `json:"entry_id"`
	EventID     string    `json:"event_id"`
	UserID      string    `json:"user_id"`
	BookingID   string    `json:"booking_id"`
	ConvertedAt time.Time `json:"converted_at"`
}

// WaitlistExpired records an offer that lapsed unbooked; the seats go to the next in line.
type WaitlistExpired struct {
	EntryID   string    `json:"entry_id"`
	EventID   string    `json:"event_id"`
	UserID    string    `json:"user_id"`
	HoldID    string    `json:"hold_id"`
	ExpiredAt time.Time `json:"expired_at"`
}

// WaitlistLeft records an entry that left the queue (by the user, or the event was cancelled).
type WaitlistLeft struct {
	EntryID string    `json:"entry_id"`
	EventID string    `json:"event_id"`
	UserID  string    `json:"user_id"`
	Reason  string    `json:"reason"`
	LeftAt  time.Time `json:"left_at"`
}
