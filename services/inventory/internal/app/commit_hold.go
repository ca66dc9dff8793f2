package app

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/google/uuid"

	"evently.dev/libs/contracts"
	"evently.dev/libs/groupcommit"
	"evently.dev/libs/kafka"

	"evently.dev/services/inventory/internal/domain"
)

// CommitHold turns a live hold into sold seats for a booking (booking → inventory). The
// ledger decides: one transaction flips exactly the hold's seats AVAILABLE → SOLD, records
// the commit and writes seats.sold to the outbox, or changes nothing. Only afterwards is
// Redis told. Retries with the same hold answer the recorded commit (replayed true), even
// after the hold is gone from Redis; so does a second booking attempt of the same user for
// the same hold, which learns the booking id that owns the sale.
//
// Concurrent commits are coalesced (see commitBatch): under a rush one transaction carries
// many buyers' sales, each still all-or-nothing. The commits table is read only when the
// sale cannot go ahead (hold gone, seats not AVAILABLE, or a unique clash on hold or
// booking), not up front: a first commit, the common case, costs no extra query.
//
// eventID, when not nil, is the event the caller expects the hold to be of: a hold of
// another event is refused (ErrEventMismatch) before anything is sold.
func (s *Service) CommitHold(ctx context.Context, holdID, bookingID uuid.UUID, userID string, eventID uuid.UUID) (domain.Commit, bool, error) {
	h, found, err := s.Holds.Find(ctx, userID, holdID)
	if err != nil {
		return domain.Commit{}, false, err
	}
	if !found || !h.ExpiresAt.After(s.Now()) {
		// Committed already (by this request's earlier try or a twin), or truly gone.
		c, ok, err := s.recordedCommit(ctx, holdID, bookingID, userID)
		if ok && eventID != uuid.Nil && c.EventID != eventID {
			return domain.Commit{}, false, domain.ErrEventMismatch
		}
		if ok || err != nil {
			return c, ok, err
		}
		return domain.Commit{}, false, domain.ErrHoldExpired
	}
	if eventID != uuid.Nil && h.EventID != eventID {
		return domain.Commit{}, false, domain.ErrEventMismatch
	}
	c := domain.Commit{HoldID: holdID, BookingID: bookingID, EventID: h.EventID, UserID: userID, Seats: h.Seats,
		TotalAmount: h.TotalAmount, Currency: h.Currency, CommittedAt: s.Now().UTC().Truncate(time.Microsecond)} // PostgreSQL keeps µs: a replay must answer the same instant
	out, err := s.commits.Do(ctx, sale{hold: h, commit: c, trace: kafka.TraceHeaders(ctx)})
	if err != nil {
		return domain.Commit{}, false, err
	}
	s.note(h.EventID, h.SeatIDs(), stateSold)
	if !out.replayed {
		// The sale is final; Redis only catches up. If this fails the hold lapses on its own
		// and the sold set is rebuilt from the ledger when missing, so log and answer success.
		if err := s.Holds.CommitCleanup(context.WithoutCancel(ctx), h.EventID, holdID, userID, h.SeatIDs()); err != nil {
			s.Log.WarnContext(ctx, "commit: redis cleanup failed", "hold_id", holdID, "error", err)
		}
	}
	return out.commit, out.replayed, nil
}

// sale is one commit waiting for the group committer.
type sale struct {
	hold   domain.Hold
	commit domain.Commit
	// trace is the requesting span's context, carried onto the sale's seats.sold event.
	trace map[string]string
}

// saleResult is what the committer answers for one sale.
type saleResult struct {
	commit   domain.Commit
	replayed bool
}

// newCommitter starts the group committer of sales.
func (s *Service) newCommitter() *groupcommit.Committer[sale, saleResult] {
	return groupcommit.New(groupcommit.Options[sale, saleResult]{
		Batch:  s.commitBatch,
		Single: s.commitOne,
		// commitBatch costs half the round trips of commitOne, so a lone sale takes it too.
		LoneBatch: true,
		MaxBatch:  s.Cfg.Commit.MaxBatch,
		Workers:   s.Cfg.Commit.Workers,
		OnBatch: func(size int, fellBack bool) {
			s.metrics.batch(size, fellBack)
			if s.OnCommitBatch != nil {
				s.OnCommitBatch(size, fellBack)
			}
		},
	})
}

// Close stops the group committer after the sales already queued.
func (s *Service) Close() { s.commits.Close() }

// commitOne sells one hold in a transaction of its own, with the precise answers a batch
// cannot give: a twin that committed first, or which seats the ledger refused.
func (s *Service) commitOne(ctx context.Context, in sale) (saleResult, error) {
	h, c := in.hold, in.commit
	ids := h.SeatIDs()
	err := s.Ledger.InTx(ctx, func(ctx context.Context, l domain.Ledger) error {
		n, err := l.SellSeats(ctx, h.EventID, c.BookingID, ids)
		if err != nil {
			return err
		}
		if n != len(ids) {
			// A concurrent retry of this very commit may have sold the seats while this
			// statement waited for their row locks: it committed, so its record is visible now.
			if _, found, err := l.FindCommit(ctx, c.HoldID, c.BookingID); err != nil || found {
				if err == nil {
					err = errRaceLost
				}
				return err
			}
			taken, err := l.UnsellableSeats(ctx, h.EventID, c.BookingID, ids)
			if err != nil {
				return err
			}
			return domain.ErrSeatsTaken.WithDetail("the ledger refused the sale: seats %v are not available", taken).
				WithExtra("conflicting_seat_ids", taken)
		}
		if err := l.InsertCommit(ctx, c); err != nil {
			return err
		}
		delta := map[string]int{}
		for _, st := range h.Seats {
			delta[st.SectionID]++
		}
		counts, err := l.AdjustSold(ctx, h.EventID, c.BookingID, delta)
		if err != nil {
			return err
		}
		return l.Publish(ctx, soldEvent(in.trace, c, counts))
	})
	if err != nil {
		if errors.Is(err, domain.ErrCommitClash) || errors.Is(err, errRaceLost) { // a concurrent twin committed first: answer what it recorded
			if rc, ok, ferr := s.recordedCommit(ctx, c.HoldID, c.BookingID, c.UserID); ok || ferr != nil {
				return saleResult{commit: rc, replayed: ok}, ferr
			}
		}
		return saleResult{}, err
	}
	return saleResult{commit: c}, nil
}

