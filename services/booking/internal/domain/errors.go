package domain

import "evently.dev/libs/apperr"

// Sentinel errors of the booking service; copies made with WithDetail still match them.
var (
	ErrBookingNotFound      = apperr.New(apperr.KindNotFound, "booking_not_found", "no booking of yours has this id")
	ErrCancellationNotFound = apperr.New(apperr.KindNotFound, "cancellation_not_found", "no cancellation of yours has this id")
	ErrHoldExpired          = apperr.New(apperr.KindConflict, "hold_expired", "the hold has expired or does not exist")
	ErrBookingFailed        = apperr.New(apperr.KindConflict, "booking_failed", "the booking could not be confirmed")
	ErrBookingPending       = apperr.New(apperr.KindUnavailable, "booking_pending",
		"the booking is still being confirmed; retry the same request shortly")
	ErrEventMismatch = apperr.New(apperr.KindUnprocessable, "event_mismatch",
		"the hold belongs to another event than event_id")
	ErrIdempotencyKeyReused = apperr.New(apperr.KindUnprocessable, "idempotency_key_reused",
		"this Idempotency-Key was already used for another hold")
	ErrNotCancellable = apperr.New(apperr.KindConflict, "booking_not_cancellable",
		"only a confirmed booking can be cancelled")
	ErrAlreadyCancelled = apperr.New(apperr.KindConflict, "booking_already_cancelled", "the booking is already cancelled")
	ErrApprovalRequired = apperr.New(apperr.KindConflict, "approval_required",
		"this event's policy requires approval: use POST /api/v1/bookings/{id}/request-cancel")
	ErrCancellationOpen = apperr.New(apperr.KindConflict, "cancellation_already_requested",
		"a cancellation request for this booking is already pending")
	ErrNotPending = apperr.New(apperr.KindConflict, "cancellation_not_pending",
		"only a PENDING cancellation request can be approved or rejected")
	ErrEventUnknown = apperr.New(apperr.KindUnavailable, "event_not_known_yet",
		"the event's details have not reached the booking service yet; retry shortly")
	ErrPaymentDeclined = apperr.New(apperr.KindPaymentRequired, "payment_declined",
		"the payment was declined; nothing was charged and the seats were released")
	ErrInventoryUnavailable = apperr.New(apperr.KindUnavailable, "inventory_unavailable",
		"the seat inventory cannot be reached right now; retry the same request")
)
