package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"evently.dev/libs/apperr"
	"evently.dev/libs/contracts"

	"evently.dev/services/booking/internal/domain"
)

// maxRefAttempts bounds redraws of a colliding booking reference (31^6 a day makes even
// one collision rare).
const maxRefAttempts = 8

// ConfirmBooking is the saga of DESIGN §6: record the booking PENDING (unique per user and
// hold), ask inventory to commit the hold, then CONFIRMED with booking.confirmed in the
// same transaction, or FAILED with inventory's reason. A repeat of the request (same hold,
// or same Idempotency-Key) returns the same booking with created=false, finishing it first
// if it is still PENDING. When inventory cannot be reached the booking stays PENDING and
// the caller gets 503: a retry or the reconciler completes it.
func (s *Service) ConfirmBooking(ctx context.Context, userID string, req domain.ConfirmRequest) (domain.Booking, bool, error) {
	b, ok, err := s.Repo.BookingByKeyOrHold(ctx, userID, req.IdempotencyKey, req.HoldID)
	if err != nil {
		return domain.Booking{}, false, err
	}
	if ok {
		return s.repeat(ctx, b, req)
	}
	if req.EventID != uuid.Nil {
		if err := s.checkHoldEvent(ctx, userID, req); err != nil {
			return domain.Booking{}, false, err
		}
	}
	b, err = s.insertPending(ctx, userID, req)
	switch {
	case errors.Is(err, domain.ErrDuplicateHold):
		// A concurrent request for the same hold won the insert: answer its booking.
		existing, ok, ferr := s.Repo.BookingByHold(ctx, userID, req.HoldID)
		if ferr != nil || !ok {
			return domain.Booking{}, false, errors.Join(err, ferr)
		}
		return s.repeat(ctx, existing, req)
	case errors.Is(err, domain.ErrDuplicateKey):
		existing, ok, ferr := s.Repo.BookingByKey(ctx, userID, req.IdempotencyKey)
		if ferr != nil || !ok {
			return domain.Booking{}, false, errors.Join(err, ferr)
		}
		return s.repeat(ctx, existing, req)
	case err != nil:
		return domain.Booking{}, false, err
	}
	b, err = s.drive(ctx, b)
	return b, true, err
}

// repeat answers a request that found its booking already recorded.
func (s *Service) repeat(ctx context.Context, b domain.Booking, req domain.ConfirmRequest) (domain.Booking, bool, error) {
	if b.HoldID != req.HoldID {
		return domain.Booking{}, false, domain.ErrIdempotencyKeyReused
	}
	if req.EventID != uuid.Nil && b.EventID != uuid.Nil && b.EventID != req.EventID {
		return domain.Booking{}, false, domain.ErrEventMismatch
	}
	if b.Status == domain.StatusPending {
		b, err := s.drive(ctx, b)
		return b, false, err
	}
	return b, false, failureError(b)
}

// checkHoldEvent refuses a request whose event_id is not the hold's event before anything
// is sold. A hold inventory cannot find is left to commit, which answers for it.
func (s *Service) checkHoldEvent(ctx context.Context, userID string, req domain.ConfirmRequest) error {
	h, err := s.Inventory.Hold(ctx, req.HoldID, userID)
	var refused *domain.InventoryRefusal
	switch {
	case errors.As(err, &refused):
		return nil
	case err != nil:
		return domain.ErrInventoryUnavailable.Wrap(err)
	case h.EventID != req.EventID:
		return domain.ErrEventMismatch
	}
	return nil
}

func (s *Service) insertPending(ctx context.Context, userID string, req domain.ConfirmRequest) (domain.Booking, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return domain.Booking{}, fmt.Errorf("new booking id: %w", err)
	}
	now := s.now()
	b := domain.Booking{ID: id, UserID: userID, HoldID: req.HoldID, IdempotencyKey: req.IdempotencyKey,
		Status: domain.StatusPending, Seats: []domain.Seat{}, Version: 1, CreatedAt: now, UpdatedAt: now,
		Payment: domain.Payment{Provider: s.Payments.Name(), Method: req.PaymentMethod}}
	for range maxRefAttempts {
		if b.Ref, err = domain.NewBookingRef(now); err != nil {
			return domain.Booking{}, err
		}
		err = s.Repo.InsertBooking(ctx, b)
		if !errors.Is(err, domain.ErrRefTaken) {
			return b, err
		}
	}
	return domain.Booking{}, fmt.Errorf("insert booking: %d booking references in a row were taken", maxRefAttempts)
}

