package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"evently.dev/libs/contracts"
	"evently.dev/libs/groupcommit"
	"evently.dev/libs/kafka"

	"evently.dev/services/booking/internal/domain"
)

// written is the group committer's answer for one confirmed booking: the booking as stored
// and whether this write created it.
type written struct {
	booking domain.Booking
	created bool
}

// pendingWrite is one confirmed booking waiting for the group committer, with the trace
// of the request that made it.
type pendingWrite struct {
	booking domain.Booking
	trace   map[string]string
}

// newWriter starts the group committer of confirmed bookings.
func (s *Service) newWriter(maxBatch, workers int) *groupcommit.Committer[pendingWrite, written] {
	return groupcommit.New(groupcommit.Options[pendingWrite, written]{
		Batch: s.writeBatch,
		Single: func(ctx context.Context, w pendingWrite) (written, error) {
			b, created, err := s.writeOne(ctx, s.Repo, w.booking)
			return written{booking: b, created: created}, err
		},
		MaxBatch: maxBatch,
		Workers:  workers,
		OnBatch: func(size int, fellBack bool) {
			if s.OnWriteBatch != nil {
				s.OnWriteBatch(size, fellBack)
			}
		},
	})
}

// writeConfirmed stores a confirmed booking with booking.confirmed, coalesced with other
// requests' writes into one transaction under load. When the user's booking of the hold
// exists already it answers that one with created=false.
func (s *Service) writeConfirmed(ctx context.Context, b domain.Booking) (domain.Booking, bool, error) {
	w, err := s.writer.Do(ctx, pendingWrite{booking: b, trace: kafka.TraceHeaders(ctx)})
	if err != nil {
		return domain.Booking{}, false, err
	}
	if w.created {
		return w.booking, true, nil
	}
	existing, ok, err := s.Repo.BookingByHold(ctx, b.UserID, b.HoldID)
	if err != nil {
		return domain.Booking{}, false, err
	}
	if !ok {
		return domain.Booking{}, false, fmt.Errorf("booking of hold %s vanished", b.HoldID)
	}
	return existing, false, nil
}

// writeOne stores one confirmed booking in r's transaction (a new one, or a consumer's):
// the event's row is share-locked first so that an event cancellation being applied
// concurrently either sees this booking or is seen by it; in the second case the booking
// is refunded in full at once. An Idempotency-Key that another hold's booking used already
// does not stop the write: the seats are sold, so the booking is stored without the key.
func (s *Service) writeOne(ctx context.Context, r domain.Repository, b domain.Booking) (domain.Booking, bool, error) {
	var created bool
	err := r.InTx(ctx, func(ctx context.Context, r domain.Repository) error {
		ev, err := r.LockEventShared(ctx, b.EventID)
		if err != nil {
			return err
		}
		// The policy in force now is the one every later cancellation is judged under.
		b.PolicyVersion = policyAtSale(ev)
		insert := func(ctx context.Context, b domain.Booking) error {
			var err error
			created, err = r.InsertConfirmed(ctx, b)
			return err
		}
		err = insertWithRef(ctx, &b, insert)
		if errors.Is(err, domain.ErrDuplicateKey) {
			s.Log.WarnContext(ctx, "confirm: Idempotency-Key already used by another booking; stored without it",
				"booking_id", b.ID, "hold_id", b.HoldID)
			b.IdempotencyKey = ""
			err = insertWithRef(ctx, &b, insert)
		}
		if err != nil || !created {
			return err
		}
		if err := r.Publish(ctx, b.EventID.String(), contracts.TypeBookingConfirmed, confirmedEvent(b)); err != nil {
			return err
		}
		if ev.Status == domain.EventCancelled {
			b, _, err = s.applyCancellation(ctx, r, b, fullRefund(b, contracts.CancelEventCancelled,
				"the event was cancelled", s.now()))
		}
		return err
	})
	if err != nil {
		return domain.Booking{}, false, err
	}
	return b, created, nil
}

// errBatchNeedsSingles sends a batch to the one-by-one path, which handles what a batch
// does not: a cancelled event (refund at once).
var errBatchNeedsSingles = errors.New("batch needs the single path")

// writeBatch stores many confirmed bookings in one transaction with a fixed number of
// statements: share-lock their events, insert every booking, insert every booking.confirmed.
// Any failure (a clashing booking reference or Idempotency-Key, a cancelled event) rolls
// the whole batch back, and its bookings are written one by one instead.
func (s *Service) writeBatch(ctx context.Context, ws []pendingWrite) ([]written, error) {
	out := make([]written, len(ws))
	err := s.Repo.InTx(ctx, func(ctx context.Context, r domain.Repository) error {
		var ids []uuid.UUID
		seen := map[uuid.UUID]bool{}
		bs := make([]domain.Booking, len(ws))
		for i, w := range ws {
			bs[i] = w.booking
			if !seen[w.booking.EventID] {
				seen[w.booking.EventID] = true
				ids = append(ids, w.booking.EventID)
			}
		}
		evs, err := r.LockEventsShared(ctx, ids)
		if err != nil {
			return err
		}
		for _, ev := range evs {
			if ev.Status == domain.EventCancelled {
				return errBatchNeedsSingles
			}
		}
		for i := range bs {
			bs[i].PolicyVersion = policyAtSale(evs[bs[i].EventID])
			ws[i].booking.PolicyVersion = bs[i].PolicyVersion
		}
		inserted, err := r.InsertConfirmedBatch(ctx, bs)
		if err != nil {
			return err
		}
		msgs := make([]domain.Message, 0, len(ws))
		for i, w := range ws {
			out[i] = written{booking: w.booking, created: inserted[i]}
			if inserted[i] {
				msgs = append(msgs, domain.Message{Key: w.booking.EventID.String(), Type: contracts.TypeBookingConfirmed,
					Payload: confirmedEvent(w.booking), Trace: w.trace})
			}
		}
		return r.PublishMany(ctx, msgs)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// policyAtSale is the cancellation-policy version a booking sold now keeps (0: none), or
// nil while booking has not yet learned the event from catalog: a sale right after the
// event is published can reach booking before event.published does, and recording 0 then
// would judge the booking as sold without a policy (a full refund whatever the organiser
// set). A nil version is judged under the event's policy when cancelled, by when it has
// arrived; event.published carries the policy, so a known event always has its own.
func policyAtSale(ev domain.Event) *int {
	if !ev.Known() {
		return nil
	}
	v := ev.PolicyVersion
	return &v
}
