package domain

import (
	"time"

	"github.com/google/uuid"

	"evently.dev/services/booking/internal/domain/refund"
)

// Event statuses as catalog announces them.
const (
	EventPublished = "PUBLISHED"
	EventCancelled = "CANCELLED"
)

// Event is booking's read model of a catalog event: what judging a cancellation needs.
type Event struct {
	ID            uuid.UUID
	Name          string
	Status        string // "" while only a stub exists
	StartsAt      *time.Time
	Currency      string
	EventVersion  int
	Policy        *refund.Policy
	PolicyVersion int
}

// Known reports whether catalog's facts about the event have arrived.
func (e Event) Known() bool { return e.Status != "" && e.StartsAt != nil }
