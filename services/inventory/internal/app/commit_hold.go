package app

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"evently.dev/libs/contracts"
	"evently.dev/libs/outbox"
	"evently.dev/libs/pg"

	"evently.dev/services/inventory/internal/domain"
)

// CommitHold turns a live hold into sold seats for a booking (booking → inventory). The
// ledger decides: one transaction flips exactly the hold's seats AVAILABLE → SOLD, records
// the commit and writes seats.sold to the outbox, or changes nothing. Only afterwards is
// Redis told. Retries with the same hold and booking answer the recorded commit (replayed
// true), even after the hold is gone from Redis.
//
// The commits table is read only when the sale cannot go ahead (hold gone, seats not
// AVAILABLE, or a unique clash on hold or booking), not up front: a first commit, the
// common case, costs no extra query, and every way a retry can arrive ends in one of those.
func (s *Service) CommitHold(ctx context.Context, holdID, bookingID uuid.UUID, userID string) (domain.Commit, bool, error) {
	h, found, err := s.Holds.Find(ctx, userID, holdID)
	if err != nil {
		return domain.Commit{}, false, err
	}
	if !found || !h.ExpiresAt.After(s.Now()) {
		// Committed already (by this request's earlier try or a twin), or truly gone.
		if c, ok, err := s.recordedCommit(ctx, holdID, bookingID); ok || err != nil {
			return c, ok, err
		}
		return domain.Commit{}, false, domain.ErrHoldExpired
	}
	ids := h.SeatIDs()
	c := domain.Commit{HoldID: holdID, BookingID: bookingID, EventID: h.EventID, UserID: userID, Seats: h.Seats,
		TotalAmount: h.TotalAmount, Currency: h.Currency, CommittedAt: s.Now().UTC().Truncate(time.Microsecond)} // PostgreSQL keeps µs: a replay must answer the same instant
	err = s.Store.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		n, err := s.Store.SellSeats(ctx, tx, h.EventID, bookingID, ids)
		if err != nil {
			return err
		}
		if n != len(ids) {
			// A concurrent retry of this very commit may have sold the seats while this
			// statement waited for their row locks: it committed, so its record is visible now.
			if _, found, err := s.Store.FindCommit(ctx, tx, holdID, bookingID); err != nil || found {
				if err == nil {
					err = errRaceLost
				}
				return err
			}
			taken, err := s.Store.UnsellableSeats(ctx, tx, h.EventID, ids)
			if err != nil {
				return err
			}
			return domain.ErrSeatsTaken.WithDetail("the ledger refused the sale: seats %v are not available", taken).
				WithExtra("conflicting_seat_ids", taken)
		}
		if err := s.Store.InsertCommit(ctx, tx, c); err != nil {
			return err
		}
		delta := map[string]int{}
		for _, st := range h.Seats {
			delta[st.SectionID]++
		}
		counts, err := s.Store.AdjustSold(ctx, tx, h.EventID, bookingID, delta)
		if err != nil {
			return err
		}
		sold := make([]contracts.SoldSeat, len(h.Seats))
		for i, st := range h.Seats {
			sold[i] = contracts.SoldSeat{SeatID: st.SeatID, SectionID: st.SectionID, Price: st.Price}
		}
		payload := contracts.SeatsSold{EventID: h.EventID.String(), BookingID: bookingID.String(), HoldID: holdID.String(),
			UserID: userID, Seats: sold, TotalAmount: h.TotalAmount, Currency: h.Currency, SoldAt: c.CommittedAt}
		payload.Sections, payload.Capacity, payload.SoldTotal = sectionCounts(counts)
		_, err = outbox.AddJSON(ctx, tx, contracts.TopicInventorySeats, h.EventID.String(), contracts.TypeSeatsSold, Source, payload)
		return err
	})
	if err != nil {
		if pg.IsUniqueViolation(err) || errors.Is(err, errRaceLost) { // a concurrent twin committed first: answer what it recorded
			if c, ok, ferr := s.recordedCommit(ctx, holdID, bookingID); ok || ferr != nil {
				return c, ok, ferr
			}
		}
		return domain.Commit{}, false, err
	}
	// The sale is final; Redis only catches up. If this fails the hold lapses on its own and
	// the sold set is rebuilt from the ledger when missing, so log and answer success.
	if err := s.Holds.CommitCleanup(context.WithoutCancel(ctx), h.EventID, holdID, userID, ids); err != nil {
		s.Log.WarnContext(ctx, "commit: redis cleanup failed", "hold_id", holdID, "error", err)
	}
	return c, false, nil
}

// errRaceLost marks a commit that a concurrent twin made first.
var errRaceLost = errors.New("commit raced by a twin")

// recordedCommit answers a retried commit from the commits table: the same hold and
// booking → the recorded result; the hold with another booking, or the booking with
// another hold → conflict.
func (s *Service) recordedCommit(ctx context.Context, holdID, bookingID uuid.UUID) (domain.Commit, bool, error) {
	c, ok, err := s.Store.FindCommit(ctx, s.Store.DB, holdID, bookingID)
	if err != nil || !ok {
		return domain.Commit{}, false, err
	}
	switch {
	case c.HoldID == holdID && c.BookingID == bookingID:
		return c, true, nil
	case c.HoldID == holdID:
		return domain.Commit{}, false, domain.ErrHoldCommitted
	default:
		return domain.Commit{}, false, domain.ErrBookingUsed
	}
}

