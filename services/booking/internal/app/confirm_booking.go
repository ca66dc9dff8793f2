package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"evently.dev/libs/apperr"
	"evently.dev/libs/contracts"

	"evently.dev/services/booking/internal/domain"
	"evently.dev/services/booking/internal/payment"
)

// maxRefAttempts bounds redraws of a colliding booking reference (31^6 a day makes even
// one collision rare).
const maxRefAttempts = 8

// ConfirmBooking turns a user's hold into a CONFIRMED booking with one write on the happy
// path: inventory commits the hold first (its ledger is the truth and refuses a second
// sale), then the booking row and booking.confirmed are written in one transaction, shared
// with other buyers' confirmations under load (see writeConfirmed).
//
// What keeps the promise "a committed hold ends in exactly one CONFIRMED booking":
//   - the booking row is keyed by (hold, user), and every path inserts with ON CONFLICT DO
//     NOTHING, so however many requests, retries or reconcilers race, one row wins;
//   - inventory answers a repeated commit of the same user's hold with the recorded sale and
//     its booking id, so every racer writes the same booking;
//   - if the process dies between inventory's commit and the booking write, the seats.sold
//     event inventory wrote in the commit's own transaction reaches RecordSale, which writes
//     the booking (see events.Handlers.Inventory).
//
// The order with the payment provider: inventory's commit first, then the charge, then the
// booking write. Charging first would take money for seats that may be gone; committing
// first means a charge that fails must be undone. A transient charge failure (provider
// unreachable) leaves the sale without a booking and answers 503: the request's retry, or
// else the seats.sold reconciler, charges again — the provider is idempotent by booking id,
// so a repeat never takes the money twice. A definite decline (payment.ErrDeclined) is
// compensated: the booking is stored FAILED (402 payment_declined) together with a
// booking.cancelled (reason PAYMENT_DECLINED) in one transaction, on which inventory
// returns the seats to sale and announces seats.released, so catalog's availability and
// analytics follow the ledger; no booking.confirmed was ever written for it.
//
// A repeat of the request (same hold, or same Idempotency-Key) returns the same booking with
// created=false. A refused commit is recorded as a FAILED booking so that a retry answers
// the same. When inventory cannot be reached nothing is written and the caller gets 503:
// retrying the same request is safe.
func (s *Service) ConfirmBooking(ctx context.Context, userID string, req domain.ConfirmRequest) (domain.Booking, bool, error) {
	if req.IdempotencyKey != "" {
		// A key names one request: a key already used for another hold is refused before
		// anything is sold. Without a key, a repeat is recognised by the hold further on
		// (inventory replays the sale; the write finds the booking), which saves a read on
		// every first confirmation.
		b, ok, err := s.Repo.BookingByKeyOrHold(ctx, userID, req.IdempotencyKey, req.HoldID)
		if err != nil {
			return domain.Booking{}, false, err
		}
		if ok {
			return s.repeat(ctx, b, req)
		}
	}
	id, err := uuid.NewV7()
	if err != nil {
		return domain.Booking{}, false, fmt.Errorf("new booking id: %w", err)
	}
	// Inventory checks event_id against the hold before selling: no extra round trip.
	c, err := s.Inventory.Commit(ctx, req.HoldID, id, userID, req.EventID)
	var refused *domain.InventoryRefusal
	switch {
	case errors.As(err, &refused) && refused.Code == domain.ErrEventMismatch.Code:
		return domain.Booking{}, false, domain.ErrEventMismatch
	case errors.As(err, &refused):
		return s.recordRefusal(ctx, userID, req, id, refused)
	case err != nil:
		s.Log.WarnContext(ctx, "confirm: inventory commit failed; nothing recorded", "hold_id", req.HoldID, "error", err)
		return domain.Booking{}, false, domain.ErrInventoryUnavailable.Wrap(err)
	}
	// A twin request (or an earlier try whose answer was lost) may own the sale: its booking
	// id is the one to write. When its booking is written already, this is a plain repeat:
	// answer it without charging or writing again (a repeat without Idempotency-Key is only
	// recognised here, after inventory replayed the sale).
	if c.BookingID != id {
		if b, ok, err := s.Repo.BookingByHold(ctx, userID, req.HoldID); err != nil {
			return domain.Booking{}, false, err
		} else if ok {
			return s.repeat(ctx, b, req)
		}
	}
	b, err := s.confirmedBooking(ctx, c, req.IdempotencyKey, req.PaymentMethod)
	if errors.Is(err, payment.ErrDeclined) {
		return s.recordDecline(ctx, b, req)
	}
	if err != nil {
		return domain.Booking{}, false, err
	}
	stored, inserted, err := s.writeConfirmed(ctx, b)
	if err != nil {
		return domain.Booking{}, false, err
	}
	switch {
	case inserted:
		return stored, true, failureError(stored)
	case c.BookingID == id:
		// This request made the sale, but the seats.sold reconciler (or a twin request)
		// wrote the booking a moment before this write. A reconciler's booking is still this
		// request's new booking: claim it, with what only the request knows.
		claimed, ok, err := s.claimReconciled(ctx, stored, req)
		if err != nil {
			return domain.Booking{}, false, err
		}
		if ok {
			return claimed, true, failureError(claimed)
		}
	}
	return s.repeat(ctx, stored, req)
}

