package app

import (
	"context"

	"github.com/google/uuid"

	"evently.dev/services/inventory/internal/domain"
)

// SeatMap is an event's layout with every seat's status at one moment.
type SeatMap struct {
	Event  domain.Event
	Layout *Layout
	// status holds each layout seat's state by index: built from the (few) sold and held
	// ids, so a 50,000-seat map costs no per-seat lookups.
	status []uint8
	// Gen identifies the seat states this map was built from: two maps of one event with
	// the same Gen show the same states.
	Gen uint64
}

const (
	stateAvailable uint8 = iota
	stateHeld
	stateSold
)

var stateNames = [...]string{domain.SeatAvailable, domain.SeatHeld, domain.SeatSold}

// StatusAt returns the status of the layout's i-th seat: SOLD (or closed), HELD or AVAILABLE.
func (m *SeatMap) StatusAt(i int) string { return stateNames[m.status[i]] }

// Status returns a seat's status by id.
func (m *SeatMap) Status(seatID string) string {
	i, ok := m.Layout.index[seatID]
	if !ok {
		return domain.SeatAvailable
	}
	return m.StatusAt(int(i))
}

// SeatMap combines the cached layout, the ledger's sold seats (Redis sold set, rebuilt when
// missing) and the live holds — three reads whatever the number of seats, and none while
// the event's view is fresh (AVAILABILITY_CACHE_TTL).
func (s *Service) SeatMap(ctx context.Context, eventID uuid.UUID) (SeatMap, error) {
	ev, err := s.Event(ctx, eventID)
	if err != nil {
		return SeatMap{}, err
	}
	l, err := s.Layout(ctx, eventID)
	if err != nil {
		return SeatMap{}, err
	}
	v, err := s.freshView(ctx, l, false)
	if err != nil {
		return SeatMap{}, err
	}
	st, gen := v.copyStatus()
	return SeatMap{Event: ev, Layout: l, status: st, Gen: gen}, nil
}

// SectionAvailability is one section's counts.
type SectionAvailability struct {
	SectionID string
	Name      string
	Price     int64
	Capacity  int
	Available int
	Held      int
	Sold      int
}

// Availability is an event's per-section and total counts.
type Availability struct {
	EventID   uuid.UUID
	Status    string
	Currency  string
	Sections  []SectionAvailability
	Capacity  int
	Available int
	Held      int
	Sold      int
}

// Counts tallies the seat map per section.
func (m *SeatMap) Counts() Availability {
	a := Availability{EventID: m.Event.ID, Status: m.Event.Status, Currency: m.Event.Currency}
	idx := make(map[string]int, len(m.Event.Sections))
	for i, sec := range m.Event.Sections {
		idx[sec.ID] = i
		a.Sections = append(a.Sections, SectionAvailability{SectionID: sec.ID, Name: sec.Name, Price: sec.Price})
	}
	last, lastIdx := "", -1
	for n, st := range m.Layout.Seats {
		if st.SectionID != last { // seats come grouped by section: one map lookup per section
			i, ok := idx[st.SectionID]
			if !ok {
				i = -1
			}
			last, lastIdx = st.SectionID, i
		}
		if lastIdx < 0 {
			continue
		}
		sa := &a.Sections[lastIdx]
		sa.Capacity++
		switch m.status[n] {
		case stateSold:
			sa.Sold++
		case stateHeld:
			sa.Held++
		default:
			sa.Available++
		}
	}
	for _, sa := range a.Sections {
		a.Capacity += sa.Capacity
		a.Available += sa.Available
		a.Held += sa.Held
		a.Sold += sa.Sold
	}
	return a
}

// Availability answers the public per-section counts.
func (s *Service) Availability(ctx context.Context, eventID uuid.UUID) (Availability, error) {
	m, err := s.SeatMap(ctx, eventID)
	if err != nil {
		return Availability{}, err
	}
	return m.Counts(), nil
}
