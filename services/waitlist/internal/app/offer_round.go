package app

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"evently.dev/libs/contracts"
	"evently.dev/libs/retry"

	"evently.dev/services/waitlist/internal/domain"
	"evently.dev/services/waitlist/internal/mail"
)

// OfferMade is one offer a round made.
type OfferMade struct {
	EntryID   uuid.UUID
	UserID    string
	HoldID    uuid.UUID
	SeatIDs   []string
	ExpiresAt time.Time
}

// holdAttempts bounds how often one entry is retried after losing seats to a buyer.
const holdAttempts = 3

// OfferToNextInLine runs one offer round for the event: it walks the queue in order and,
// for each entry whose quantity (and section) fits the seats available now, asks inventory
// to hold seats for that user for the offer window, then records the offer, its email and
// waitlist.offered in one transaction. Entries that do not fit keep their place.
//
// Rounds of one event are serialised across workers and replicas by a PostgreSQL advisory
// lock, and each round reads the queue and the seat map afresh after taking it, so two
// rounds never offer the same seats (inventory's all-or-nothing holds are the last guard).
func (s *Service) OfferToNextInLine(ctx context.Context, eventID uuid.UUID) ([]OfferMade, error) {
	var made []OfferMade
	err := s.Store.WithEventLock(ctx, eventID, func(ctx context.Context) error {
		repo := s.Store.Repo()
		if ev, err := repo.Event(ctx, eventID); err == nil && !ev.Open() {
			return nil
		}
		waiting, err := repo.WaitingEntries(ctx, eventID)
		if err != nil || len(waiting) == 0 {
			return err
		}
		free, err := s.Inventory.AvailableSeats(ctx, eventID)
		if err != nil {
			return err
		}
		for _, e := range waiting {
			if len(free) == 0 {
				break
			}
		attempts:
			for attempt := 0; attempt < holdAttempts; attempt++ {
				pick := domain.PickSeats(free, e.Quantity, e.SectionID)
				if pick == nil {
					break // does not fit: keeps its place, the next entry may fit
				}
				hold, err := s.Inventory.HoldForUser(ctx, eventID, e.UserID, pick, s.Opts.OfferWindow)
				var taken *domain.SeatsTakenError
				var closed *domain.NotOnSaleError
				switch {
				case errors.As(err, &taken):
					gone := taken.SeatIDs
					if len(gone) == 0 {
						gone = pick
					}
					free = without(free, gone)
					continue
				case errors.Is(err, domain.ErrOverUserLimit):
					// The user's holds, offers and purchases leave no room for this entry's
					// quantity: it keeps its place and the next entry may fit.
					s.Log.InfoContext(ctx, "offer skipped: over the per-user limit", "event_id", eventID, "entry_id", e.ID)
					break attempts
				case errors.As(err, &closed):
					s.Log.InfoContext(ctx, "offer round stopped: event not on sale", "event_id", eventID, "detail", closed.Detail)
					return nil
				case err != nil:
					return err
				}
				free = without(free, pick)
				ok, err := s.recordOffer(ctx, e, hold)
				if err != nil || !ok {
					// The entry left (or the write failed): give the seats back so the next
					// round can offer them instead of waiting for the hold to lapse.
					if rerr := s.Inventory.ReleaseHold(ctx, e.UserID, hold.ID); rerr != nil {
						s.Log.WarnContext(ctx, "releasing an unrecorded offer hold failed; it will lapse", "hold_id", hold.ID, "error", rerr)
					}
					if err != nil {
						return err
					}
					free = append(free, seatsOf(hold)...)
					break
				}
				made = append(made, OfferMade{EntryID: e.ID, UserID: e.UserID, HoldID: hold.ID, SeatIDs: hold.SeatIDs(), ExpiresAt: hold.ExpiresAt})
				s.Log.InfoContext(ctx, "waitlist offer made", "event_id", eventID, "entry_id", e.ID, "hold_id", hold.ID, "seats", hold.SeatIDs())
				break
			}
		}
		return nil
	})
	return made, err
}