// errBatchRefused rolls a batch back when the ledger did not take every seat of it; the
// sales are then retried one by one, which tells each buyer exactly what happened.
var errBatchRefused = errors.New("ledger refused part of the batch")

// commitBatch sells many holds in one transaction of two statements: one that flips every
// seat, records every commit, counts them into the sold counters and reads the counts back,
// and one INSERT of every seats.sold. Redis already gave each hold its seats exclusively,
// so a refusal is rare (a hold racing its expiry after a Redis loss); it rolls back the
// whole batch and the sales go through commitOne instead. A lone sale comes here too (see
// newCommitter): it is the cheaper path, four round trips instead of eight.
func (s *Service) commitBatch(ctx context.Context, sales []sale) ([]saleResult, error) {
	out := make([]saleResult, len(sales))
	err := s.Ledger.InTx(ctx, func(ctx context.Context, l domain.Ledger) error {
		commits := make([]domain.Commit, len(sales))
		seats := 0
		for i, in := range sales {
			commits[i] = in.commit
			seats += len(in.commit.Seats)
		}
		n, counts, err := l.SellBatch(ctx, commits)
		if err != nil {
			return err
		}
		if n != seats {
			return errBatchRefused
		}
		msgs := make([]domain.Message, len(sales))
		for i, in := range sales {
			msgs[i] = soldEvent(in.trace, in.commit, counts[in.commit.EventID])
			out[i] = saleResult{commit: in.commit}
		}
		return l.Publish(ctx, msgs...)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// soldEvent builds the seats.sold event of a commit; counts are the sections' absolute
// counts as the committing transaction saw them. The event carries the trace of the
// request that caused it, even when a batch of many requests writes it.
func soldEvent(trace map[string]string, c domain.Commit, counts []domain.SectionCount) domain.Message {
	sold := make([]contracts.SoldSeat, len(c.Seats))
	for i, st := range c.Seats {
		sold[i] = contracts.SoldSeat{SeatID: st.SeatID, SectionID: st.SectionID, Price: st.Price, Label: st.Label}
	}
	payload := contracts.SeatsSold{EventID: c.EventID.String(), BookingID: c.BookingID.String(), HoldID: c.HoldID.String(),
		UserID: c.UserID, Seats: sold, TotalAmount: c.TotalAmount, Currency: c.Currency, SoldAt: c.CommittedAt}
	payload.Sections, payload.Capacity, payload.SoldTotal = sectionCounts(counts)
	return domain.Message{Key: c.EventID.String(), Type: contracts.TypeSeatsSold, Payload: payload, Trace: trace}
}

// errRaceLost marks a commit that a concurrent twin made first.
var errRaceLost = errors.New("commit raced by a twin")

// recordedCommit answers a retried commit from the commits table: the same hold and
// booking, or the same hold and user (a second confirm of one hold) → the recorded result;
// the hold with another user's booking, or the booking with another hold → conflict.
func (s *Service) recordedCommit(ctx context.Context, holdID, bookingID uuid.UUID, userID string) (domain.Commit, bool, error) {
	c, ok, err := s.Ledger.FindCommit(ctx, holdID, bookingID)
	if err != nil || !ok {
		return domain.Commit{}, false, err
	}
	switch {
	case c.HoldID == holdID && (c.BookingID == bookingID || c.UserID == userID):
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
// event is cancelled) through l and writes seats.released to the outbox in the same
// transaction. It happens once: a repeat finds no SOLD seats of the booking and changes
// nothing (ok false).
func (s *Service) ReturnBookingSeats(ctx context.Context, l domain.Ledger, bookingID uuid.UUID) (ReturnedSeats, bool, error) {
	rows, err := l.ReturnBookingSeats(ctx, bookingID)
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
	counts, err := l.AdjustSold(ctx, eventID, bookingID, delta)
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
	if err := l.Publish(ctx, domain.Message{Key: eventID.String(), Type: contracts.TypeSeatsReleased, Payload: payload}); err != nil {
		return ReturnedSeats{}, false, err
	}
	buyer, err := l.BookingBuyer(ctx, bookingID)
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
		s.note(r.EventID, r.SeatIDs, stateSold) // closed seats show as sold
		return nil
	}
	s.note(r.EventID, r.SeatIDs, stateAvailable)
	return s.Holds.Unsold(ctx, r.EventID, domain.Change{Type: domain.ChangeReturned, SeatIDs: r.SeatIDs})
}

// ReleaseBooking returns a booking's seats (internal API, idempotent): ledger and outbox in
// one transaction, then Redis. It reports whether this call released anything.
func (s *Service) ReleaseBooking(ctx context.Context, bookingID uuid.UUID) (ReturnedSeats, bool, error) {
	var res ReturnedSeats
	var changed bool
	err := s.Ledger.InTx(ctx, func(ctx context.Context, l domain.Ledger) error {
		var err error
		res, changed, err = s.ReturnBookingSeats(ctx, l, bookingID)
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
