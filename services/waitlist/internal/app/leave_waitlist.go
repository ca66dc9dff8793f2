package app

import (
	"context"

	"github.com/google/uuid"

	"evently.dev/libs/contracts"

	"evently.dev/services/waitlist/internal/domain"
)

// LeaveWaitlist ends the user's live entry. An open offer's seats are released at once and
// a round offers them to the next in line.
func (s *Service) LeaveWaitlist(ctx context.Context, userID string, eventID uuid.UUID) error {
	var offer *domain.Offer
	err := s.Store.InTx(ctx, func(ctx context.Context, r domain.Repository) error {
		e, err := r.LiveEntry(ctx, eventID, userID)
		if isNotFound(err) {
			return domain.ErrNotWaiting
		}
		if err != nil {
			return err
		}
		now := s.Now()
		ok, err := r.EndEntry(ctx, e.ID, []domain.Status{domain.StatusWaiting, domain.StatusOffered},
			domain.StatusCancelled, domain.EndUserLeft, nil, now)
		if err != nil {
			return err
		}
		if !ok {
			return domain.ErrNotWaiting // it ended under us (converted, expired)
		}
		if e.Status == domain.StatusOffered {
			offer = e.Offer
			if err := r.RequestRound(ctx, eventID, "offer released: user left"); err != nil {
				return err
			}
		}
		return r.Publish(ctx, eventID, contracts.TypeWaitlistLeft, contracts.WaitlistLeft{EntryID: e.ID.String(),
			EventID: eventID.String(), UserID: userID, Reason: domain.EndUserLeft, LeftAt: now})
	})
	if err != nil || offer == nil {
		return err
	}
	// After the commit: a failed release only delays the seats until the hold lapses, and
	// its hold.expired then wakes a round too.
	if err := s.Inventory.ReleaseHold(ctx, userID, offer.HoldID); err != nil {
		s.Log.WarnContext(ctx, "releasing a left offer's hold failed; it will lapse", "hold_id", offer.HoldID, "error", err)
	}
	return nil
}
