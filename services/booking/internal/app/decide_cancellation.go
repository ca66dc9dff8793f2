package app

import (
	"context"

	"github.com/google/uuid"

	"evently.dev/libs/assertion"

	"evently.dev/services/booking/internal/domain"
)

// ApproveCancellation applies a PENDING request with the refund judged when it was made.
func (s *Service) ApproveCancellation(ctx context.Context, admin assertion.Identity, id uuid.UUID, note string) (domain.Booking, domain.Cancellation, error) {
	return s.decide(ctx, admin, id, note, true)
}

// RejectCancellation closes a PENDING request; the booking stays CONFIRMED.
func (s *Service) RejectCancellation(ctx context.Context, admin assertion.Identity, id uuid.UUID, note string) (domain.Booking, domain.Cancellation, error) {
	return s.decide(ctx, admin, id, note, false)
}

// decide locks the booking before the cancellation, the same order every other writer
// uses (cancel, event cancellation), so two of them never deadlock.
func (s *Service) decide(ctx context.Context, admin assertion.Identity, id uuid.UUID, note string, approve bool) (domain.Booking, domain.Cancellation, error) {
	var b domain.Booking
	var c domain.Cancellation
	err := s.Repo.InTx(ctx, func(ctx context.Context, r domain.Repository) error {
		peek, ok, err := r.Cancellation(ctx, id, false)
		if err != nil {
			return err
		}
		if !ok {
			return domain.ErrCancellationNotFound
		}
		if b, ok, err = r.Booking(ctx, peek.BookingID, true); err != nil {
			return err
		} else if !ok {
			return domain.ErrBookingNotFound
		}
		if c, _, err = r.Cancellation(ctx, id, true); err != nil {
			return err
		}
		if c.Status != domain.CancellationPending {
			return domain.ErrNotPending.WithDetail("the request is %s already", c.Status)
		}
		c.DecidedBy, c.DecisionNote = admin.UserID, note
		if !approve {
			now := s.now()
			c.Status, c.ProcessedAt = domain.CancellationRejected, &now
			return r.UpdateCancellation(ctx, c)
		}
		if err := cancellable(b); err != nil {
			return err
		}
		b, c, err = s.applyCancellation(ctx, r, b, c)
		return err
	})
	if err != nil {
		return domain.Booking{}, domain.Cancellation{}, err
	}
	return b, c, nil
}