// recordOffer stores the offer with its email and event; false when the entry is no
// longer WAITING (it left while inventory held the seats).
func (s *Service) recordOffer(ctx context.Context, e domain.Entry, hold domain.PlacedHold) (bool, error) {
	var ok bool
	err := s.Store.InTx(ctx, func(ctx context.Context, r domain.Repository) error {
		now := s.Now()
		o := domain.Offer{HoldID: hold.ID, SeatIDs: hold.SeatIDs(), TotalAmount: hold.TotalAmount, Currency: hold.Currency,
			OfferedAt: now, ExpiresAt: hold.ExpiresAt.UTC()}
		var err error
		if ok, err = r.MarkOffered(ctx, e.ID, o); err != nil || !ok {
			return err
		}
		d := mail.Data{Quantity: e.Quantity, Seats: seatLines(hold.Seats, hold.Currency),
			Total: domain.FormatMoney(hold.TotalAmount, hold.Currency), Deadline: formatDeadline(o.ExpiresAt), HoldID: hold.ID.String()}
		if err := notify(ctx, r, mail.KindOffer, hold.ID.String(), e.UserID, e.EventID, d); err != nil {
			return err
		}
		return r.Publish(ctx, e.EventID, contracts.TypeWaitlistOffered, contracts.WaitlistOffered{EntryID: e.ID.String(),
			EventID: e.EventID.String(), UserID: e.UserID, HoldID: hold.ID.String(), SeatIDs: o.SeatIDs,
			OfferedAt: now, ExpiresAt: o.ExpiresAt})
	})
	return ok, err
}

func without(free []domain.Seat, gone []string) []domain.Seat {
	drop := make(map[string]bool, len(gone))
	for _, id := range gone {
		drop[id] = true
	}
	out := free[:0:0]
	for _, s := range free {
		if !drop[s.ID] {
			out = append(out, s)
		}
	}
	return out
}

func seatsOf(h domain.PlacedHold) []domain.Seat {
	out := make([]domain.Seat, len(h.Seats))
	for i, s := range h.Seats {
		out[i] = domain.Seat{ID: s.SeatID, SectionID: s.SectionID, Price: s.Price}
	}
	return out
}

// RunRounds serves requested offer rounds until ctx ends: the consumers only record that
// an event needs a round (in their exactly-once transaction); the HTTP calls to inventory
// happen here. A failed round (inventory down) is retried with backoff.
func (s *Service) RunRounds(ctx context.Context) error {
	t := time.NewTicker(s.Opts.RoundPollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if err := s.RoundsOnce(ctx); err != nil && ctx.Err() == nil {
			s.Log.WarnContext(ctx, "offer rounds failed", "error", err)
		}
	}
}

// RoundsOnce runs every round that is due now.
func (s *Service) RoundsOnce(ctx context.Context) error {
	due, err := s.Store.DueRounds(ctx, 20)
	if err != nil {
		return err
	}
	for _, req := range due {
		_, err := s.OfferToNextInLine(ctx, req.EventID)
		if ctx.Err() != nil {
			return nil //nolint:nilerr // shutting down is not a failed pass; the round stays due and runs on the next start
		}
		if err == nil || errors.Is(err, domain.ErrEventNotFound) {
			if err := s.Store.FinishRound(ctx, req.EventID, req.Version); err != nil {
				return err
			}
			continue
		}
		wait := retry.Backoff(time.Second, s.Opts.RoundMaxBackoff, req.Attempts+1)
		s.Log.WarnContext(ctx, "offer round failed, retrying", "event_id", req.EventID, "retry_in", wait, "error", err)
		if err := s.Store.RetryRound(ctx, req.EventID, req.Version, s.Now().Add(wait), err.Error()); err != nil {
			return err
		}
	}
	return nil
}
