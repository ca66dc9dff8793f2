package domain

import (
	"strings"

	"github.com/google/uuid"

	"evently.dev/libs/apperr"
)

// MaxSeatIDLength bounds one seat id; real ids look like "A-R3-S12".
const MaxSeatIDLength = 64

// HoldRequest is a buyer's hold request as decoded from outside: explicit seats, or a
// section and quantity for best available.
type HoldRequest struct {
	EventID    string   `json:"event_id"`
	SeatIDs    []string `json:"seat_ids,omitempty"`
	SectionID  string   `json:"section_id,omitempty"`
	Quantity   *int     `json:"quantity,omitempty"`
	AllowSplit bool     `json:"allow_split,omitempty"`
}

// HoldSpec is a validated hold request.
type HoldSpec struct {
	EventID uuid.UUID
	// SeatIDs is set for explicit seats; SectionID and Quantity for best available.
	SeatIDs    []string
	SectionID  string
	Quantity   int
	AllowSplit bool
}

// BestAvailable reports whether the spec asks the service to pick the seats.
func (s HoldSpec) BestAvailable() bool { return len(s.SeatIDs) == 0 }

// Count is the number of seats the spec asks for.
func (s HoldSpec) Count() int {
	if s.BestAvailable() {
		return s.Quantity
	}
	return len(s.SeatIDs)
}

// Validate checks the request's shape: malformed ids answer 400, broken rules 422. maxSeats
// bounds the seat count whatever the event's own limit (checked later against the event).
func (r HoldRequest) Validate(maxSeats int) (HoldSpec, error) {
	var bad, rules apperr.Fields
	spec := HoldSpec{AllowSplit: r.AllowSplit}
	if r.EventID == "" {
		rules.Add("event_id", "is required")
	} else if id, err := uuid.Parse(r.EventID); err != nil {
		bad.Add("event_id", "must be a UUID")
	} else {
		spec.EventID = id
	}
	explicit := r.SeatIDs != nil
	best := r.SectionID != "" || r.Quantity != nil
	switch {
	case explicit && best:
		rules.Add("seat_ids", "give either seat_ids or section_id with quantity, not both")
	case explicit:
		if len(r.SeatIDs) == 0 {
			rules.Add("seat_ids", "must list at least one seat")
		}
		if len(r.SeatIDs) > maxSeats {
			rules.Add("seat_ids", "must list at most %d seats", maxSeats)
		}
		seen := make(map[string]struct{}, len(r.SeatIDs))
		for _, s := range r.SeatIDs {
			switch {
			case strings.TrimSpace(s) == "":
				rules.Add("seat_ids", "must not contain empty ids")
			case len(s) > MaxSeatIDLength:
				rules.Add("seat_ids", "seat ids are at most %d characters", MaxSeatIDLength)
			default:
				if _, dup := seen[s]; dup {
					rules.Add("seat_ids", "lists %q twice", s)
				}
				seen[s] = struct{}{}
			}
		}
		if r.AllowSplit {
			rules.Add("allow_split", "applies only to best-available requests")
		}
		spec.SeatIDs = r.SeatIDs
	case best:
		if r.SectionID == "" {
			rules.Add("section_id", "is required with quantity")
		} else if _, err := uuid.Parse(r.SectionID); err != nil {
			bad.Add("section_id", "must be a UUID")
		} else {
			spec.SectionID = r.SectionID
		}
		switch {
		case r.Quantity == nil:
			rules.Add("quantity", "is required with section_id")
		case *r.Quantity < 1:
			rules.Add("quantity", "must be at least 1")
		case *r.Quantity > maxSeats:
			rules.Add("quantity", "must be at most %d", maxSeats)
		default:
			spec.Quantity = *r.Quantity
		}
	default:
		rules.Add("seat_ids", "give seat_ids, or section_id with quantity for best available")
	}
	if err := bad.BadRequest(); err != nil {
		return HoldSpec{}, err
	}
	if err := rules.Err(); err != nil {
		return HoldSpec{}, err
	}
	return spec, nil
}
