package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"evently.dev/libs/assertion"
	"evently.dev/libs/contracts"

	"evently.dev/services/booking/internal/domain"
	"evently.dev/services/booking/internal/domain/refund"
	"evently.dev/services/booking/internal/payment"
)

// CancelBooking cancels the caller's booking at once under the cancellation policy that was
// in force when it was confirmed (POST /bookings/{id}/cancel): a later policy change never
// changes what an existing booking gets, whenever it reaches this service. A policy that
// needs approval answers 409 pointing to request-cancel.
func (s *Service) CancelBooking(ctx context.Context, caller assertion.Identity, bookingID uuid.UUID, reason string) (domain.Booking, domain.Cancellation, error) {
	return s.cancel(ctx, caller, bookingID, reason, false)
}

// RequestCancellation asks to cancel the caller's booking (POST /bookings/{id}/request-cancel):
// PENDING for an admin when the policy needs approval (the refund judged now is stored and
// applied on approval), otherwise PROCESSED at once.
func (s *Service) RequestCancellation(ctx context.Context, caller assertion.Identity, bookingID uuid.UUID, reason string) (domain.Booking, domain.Cancellation, error) {
	return s.cancel(ctx, caller, bookingID, reason, true)
}

func (s *Service) cancel(ctx context.Context, caller assertion.Identity, bookingID uuid.UUID, reason string, request bool) (domain.Booking, domain.Cancellation, error) {
	var b domain.Booking
	var c domain.Cancellation
	err := s.Repo.InTx(ctx, func(ctx context.Context, r domain.Repository) error {
		var ok bool
		var err error
		b, ok, err = r.Booking(ctx, bookingID, true)
		if err != nil {
			return err
		}
		if !ok || b.UserID != caller.UserID {
			return domain.ErrBookingNotFound
		}
		if err := cancellable(b); err != nil {
			return err
		}
		if _, open, err := r.PendingCancellation(ctx, b.ID); err != nil {
			return err
		} else if open {
			return domain.ErrCancellationOpen
		}
		ev, ok, err := r.Event(ctx, b.EventID)
		if err != nil {
			return err
		}
		if !ok || !ev.Known() {
			return domain.ErrEventUnknown
		}
		policy, err := s.policyOf(ctx, r, b, ev)
		if err != nil {
			return err
		}
		now := s.now()
		q, err := refund.Compute(policy, b.TotalAmount, *ev.StartsAt, now)
		if err != nil {
			return err
		}
		c, err = newCancellation(b, q, contracts.CancelByUser, reason, now)
		if err != nil {
			return err
		}
		if q.RequiresApproval {
			if !request {
				return domain.ErrApprovalRequired
			}
			c.Status = domain.CancellationPending
			return insertCancellation(ctx, r, c)
		}
		b, c, err = s.applyCancellation(ctx, r, b, c)
		return err
	})
	if err != nil {
		return domain.Booking{}, domain.Cancellation{}, err
	}
	return b, c, nil
}

// policyOf is the policy b was sold under: the version recorded at confirmation, or the
// current one when none was recorded (see domain.Booking.PolicyVersion).
func (s *Service) policyOf(ctx context.Context, r domain.Repository, b domain.Booking, ev domain.Event) (*refund.Policy, error) {
	if b.PolicyVersion == nil || *b.PolicyVersion == ev.PolicyVersion {
		return ev.Policy, nil
	}
	if *b.PolicyVersion == 0 {
		return nil, nil // no policy when sold: the default, a full refund
	}
	p, ok, err := r.PolicyVersion(ctx, b.EventID, *b.PolicyVersion)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("booking %s: policy version %d of event %s is not kept", b.ID, *b.PolicyVersion, b.EventID)
	}
	return p, nil
}

func cancellable(b domain.Booking) error {
	switch b.Status {
	case domain.StatusConfirmed:
		return nil
	case domain.StatusCancelled:
		return domain.ErrAlreadyCancelled
	default:
		return domain.ErrNotCancellable.WithDetail("only a confirmed booking can be cancelled; this one is %s", b.Status)
	}
}

func insertCancellation(ctx context.Context, r domain.Repository, c domain.Cancellation) error {
	err := r.InsertCancellation(ctx, c)
	if errors.Is(err, domain.ErrDuplicateOpenCancellation) {
		return domain.ErrCancellationOpen
	}
	return err
}

func newCancellation(b domain.Booking, q refund.Quote, code, reason string, now time.Time) (domain.Cancellation, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return domain.Cancellation{}, fmt.Errorf("new cancellation id: %w", err)
	}
	return domain.Cancellation{ID: id, BookingID: b.ID, UserID: b.UserID, EventID: b.EventID,
		Status: domain.CancellationProcessed, ReasonCode: code, Reason: reason, RefundPercent: q.Percent,
		Fee: q.Fee, Refund: q.Refund, Currency: b.Currency, PolicyVersion: q.PolicyVersion, RequestedAt: now}, nil
}

// fullRefund is the cancellation of a booking whose event was cancelled.
func fullRefund(b domain.Booking, code, reason string, now time.Time) domain.Cancellation {
	c, err := newCancellation(b, refund.Full(b.TotalAmount), code, reason, now)
	if err != nil {
		// uuid.NewV7 fails only if the system's randomness does; fall back to v4.
		c.ID = uuid.New()
	}
	return c
}

// applyCancellation cancels b with c in the caller's transaction: the refund, the booking
// (CANCELLED, version + 1), the cancellation (PROCESSED, inserted or updated) and
// booking.cancelled in the outbox, so inventory releases the seats exactly when the
// cancellation commits.
func (s *Service) applyCancellation(ctx context.Context, r domain.Repository, b domain.Booking, c domain.Cancellation) (domain.Booking, domain.Cancellation, error) {
	receipt, err := s.Payments.Refund(ctx, payment.Refund{BookingID: b.ID, CancellationID: c.ID,
		TransactionID: b.Payment.TransactionID, Amount: c.Refund, Currency: c.Currency})
	if err != nil {
		return b, c, fmt.Errorf("refund booking %s: %w", b.ID, err)
	}
	now := s.now()
	refunded := c.Refund
	rAt := receipt.RefundedAt.UTC()
	b.Status, b.CancelledAt, b.UpdatedAt, b.Version = domain.StatusCancelled, &now, now, b.Version+1
	b.Payment.RefundAmount, b.Payment.RefundTxID, b.Payment.RefundedAt = &refunded, receipt.TransactionID, &rAt
	switch {
	case refunded > 0 && refunded >= b.TotalAmount:
		b.Payment.Status = domain.PaymentRefunded
	case refunded > 0:
		b.Payment.Status = domain.PaymentPartiallyRefunded
	}
	changed, err := r.MarkCancelled(ctx, b)
	if err != nil {
		return b, c, err
	}
	if !changed {
		return b, c, domain.ErrNotCancellable
	}
	wasPending := c.Status == domain.CancellationPending
	c.Status, c.ProcessedAt = domain.CancellationProcessed, &now
	if wasPending {
		err = r.UpdateCancellation(ctx, c)
	} else {
		err = insertCancellation(ctx, r, c)
	}
	if err != nil {
		return b, c, err
	}
	if err := r.Publish(ctx, b.EventID.String(), contracts.TypeBookingCancelled, cancelledEvent(b, c)); err != nil {
		return b, c, err
	}
	return b, c, nil
}