// claimReconciled claims a booking the reconciler wrote for this request (see
// Repository.ClaimReconciled). A key another booking uses already stays off.
func (s *Service) claimReconciled(ctx context.Context, b domain.Booking, req domain.ConfirmRequest) (domain.Booking, bool, error) {
	if !b.Reconciled {
		return b, false, nil
	}
	claimed, ok, err := s.Repo.ClaimReconciled(ctx, b.ID, req.IdempotencyKey, req.PaymentMethod)
	if errors.Is(err, domain.ErrDuplicateKey) {
		claimed, ok, err = s.Repo.ClaimReconciled(ctx, b.ID, "", req.PaymentMethod)
	}
	return claimed, ok, err
}

// RecordSales notes sales inventory announced (seats.sold), a consumer batch's in one
// statement, for ReconcileSales to check once they are older than the grace period; r is
// the consumer's transaction. Checking at once would race the request that is still
// writing its booking.
func (s *Service) RecordSales(ctx context.Context, r domain.Repository, cs []domain.Commit) error {
	return r.NoteSales(ctx, cs)
}

// ReconcileSales writes the bookings of noted sales older than grace whose request died
// between inventory's commit and the booking write, and forgets the others; it returns
// how many bookings it wrote. Sales with their booking are settled in one statement.
func (s *Service) ReconcileSales(ctx context.Context, grace time.Duration, limit int) (int, error) {
	olderThan := s.now().Add(-grace)
	if _, err := s.Repo.SettleSales(ctx, olderThan); err != nil {
		return 0, err
	}
	// Read without holding the rows: the charge below may take the provider's time, and
	// no transaction or lock may wait on it. Two replicas reconciling the same sale is
	// safe: the charge is idempotent by booking id and the booking is written once.
	sales, err := s.Repo.UnbookedSales(ctx, olderThan, limit)
	if err != nil {
		return 0, err
	}
	written := 0
	var failed error
	for _, c := range sales {
		created, err := s.reconcileSale(ctx, c)
		if err != nil {
			// One sale that cannot be finished now (provider or database down) must not
			// hold back the others: it is tried again next pass.
			s.Log.WarnContext(ctx, "sale not reconciled yet", "hold_id", c.HoldID, "booking_id", c.BookingID, "error", err)
			failed = errors.Join(failed, err)
			continue
		}
		if created {
			written++
		}
	}
	return written, failed
}

// reconcileSale charges and writes the booking of one noted sale in a transaction of its
// own (a declined charge writes it FAILED, which releases the seats), then forgets the
// sale. It reports whether it wrote a new booking.
func (s *Service) reconcileSale(ctx context.Context, c domain.Commit) (created bool, err error) {
	b, err := s.confirmedBooking(ctx, c, "", domain.DefaultPaymentMethod)
	declined := errors.Is(err, payment.ErrDeclined)
	if err != nil && !declined {
		return false, err
	}
	err = s.Repo.InTx(ctx, func(ctx context.Context, r domain.Repository) error {
		if declined {
			if _, err := s.writeDeclined(ctx, r, b); err != nil {
				return err
			}
			return r.ForgetSale(ctx, c)
		}
		b.Reconciled = true
		var err error
		if _, created, err = s.writeOne(ctx, r, b); err != nil {
			return err
		}
		return r.ForgetSale(ctx, c)
	})
	if created && err == nil {
		s.Log.WarnContext(ctx, "booking written from seats.sold: its request did not finish",
			"booking_id", b.ID, "hold_id", b.HoldID)
	}
	return created && err == nil, err
}

