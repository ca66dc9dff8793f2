package app

import (
	"context"
	"time"

	"evently.dev/services/waitlist/internal/domain"
)

// SweepStaleOffers ends offers whose window passed more than grace ago without inventory
// saying how they ended, and answers how many it ended. Inventory announces an offer
// hold's end with hold.expired (written through its outbox: never lost) or hold.released
// (written after the Redis change, best effort: lost if inventory dies in between). A
// lost hold.released would leave the entry OFFERED for ever and the next in line never
// offered the seats, so an offer is also ended by its own clock: EXPIRED, with the same
// e-mail and waitlist.expired as a lapse, and a round requested for the event. An offer
// that did end normally is no longer OFFERED and is not touched; a booking made on the
// hold afterwards still converts the entry (see BookingConfirmed).
func (s *Service) SweepStaleOffers(ctx context.Context, grace time.Duration, limit int) (int, error) {
	stale, err := s.Store.Repo().StaleOffers(ctx, s.Now().Add(-grace), limit)
	if err != nil {
		return 0, err
	}
	ended := 0
	for _, e := range stale {
		if e.Offer == nil {
			continue
		}
		err := s.Store.InTx(ctx, func(ctx context.Context, r domain.Repository) error {
			if err := s.endOffer(ctx, r, e.Offer.HoldID.String(), domain.StatusExpired, domain.EndOfferLapsed, e.Offer.ExpiresAt); err != nil {
				return err
			}
			return s.wake(ctx, r, e.EventID.String(), "offer window passed")
		})
		if err != nil {
			return ended, err
		}
		ended++
		s.Log.WarnContext(ctx, "offer ended by its window: inventory never announced its hold's end",
			"entry_id", e.ID, "hold_id", e.Offer.HoldID)
	}
	return ended, nil
}

// RunOfferSweeper runs SweepStaleOffers every interval until ctx ends.
func (s *Service) RunOfferSweeper(ctx context.Context, interval, grace time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if _, err := s.SweepStaleOffers(ctx, grace, 100); err != nil && ctx.Err() == nil {
			s.Log.WarnContext(ctx, "offer sweep failed", "error", err)
		}
	}
}
