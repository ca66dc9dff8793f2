package domain

import (
	"time"

	"github.com/google/uuid"
)

// Status is where an entry stands in its life.
type Status string

// Entry statuses. WAITING and OFFERED are live (hold a place in the queue); the rest are final.
const (
	StatusWaiting   Status = "WAITING"
	StatusOffered   Status = "OFFERED"
	StatusConverted Status = "CONVERTED"
	StatusExpired   Status = "EXPIRED"
	StatusCancelled Status = "CANCELLED"
)

// Statuses lists every status in lifecycle order.
var Statuses = []Status{StatusWaiting, StatusOffered, StatusConverted, StatusExpired, StatusCancelled}

// ParseStatus accepts a status name as clients send it.
func ParseStatus(s string) (Status, bool) {
	for _, st := range Statuses {
		if string(st) == s {
			return st, true
		}
	}
	return "", false
}

// Live reports whether the entry still holds a place in the queue.
func (s Status) Live() bool { return s == StatusWaiting || s == StatusOffered }

// Reasons an entry ended, carried by waitlist.left and shown to admins.
const (
	EndUserLeft       = "USER_LEFT"
	EndEventCancelled = "EVENT_CANCELLED"
	EndOfferLapsed    = "OFFER_EXPIRED"
	EndOfferDeclined  = "OFFER_RELEASED"
	EndBooked         = "BOOKED"
)

// Entry is one user's place in one event's queue.
type Entry struct {
	ID        uuid.UUID
	Seq       int64
	EventID   uuid.UUID
	UserID    string
	SectionID string
	Quantity  int
	Status    Status
	JoinedAt  time.Time
	// Position is the 1-based place among live entries (0 once the entry ended).
	Position  int
	Offer     *Offer
	BookingID *uuid.UUID
	EndedAt   *time.Time
	EndReason string
}

// Offer is the seats reserved for an entry's user until ExpiresAt.
type Offer struct {
	HoldID      uuid.UUID
	SeatIDs     []string
	TotalAmount int64
	Currency    string
	OfferedAt   time.Time
	ExpiresAt   time.Time
}

// Stats summarises one event's waitlist for organisers.
type Stats struct {
	EventID  uuid.UUID
	ByStatus map[Status]int
	Total    int
	// OffersMade counts entries that were ever offered seats.
	OffersMade int
	// ConversionRate is converted / offers made (0 when no offer was made).
	ConversionRate float64
	// MedianWait is the median time from joining to being offered, over offered entries.
	MedianWait    *time.Duration
	SeatsWaiting  int
	OldestWaiting *time.Time
}