// RunSalesReconciler runs ReconcileSales every interval until ctx ends.
func (s *Service) RunSalesReconciler(ctx context.Context, interval, grace time.Duration, limit int) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if _, err := s.ReconcileSales(ctx, grace, limit); err != nil && ctx.Err() == nil {
			s.Log.WarnContext(ctx, "sales reconcile pass failed", "error", err)
		}
	}
}

// confirmedBooking builds the CONFIRMED booking of a committed sale, charging the payment
// provider (idempotent by booking id).
func (s *Service) confirmedBooking(ctx context.Context, c domain.Commit, key, method string) (domain.Booking, error) {
	now := s.now()
	b := domain.Booking{ID: c.BookingID, UserID: c.UserID, HoldID: c.HoldID, IdempotencyKey: key,
		EventID: c.EventID, Seats: c.Seats, TotalAmount: c.TotalAmount, Currency: c.Currency,
		Status: domain.StatusConfirmed, Version: 1, CreatedAt: now, UpdatedAt: now, ConfirmedAt: &now,
		Payment: domain.Payment{Provider: s.Payments.Name(), Method: method}}
	if b.Seats == nil {
		b.Seats = []domain.Seat{}
	}
	receipt, err := s.Payments.Charge(ctx, paymentCharge(b, c))
	if errors.Is(err, payment.ErrDeclined) {
		return b, err
	}
	if err != nil {
		return b, domain.ErrBookingPending.Wrap(fmt.Errorf("charge: %w", err))
	}
	paidAt := receipt.PaidAt.UTC()
	b.Payment.Status, b.Payment.Amount, b.Payment.Currency = domain.PaymentCompleted, c.TotalAmount, c.Currency
	b.Payment.TransactionID, b.Payment.PaidAt = receipt.TransactionID, &paidAt
	if b.Ref, err = domain.NewBookingRef(now); err != nil {
		return b, err
	}
	return b, nil
}

// recordDecline compensates a sale whose charge was declined: the booking is stored
// FAILED with booking.cancelled (see writeDeclined), and the client gets 402. When a twin
// request stored the booking first, its outcome is answered instead.
func (s *Service) recordDecline(ctx context.Context, b domain.Booking, req domain.ConfirmRequest) (domain.Booking, bool, error) {
	s.Log.InfoContext(ctx, "confirm: payment declined; releasing the sold seats", "booking_id", b.ID, "hold_id", b.HoldID)
	var created bool
	err := s.Repo.InTx(ctx, func(ctx context.Context, r domain.Repository) error {
		var err error
		b, err = s.writeDeclined(ctx, r, b)
		created = err == nil
		return err
	})
	if errors.Is(err, domain.ErrDuplicateHold) || errors.Is(err, domain.ErrDuplicateKey) {
		existing, ok, ferr := s.Repo.BookingByKeyOrHold(ctx, b.UserID, req.IdempotencyKey, req.HoldID)
		if ferr != nil || !ok {
			return domain.Booking{}, false, errors.Join(err, ferr)
		}
		return s.repeat(ctx, existing, req)
	}
	if err != nil {
		return domain.Booking{}, false, err
	}
	return b, created, failureError(b)
}

// writeDeclined stores b, a sold booking whose charge was declined, as FAILED and
// publishes booking.cancelled (PAYMENT_DECLINED) in r's transaction, so inventory returns
// its seats. ErrDuplicateHold or ErrDuplicateKey when the booking exists already.
func (s *Service) writeDeclined(ctx context.Context, r domain.Repository, b domain.Booking) (domain.Booking, error) {
	now := s.now()
	b.Status, b.ConfirmedAt, b.UpdatedAt = domain.StatusFailed, nil, now
	b.Failure = &domain.Failure{Code: domain.ErrPaymentDeclined.Code, Status: 402, Detail: domain.ErrPaymentDeclined.Detail}
	b.Payment = domain.Payment{Provider: b.Payment.Provider, Method: b.Payment.Method}
	if err := insertWithRef(ctx, &b, r.InsertBooking); err != nil {
		return b, err
	}
	return b, r.Publish(ctx, b.EventID.String(), contracts.TypeBookingCancelled, declinedEvent(b, now))
}

