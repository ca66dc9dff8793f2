package domain

import (
	"time"

	"github.com/google/uuid"
)

// Event statuses as the inventory knows them (only published events reach it).
const (
	EventPublished = "PUBLISHED"
	EventCancelled = "CANCELLED"
	EventCompleted = "COMPLETED"
)

// Seat statuses in the ledger. CLOSED seats belong to a cancelled event and are never sold.
const (
	SeatAvailable = "AVAILABLE"
	SeatSold      = "SOLD"
	SeatClosed    = "CLOSED"
	// SeatHeld is shown on seat maps; the ledger never stores it (holds live in Redis).
	SeatHeld = "HELD"
)

// Event is a published show as the inventory sells it.
type Event struct {
	ID               uuid.UUID
	Name             string
	Status           string
	Currency         string
	HoldLimitPerUser int
	StartsAt         time.Time
	EndsAt           time.Time
	SaleStartsAt     *time.Time
	SaleEndsAt       *time.Time
	Capacity         int
	Version          int
	Sections         []Section
}

// Section is a priced part of an event's layout with its ledger counts.
type Section struct {
	ID       string
	Code     string
	Name     string
	Price    int64
	Capacity int
	Sold     int
}

// Section returns the section with id, if any.
func (e *Event) Section(id string) (Section, bool) {
	for _, s := range e.Sections {
		if s.ID == id {
			return s, true
		}
	}
	return Section{}, false
}

// CheckOnSale refuses holds for events that are cancelled, started, or outside the sale window.
func (e *Event) CheckOnSale(now time.Time) error {
	switch {
	case e.Status != EventPublished:
		return ErrNotOnSale.WithDetail("the event is %s", e.Status)
	case !now.Before(e.StartsAt):
		return ErrNotOnSale.WithDetail("the event has already started")
	case e.SaleStartsAt != nil && now.Before(*e.SaleStartsAt):
		return ErrNotOnSale.WithDetail("sales open at %s", e.SaleStartsAt.UTC().Format(time.RFC3339))
	case e.SaleEndsAt != nil && !now.Before(*e.SaleEndsAt):
		return ErrNotOnSale.WithDetail("sales closed at %s", e.SaleEndsAt.UTC().Format(time.RFC3339))
	}
	return nil
}

// EffectiveHoldLimit is the per-user seat limit, or max when the event sets none.
func (e *Event) EffectiveHoldLimit(max int) int {
	if e.HoldLimitPerUser <= 0 || e.HoldLimitPerUser > max {
		return max
	}
	return e.HoldLimitPerUser
}
