package domain

import (
	"sort"
	"time"

	"github.com/google/uuid"
)

// Seat is one AVAILABLE seat as inventory's seat map shows it.
type Seat struct {
	ID        string
	SectionID string
	Row       string
	Number    int
	Price     int64
}

// PickSeats chooses quantity seats from available for an entry, or nil when they do not
// fit. section, when set, restricts the choice to that section. Preference, in order:
// adjacent seats in one row (a party sits together), any seats in one row, seats in one
// section, then (only without a section) any seats. available keeps the seat map's order
// (front to back, left to right), so earlier seats win ties.
func PickSeats(available []Seat, quantity int, section string) []string {
	if quantity < 1 {
		return nil
	}
	pool := available
	if section != "" {
		pool = make([]Seat, 0, len(available))
		for _, s := range available {
			if s.SectionID == section {
				pool = append(pool, s)
			}
		}
	}
	if len(pool) < quantity {
		return nil
	}
	type rowKey struct{ section, row string }
	var order []rowKey
	rows := map[rowKey][]Seat{}
	var secOrder []string
	secs := map[string][]Seat{}
	for _, s := range pool {
		k := rowKey{s.SectionID, s.Row}
		if _, ok := rows[k]; !ok {
			order = append(order, k)
		}
		rows[k] = append(rows[k], s)
		if _, ok := secs[s.SectionID]; !ok {
			secOrder = append(secOrder, s.SectionID)
		}
		secs[s.SectionID] = append(secs[s.SectionID], s)
	}
	// Adjacent seats in one row.
	for _, k := range order {
		r := append([]Seat(nil), rows[k]...)
		sort.SliceStable(r, func(i, j int) bool { return r[i].Number < r[j].Number })
		for start := 0; start+quantity <= len(r); start++ {
			if r[start+quantity-1].Number-r[start].Number == quantity-1 {
				return ids(r[start : start+quantity])
			}
		}
	}
	// Any seats in one row.
	for _, k := range order {
		if r := rows[k]; len(r) >= quantity {
			return ids(r[:quantity])
		}
	}
	// One section.
	for _, s := range secOrder {
		if r := secs[s]; len(r) >= quantity {
			return ids(r[:quantity])
		}
	}
	if section != "" {
		return nil // unreachable: a section filter leaves one section
	}
	return ids(pool[:quantity])
}

func ids(seats []Seat) []string {
	out := make([]string, len(seats))
	for i, s := range seats {
		out[i] = s.ID
	}
	return out
}

// Availability is an event's counts of seats nobody holds or bought, per section.
type Availability struct {
	Status    string
	OnSale    bool
	Available int
	Sections  map[string]int
}

// Fits reports whether quantity seats are available now (in section, when set) and
// whether the section exists.
func (a Availability) Fits(quantity int, section string) (fits, sectionKnown bool) {
	if section == "" {
		return a.Available >= quantity, true
	}
	n, ok := a.Sections[section]
	return ok && n >= quantity, ok
}

// HeldSeat is one seat of a placed hold with its price.
type HeldSeat struct {
	SeatID    string `json:"seat_id"`
	SectionID string `json:"section_id"`
	Label     string `json:"label"`
	Price     int64  `json:"price"`
}

// PlacedHold is a hold inventory placed for an offer.
type PlacedHold struct {
	ID          uuid.UUID
	Seats       []HeldSeat
	TotalAmount int64
	Currency    string
	ExpiresAt   time.Time
}

// SeatIDs lists the hold's seat ids.
func (h PlacedHold) SeatIDs() []string {
	out := make([]string, len(h.Seats))
	for i, s := range h.Seats {
		out[i] = s.SeatID
	}
	return out
}