// recordRefusal stores a FAILED booking for a refused commit, so that a retry of the same
// request answers the same refusal without asking inventory again.
func (s *Service) recordRefusal(ctx context.Context, userID string, req domain.ConfirmRequest, id uuid.UUID, r *domain.InventoryRefusal) (domain.Booking, bool, error) {
	f := domain.Failure{Code: r.Code, Status: r.Status, Detail: r.Detail}
	if r.Status != 404 && r.Status != 409 {
		// Inventory rejected the request itself (400/422): not the user's fault to fix by
		// changing input, so it is reported as a generic conflict.
		f = domain.Failure{Code: domain.ErrBookingFailed.Code, Status: 409,
			Detail: "the booking could not be confirmed: " + r.Detail}
	}
	now := s.now()
	b := domain.Booking{ID: id, UserID: userID, HoldID: req.HoldID, IdempotencyKey: req.IdempotencyKey,
		Status: domain.StatusFailed, Failure: &f, Seats: []domain.Seat{}, Version: 1, CreatedAt: now, UpdatedAt: now,
		Payment: domain.Payment{Provider: s.Payments.Name(), Method: req.PaymentMethod}}
	err := insertWithRef(ctx, &b, s.Repo.InsertBooking)
	switch {
	case errors.Is(err, domain.ErrDuplicateHold):
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
	return b, true, failureError(b)
}

// insertWithRef runs insert, drawing a new booking reference while the drawn one is taken
// (and a first one when b has none: every stored booking, a FAILED one too, has a ref).
func insertWithRef(ctx context.Context, b *domain.Booking, insert func(context.Context, domain.Booking) error) error {
	if b.Ref == "" {
		ref, err := domain.NewBookingRef(b.CreatedAt)
		if err != nil {
			return err
		}
		b.Ref = ref
	}
	for range maxRefAttempts {
		err := insert(ctx, *b)
		if !errors.Is(err, domain.ErrRefTaken) {
			return err
		}
		if b.Ref, err = domain.NewBookingRef(b.CreatedAt); err != nil {
			return err
		}
	}
	return fmt.Errorf("insert booking: %d booking references in a row were taken", maxRefAttempts)
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

// drive takes a PENDING booking one step: commit in inventory, then CONFIRMED or FAILED.
// It is what both a repeated request and the reconciler run; every step is idempotent.
func (s *Service) drive(ctx context.Context, b domain.Booking) (domain.Booking, error) {
	c, err := s.Inventory.Commit(ctx, b.HoldID, b.ID, b.UserID, uuid.Nil)
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
	if errors.Is(err, payment.ErrDeclined) {
		return s.failDeclined(ctx, b, c)
	}
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
		next.PolicyVersion = policyAtSale(ev)
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

// failDeclined is the compensation of a PENDING booking whose charge was declined: FAILED
// and booking.cancelled (PAYMENT_DECLINED) in one transaction, so inventory returns the
// seats it sold for it.
func (s *Service) failDeclined(ctx context.Context, b domain.Booking, c domain.Commit) (domain.Booking, error) {
	now := s.now()
	f := domain.Failure{Code: domain.ErrPaymentDeclined.Code, Status: 402, Detail: domain.ErrPaymentDeclined.Detail}
	sold := b
	sold.EventID, sold.Seats, sold.TotalAmount, sold.Currency = c.EventID, c.Seats, c.TotalAmount, c.Currency
	err := s.Repo.InTx(ctx, func(ctx context.Context, r domain.Repository) error {
		changed, err := r.MarkFailed(ctx, b.ID, f, now)
		if err != nil || !changed {
			return err
		}
		return r.Publish(ctx, c.EventID.String(), contracts.TypeBookingCancelled, declinedEvent(sold, now))
	})
	if err != nil {
		return b, err
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
	switch b.Failure.Status {
	case 404:
		kind = apperr.KindNotFound
	case 402:
		kind = apperr.KindPaymentRequired
	}
	return apperr.New(kind, b.Failure.Code, b.Failure.Detail).WithExtra("booking_id", b.ID.String())
}
