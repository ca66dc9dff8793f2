package domain

import (
	"strings"

	"github.com/google/uuid"

	"evently.dev/libs/apperr"
)

// Quantity bounds of one entry.
const (
	MinQuantity = 1
	MaxQuantity = 10
)

// JoinRequest is POST /waitlist's body as decoded from outside.
type JoinRequest struct {
	EventID   string `json:"event_id"`
	Quantity  *int   `json:"quantity"`
	SectionID string `json:"section_id,omitempty"`
}

// JoinSpec is a validated join request.
type JoinSpec struct {
	EventID   uuid.UUID
	Quantity  int
	SectionID string
}

// Validate checks the request: malformed ids answer 400, missing or out-of-range values 422.
func (r JoinRequest) Validate() (JoinSpec, error) {
	var bad, rules apperr.Fields
	var spec JoinSpec
	if strings.TrimSpace(r.EventID) == "" {
		rules.Add("event_id", "is required")
	} else if id, err := uuid.Parse(r.EventID); err != nil {
		bad.Add("event_id", "must be a UUID")
	} else {
		spec.EventID = id
	}
	switch {
	case r.Quantity == nil:
		rules.Add("quantity", "is required (%d–%d)", MinQuantity, MaxQuantity)
	case *r.Quantity < MinQuantity || *r.Quantity > MaxQuantity:
		rules.Add("quantity", "must be between %d and %d", MinQuantity, MaxQuantity)
	default:
		spec.Quantity = *r.Quantity
	}
	if r.SectionID != "" {
		if id, err := uuid.Parse(r.SectionID); err != nil {
			bad.Add("section_id", "must be a UUID")
		} else {
			spec.SectionID = id.String()
		}
	}
	if err := bad.BadRequest(); err != nil {
		return JoinSpec{}, err
	}
	if err := rules.Err(); err != nil {
		return JoinSpec{}, err
	}
	return spec, nil
}