// sectionCounts maps ledger counts to the contract's absolute counts.
func sectionCounts(counts []domain.SectionCount) ([]contracts.SectionCount, int, int) {
	out := make([]contracts.SectionCount, len(counts))
	capacity, sold := 0, 0
	for i, c := range counts {
		out[i] = contracts.SectionCount{SectionID: c.SectionID, Capacity: c.Capacity, Sold: c.Sold}
		capacity += c.Capacity
		sold += c.Sold
	}
	return out, capacity, sold
}

// ReturnedSeats is what returning a booking's seats changed, for Redis to catch up with.
type ReturnedSeats struct {
	EventID uuid.UUID
	SeatIDs []string
	// Closed is true when the event is cancelled: the seats became CLOSED, not AVAILABLE.
	Closed bool
	// UserID is the booking's buyer ("" when its commit record is missing).
	UserID string
}

// ReturnBookingSeats flips a cancelled booking's seats SOLD → AVAILABLE (CLOSED if the
// event is cancelled) in tx and writes seats.released to the outbox in the same tx. It
// happens once: a repeat finds no SOLD seats of the booking and changes nothing (ok false).
func (s *Service) ReturnBookingSeats(ctx context.Context, tx bun.IDB, bookingID uuid.UUID) (ReturnedSeats, bool, error) {
	rows, err := s.Store.ReturnBookingSeats(ctx, tx, bookingID)
	if err != nil || len(rows) == 0 {
		return ReturnedSeats{}, false, err
	}
	eventID := rows[0].EventID
	delta := map[string]int{}
	ids := make([]string, 0, len(rows))
	seats := make([]contracts.SoldSeat, 0, len(rows))
	closed := false
	for _, r := range rows {
		if r.EventID != eventID {
			return ReturnedSeats{}, false, fmt.Errorf("booking %s spans events %s and %s", bookingID, eventID, r.EventID)
		}
		delta[r.SectionID]--
		ids = append(ids, r.SeatID)
		seats = append(seats, contracts.SoldSeat{SeatID: r.SeatID, SectionID: r.SectionID, Price: r.Price})
		closed = closed || r.Status == domain.SeatClosed
	}
	sort.Strings(ids)
	sort.Slice(seats, func(i, j int) bool { return seats[i].SeatID < seats[j].SeatID })
	counts, err := s.Store.AdjustSold(ctx, tx, eventID, bookingID, delta)
	if err != nil {
		return ReturnedSeats{}, false, err
	}
	reason := contracts.ReleaseBookingCancelled
	if closed {
		reason = contracts.ReleaseEventCancelled
	}
	payload := contracts.SeatsReleased{EventID: eventID.String(), BookingID: bookingID.String(), SeatIDs: ids,
		Seats: seats, Reason: reason, ReleasedAt: s.Now().UTC()}
	payload.Sections, payload.Capacity, payload.SoldTotal = sectionCounts(counts)
	if _, err := outbox.AddJSON(ctx, tx, contracts.TopicInventorySeats, eventID.String(), contracts.TypeSeatsReleased,
		Source, payload); err != nil {
		return ReturnedSeats{}, false, err
	}
	buyer, err := s.Store.BookingBuyer(ctx, tx, bookingID)
	if err != nil {
		return ReturnedSeats{}, false, err
	}
	return ReturnedSeats{EventID: eventID, SeatIDs: ids, Closed: closed, UserID: buyer}, true, nil
}

// SyncReturned updates Redis after seats went back on sale. Closed seats stay in the sold
// set (they can never be held), which agrees with a rebuild from the ledger.
func (s *Service) SyncReturned(ctx context.Context, r ReturnedSeats) error {
	if r.UserID != "" {
		// The returned seats stop counting towards the buyer's per-user limit.
		if err := s.Holds.ForgetBought(ctx, r.EventID, r.UserID, r.SeatIDs); err != nil {
			return err
		}
	}
	if r.Closed {
		return nil
	}
	return s.Holds.Unsold(ctx, r.EventID, domain.Change{Type: domain.ChangeReturned, SeatIDs: r.SeatIDs})
}

// ReleaseBooking returns a booking's seats (internal API, idempotent): ledger and outbox in
// one transaction, then Redis. It reports whether this call released anything.
func (s *Service) ReleaseBooking(ctx context.Context, bookingID uuid.UUID) (ReturnedSeats, bool, error) {
	var res ReturnedSeats
	var changed bool
	err := s.Store.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var err error
		res, changed, err = s.ReturnBookingSeats(ctx, tx, bookingID)
		return err
	})
	if err != nil || !changed {
		return res, changed, err
	}
	if err := s.SyncReturned(context.WithoutCancel(ctx), res); err != nil {
		s.Log.WarnContext(ctx, "release: redis update failed; the ledger is right", "booking_id", bookingID, "error", err)
	}
	return res, true, nil
}
