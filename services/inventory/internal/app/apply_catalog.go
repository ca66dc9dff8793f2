package app

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"evently.dev/libs/contracts"

	"evently.dev/services/inventory/internal/domain"
)

// BuildLedger records a published event and writes one AVAILABLE ledger row per seat,
// through l (the consumer's transaction). A redelivered event.published finds the event
// known and changes nothing (false).
func (s *Service) BuildLedger(ctx context.Context, l domain.Ledger, p domain.PublishedEvent) (bool, int, error) {
	seats, err := domain.ExpandLayout(p.Layout, contracts.SeatID)
	if err != nil {
		return false, 0, fmt.Errorf("event %s: %w", p.Event.ID, err)
	}
	p.Event.Capacity = len(seats)
	price := make(map[string]int64, len(p.Event.Sections))
	perSection := map[string]int{}
	for _, st := range seats {
		perSection[st.SectionID]++
	}
	for i, sec := range p.Event.Sections {
		price[sec.ID] = sec.Price
		p.Event.Sections[i].Capacity = perSection[sec.ID]
	}
	for _, sl := range p.Layout {
		if _, ok := price[sl.ID]; !ok {
			return false, 0, fmt.Errorf("event %s: layout section %s has no price", p.Event.ID, sl.ID)
		}
	}
	inserted, err := l.InsertEvent(ctx, p)
	if err != nil || !inserted {
		return false, 0, err
	}
	if err := l.InsertSeats(ctx, p.Event.ID, seats, price); err != nil {
		return false, 0, err
	}
	s.forget(p.Event.ID)
	return true, len(seats), nil
}

// CancelEvent stops all sales of a cancelled event: the ledger closes its unsold seats and
// Redis refuses new holds at once, whatever a replica's cache says.
func (s *Service) CancelEvent(ctx context.Context, l domain.Ledger, eventID uuid.UUID) error {
	if _, err := l.CancelEvent(ctx, eventID); err != nil {
		return err
	}
	// Written before the transaction commits: if it then rolls back, the event is refused a
	// little early, and the redelivered message cancels it for good.
	if err := s.Holds.Close(ctx, eventID); err != nil {
		return fmt.Errorf("close event %s in redis: %w", eventID, err)
	}
	s.forget(eventID)
	return nil
}

// UpdateEvent applies what may change after publishing (prices of unsold seats, hold
// limit, times, status); older versions than the one applied are ignored.
func (s *Service) UpdateEvent(ctx context.Context, l domain.Ledger, u domain.EventUpdate) error {
	if u.Status == domain.EventCancelled {
		if err := s.CancelEvent(ctx, l, u.EventID); err != nil {
			return err
		}
	}
	if _, err := l.UpdateEvent(ctx, u); err != nil {
		return err
	}
	s.forget(u.EventID)
	return nil
}
