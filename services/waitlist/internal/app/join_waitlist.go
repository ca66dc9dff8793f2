package app

import (
	"context"

	"github.com/google/uuid"

	"evently.dev/libs/contracts"

	"evently.dev/services/waitlist/internal/domain"
	"evently.dev/services/waitlist/internal/mail"
)

// JoinWaitlist queues the user for seats of a sold-out event (or section). It refuses
// when the request could be served now, so the waitlist never competes with plain sales.
func (s *Service) JoinWaitlist(ctx context.Context, userID string, spec domain.JoinSpec) (domain.Entry, error) {
	ev, err := s.Store.Repo().Event(ctx, spec.EventID)
	switch {
	case err == nil:
		if !ev.Open() {
			return domain.Entry{}, domain.ErrEventClosed
		}
	case isNotFound(err):
		// Inventory below decides: it may know the event before our read model does.
	default:
		return domain.Entry{}, err
	}
	if _, err := s.Store.Repo().LiveEntry(ctx, spec.EventID, userID); err == nil {
		return domain.Entry{}, domain.ErrAlreadyWaiting
	} else if !isNotFound(err) {
		return domain.Entry{}, err
	}
	avail, err := s.Inventory.Availability(ctx, spec.EventID)
	if err != nil {
		return domain.Entry{}, err
	}
	if avail.Status == "CANCELLED" || avail.Status == "COMPLETED" {
		return domain.Entry{}, domain.ErrEventClosed
	}
	fits, known := avail.Fits(spec.Quantity, spec.SectionID)
	if !known {
		return domain.Entry{}, domain.ErrSectionNotFound
	}
	if fits {
		where := "this event"
		if spec.SectionID != "" {
			where = "this section"
		}
		return domain.Entry{}, domain.ErrSeatsAvailable.WithDetail("%s has %d seats available right now: book them instead of joining the waitlist",
			where, availableIn(avail, spec.SectionID))
	}
	id, err := uuid.NewV7()
	if err != nil {
		return domain.Entry{}, err
	}
	e := domain.Entry{ID: id, EventID: spec.EventID, UserID: userID, SectionID: spec.SectionID, Quantity: spec.Quantity,
		Status: domain.StatusWaiting, JoinedAt: s.Now()}
	err = s.Store.InTx(ctx, func(ctx context.Context, r domain.Repository) error {
		if err := r.InsertEntry(ctx, &e); err != nil {
			return err
		}
		d := mail.Data{Quantity: e.Quantity, Position: e.Position}
		if sec, ok := ev.Section(e.SectionID); ok {
			d.Section = sec.Name
		}
		if err := notify(ctx, r, mail.KindJoined, e.ID.String(), userID, e.EventID, d); err != nil {
			return err
		}
		return r.Publish(ctx, e.EventID, contracts.TypeWaitlistJoined, contracts.WaitlistJoined{EntryID: e.ID.String(),
			EventID: e.EventID.String(), UserID: userID, SectionID: e.SectionID, Quantity: e.Quantity,
			Position: e.Position, JoinedAt: e.JoinedAt})
	})
	if err != nil {
		return domain.Entry{}, err
	}
	return e, nil
}

func availableIn(a domain.Availability, section string) int {
	if section == "" {
		return a.Available
	}
	return a.Sections[section]
}