// drive takes a PENDING booking one step: commit in inventory, then CONFIRMED or FAILED.
// It is what both a repeated request and the reconciler run; every step is idempotent.
func (s *Service) drive(ctx context.Context, b domain.Booking) (domain.Booking, error) {
	c, err := s.Inventory.Commit(ctx, b.HoldID, b.ID, b.UserID)
	var refused *domain.InventoryRefusal
	switch {
	case errors.As(err, &refused):
		return s.fail(ctx, b, refused)
	case err != nil:
		s.Log.WarnContext(ctx, "confirm: inventory commit failed; booking stays PENDING",
			"booking_id", b.ID, "hold_id", b.HoldID, "error", err)
		return b, domain.ErrBookingPending.Wrap(err)
	}
	return s.confirm(ctx, b, c)
}

func (s *Service) fail(ctx context.Context, b domain.Booking, r *domain.InventoryRefusal) (domain.Booking, error) {
	f := domain.Failure{Code: r.Code, Status: r.Status, Detail: r.Detail}
	if r.Status != 404 && r.Status != 409 {
		// Inventory rejected the request itself (400/422): not the user's fault to fix by
		// changing input, so it is reported as a generic conflict.
		f = domain.Failure{Code: domain.ErrBookingFailed.Code, Status: 409,
			Detail: "the booking could not be confirmed: " + r.Detail}
	}
	if _, err := s.Repo.MarkFailed(ctx, b.ID, f, s.now()); err != nil {
		return b, err
	}
	return s.reread(ctx, b)
}

// confirm records a committed sale: the payment, CONFIRMED and booking.confirmed in one
// transaction. The event row is share-locked first so that an event cancellation being
// applied concurrently either sees this booking or is seen by it; in the second case the
// booking is refunded in full at once.
func (s *Service) confirm(ctx context.Context, b domain.Booking, c domain.Commit) (domain.Booking, error) {
	receipt, err := s.Payments.Charge(ctx, paymentCharge(b, c))
	if err != nil {
		return b, domain.ErrBookingPending.Wrap(fmt.Errorf("charge: %w", err))
	}
	now := s.now()
	paidAt := receipt.PaidAt.UTC()
	next := b
	next.EventID, next.Seats, next.TotalAmount, next.Currency = c.EventID, c.Seats, c.TotalAmount, c.Currency
	next.Status, next.ConfirmedAt, next.UpdatedAt = domain.StatusConfirmed, &now, now
	next.Payment.Status, next.Payment.Amount, next.Payment.Currency = domain.PaymentCompleted, c.TotalAmount, c.Currency
	next.Payment.TransactionID, next.Payment.PaidAt = receipt.TransactionID, &paidAt
	var changed bool
	err = s.Repo.InTx(ctx, func(ctx context.Context, r domain.Repository) error {
		ev, err := r.LockEventShared(ctx, c.EventID)
		if err != nil {
			return err
		}
		// The policy in force now is the one every later cancellation is judged under.
		pv := ev.PolicyVersion
		next.PolicyVersion = &pv
		if changed, err = r.MarkConfirmed(ctx, next); err != nil || !changed {
			return err
		}
		if err := r.Publish(ctx, c.EventID.String(), contracts.TypeBookingConfirmed, confirmedEvent(next)); err != nil {
			return err
		}
		if ev.Status == domain.EventCancelled {
			next, _, err = s.applyCancellation(ctx, r, next, fullRefund(next, contracts.CancelEventCancelled,
				"the event was cancelled", now))
		}
		return err
	})
	if err != nil {
		return b, err
	}
	if changed {
		return next, failureError(next)
	}
	return s.reread(ctx, b)
}

// reread returns the booking as stored after a conditional update, whether it won or
// lost a race with another request or the reconciler finishing the same booking.
func (s *Service) reread(ctx context.Context, b domain.Booking) (domain.Booking, error) {
	cur, ok, err := s.Repo.Booking(ctx, b.ID, false)
	if err != nil {
		return b, err
	}
	if !ok {
		return b, fmt.Errorf("booking %s vanished", b.ID)
	}
	return cur, failureError(cur)
}

// failureError turns a FAILED booking into the problem its client sees; nil otherwise.
func failureError(b domain.Booking) error {
	if b.Status != domain.StatusFailed || b.Failure == nil {
		return nil
	}
	kind := apperr.KindConflict
	if b.Failure.Status == 404 {
		kind = apperr.KindNotFound
	}
	return apperr.New(kind, b.Failure.Code, b.Failure.Detail).WithExtra("booking_id", b.ID.String())
}
