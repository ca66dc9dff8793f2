package app

import (
	"context"
	"time"

	"github.com/google/uuid"

	"evently.dev/libs/contracts"

	"evently.dev/services/inventory/internal/domain"
)

// expiredNamespace derives hold.expired event ids from hold ids, so announcing one hold
// twice (a re-claimed lease) writes one outbox row and consumers see one ce_id.
var expiredNamespace = uuid.MustParse("0193a3c2-5b0e-7c3e-9a51-6f1c2d7e8a90")

// ExpiredEventID is the ce_id of a hold's hold.expired event.
func ExpiredEventID(holdID string) string {
	return uuid.NewSHA1(expiredNamespace, []byte("hold.expired/"+holdID)).String()
}

const (
	sweepBatch  = 200
	sweepLease  = 30 * time.Second
	sweepEvents = 1000
)

// RunSweeper announces lapsed holds every HOLD_SWEEP_INTERVAL until ctx ends. Every
// replica may run it: the claim script gives each lapsed hold to one sweeper.
func (s *Service) RunSweeper(ctx context.Context) error {
	t := time.NewTicker(s.Cfg.Hold.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if _, err := s.SweepOnce(ctx); err != nil && ctx.Err() == nil {
			s.Log.WarnContext(ctx, "hold sweep failed", "error", err)
		}
	}
}

// SweepOnce claims lapsed holds of every event with live holds, writes hold.expired for
// each through the outbox, and only then forgets them. It returns how many it announced.
func (s *Service) SweepOnce(ctx context.Context) (int, error) {
	evs, err := s.Holds.LiveEvents(ctx, sweepEvents)
	if err != nil {
		return 0, err
	}
	total := 0
	for _, ev := range evs {
		for {
			claimed, err := s.Holds.ClaimExpired(ctx, ev.EventID, sweepBatch, sweepLease)
			if err != nil {
				return total, err
			}
			if len(claimed) == 0 {
				if err := s.Holds.DropIfIdle(ctx, ev); err != nil {
					return total, err
				}
				break
			}
			if err := s.announceExpired(ctx, claimed); err != nil {
				return total, err // leases lapse and another pass retries
			}
			if err := s.Holds.AckExpired(ctx, ev.EventID, claimed); err != nil {
				return total, err
			}
			total += len(claimed)
			if len(claimed) < sweepBatch {
				break
			}
		}
	}
	return total, nil
}

// announceExpired writes one hold.expired per claimed hold in one transaction; rows already
// written by an earlier, interrupted claim are skipped.
func (s *Service) announceExpired(ctx context.Context, claimed []domain.ExpiredHold) error {
	return s.Ledger.InTx(ctx, func(ctx context.Context, l domain.Ledger) error {
		for _, x := range claimed {
			if x.Hold == nil {
				s.Log.WarnContext(ctx, "lapsed hold has no record left (redis flushed?); not announced", "hold_id", x.HoldID)
				continue
			}
			id := ExpiredEventID(x.HoldID)
			exists, err := l.Published(ctx, id)
			if err != nil {
				return err
			}
			if exists {
				continue
			}
			h := x.Hold
			s.note(h.EventID, h.SeatIDs(), stateAvailable)
			// A twin sweeper racing on a re-claimed hold makes this a unique violation: the
			// batch rolls back, its leases lapse, and the next pass skips the rows that exist.
			if err := l.Publish(ctx, domain.Message{ID: id, Key: h.EventID.String(), Type: contracts.TypeHoldExpired,
				Payload: contracts.HoldExpired{HoldID: x.HoldID, EventID: h.EventID.String(), UserID: h.UserID,
					SeatIDs: h.SeatIDs(), Purpose: h.Purpose, ExpiredAt: x.ExpiredAt}}); err != nil {
				return err
			}
		}
		return nil
	})
}
