package domain

import "evently.dev/libs/apperr"

// Sentinel errors of the inventory. Handlers render them as problem+json; copies made with
// WithDetail/WithExtra still match them with errors.Is.
var (
	ErrEventNotFound   = apperr.New(apperr.KindNotFound, "event_not_found", "the event does not exist or is not published")
	ErrSeatNotFound    = apperr.New(apperr.KindNotFound, "seat_not_found", "a requested seat does not exist in this event")
	ErrSectionNotFound = apperr.New(apperr.KindNotFound, "section_not_found", "the section does not exist in this event")
	ErrNotOnSale       = apperr.New(apperr.KindConflict, "event_not_on_sale", "the event is not on sale")
	ErrSeatsTaken      = apperr.New(apperr.KindConflict, "seats_unavailable", "some of the requested seats are already held or sold")
	ErrNotEnoughSeats  = apperr.New(apperr.KindConflict, "not_enough_seats", "not enough available seats together in this section")
	ErrHoldLimit       = apperr.New(apperr.KindUnprocessable, "hold_limit_exceeded", "this would exceed the event's per-user seat limit")
	ErrHoldNotFound    = apperr.New(apperr.KindNotFound, "hold_not_found", "no live hold of yours has this id")
	// ErrHoldExpired covers both a lapsed hold and an id that never existed: once a hold's
	// keys are gone from Redis the two cannot be told apart, so commit answers 409 for both.
	ErrHoldExpired     = apperr.New(apperr.KindConflict, "hold_expired", "the hold has expired or does not exist")
	ErrHoldMaxLifetime = apperr.New(apperr.KindConflict, "hold_max_lifetime_reached", "the hold cannot be extended beyond its maximum lifetime")
	ErrHoldCommitted   = apperr.New(apperr.KindConflict, "hold_already_committed", "the hold was already committed for another booking")
	// ErrEventMismatch refuses a commit whose caller expected the hold to be of another event.
	ErrEventMismatch = apperr.New(apperr.KindUnprocessable, "event_mismatch", "the hold belongs to another event")
	ErrBookingUsed   = apperr.New(apperr.KindConflict, "booking_already_committed", "the booking already committed another hold")
)
