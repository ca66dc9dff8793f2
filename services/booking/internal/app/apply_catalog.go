package app

import (
	"context"

	"github.com/google/uuid"

	"evently.dev/libs/contracts"

	"evently.dev/services/booking/internal/domain"
)

// eventCancelBatch bounds how many bookings one query locks while an event is cancelled.
const eventCancelBatch = 500

// SaveEventFacts records catalog's facts about an event in the read model (in r, the
// consumer's transaction).
func (s *Service) SaveEventFacts(ctx context.Context, r domain.Repository, e domain.Event) error {
	return r.SaveEventFacts(ctx, e)
}

// SavePolicy records a policy version in the read model.
func (s *Service) SavePolicy(ctx context.Context, r domain.Repository, e domain.Event) error {
	return r.SavePolicy(ctx, e)
}

// CancelEvent applies event.cancelled in the consumer's transaction: the event becomes
// CANCELLED (locking its row, so confirms in flight serialise with this) and every
// CONFIRMED booking of it is cancelled with a full refund and its own booking.cancelled;
// a pending cancellation request of such a booking is rejected as superseded. It returns
// how many bookings it cancelled.
func (s *Service) CancelEvent(ctx context.Context, r domain.Repository, eventID uuid.UUID, reason string) (int, error) {
	if err := r.MarkEventCancelled(ctx, eventID); err != nil {
		return 0, err
	}
	if reason == "" {
		reason = "the event was cancelled"
	}
	total := 0
	for {
		batch, err := r.ConfirmedOfEvent(ctx, eventID, eventCancelBatch)
		if err != nil {
			return total, err
		}
		for _, b := range batch {
			now := s.now()
			if p, ok, err := r.PendingCancellation(ctx, b.ID); err != nil {
				return total, err
			} else if ok {
				p.Status, p.ProcessedAt, p.DecisionNote = domain.CancellationRejected, &now,
					"superseded: the event was cancelled and the booking refunded in full"
				if err := r.UpdateCancellation(ctx, p); err != nil {
					return total, err
				}
			}
			if _, _, err := s.applyCancellation(ctx, r, b, fullRefund(b, contracts.CancelEventCancelled, reason, now)); err != nil {
				return total, err
			}
			total++
		}
		if len(batch) < eventCancelBatch {
			return total, nil
		}
	}
}
