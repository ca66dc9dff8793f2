package domain

import "evently.dev/libs/apperr"

// Sentinel errors of the waitlist; copies made with WithDetail still match them.
var (
	ErrEventNotFound   = apperr.New(apperr.KindNotFound, "event_not_found", "the event does not exist or is not published")
	ErrSectionNotFound = apperr.New(apperr.KindNotFound, "section_not_found", "the section does not exist in this event")
	ErrEventClosed     = apperr.New(apperr.KindConflict, "event_not_open", "the event is not open for a waitlist (cancelled or over)")
	ErrSeatsAvailable  = apperr.New(apperr.KindConflict, "seats_available", "enough seats are available right now: book them instead of joining the waitlist")
	ErrAlreadyWaiting  = apperr.New(apperr.KindConflict, "already_waiting", "you are already on this event's waitlist")
	ErrNotWaiting      = apperr.New(apperr.KindNotFound, "not_waiting", "you are not on this event's waitlist")
	ErrNoEntry         = apperr.New(apperr.KindNotFound, "waitlist_entry_not_found", "you have never joined this event's waitlist")
	// ErrOverUserLimit is inventory refusing an offer that would give the user more seats
	// than the event's per-user limit; the entry is passed over in that round.
	ErrOverUserLimit = apperr.New(apperr.KindUnprocessable, "hold_limit_exceeded", "the offer would exceed the event's per-user seat limit")
	ErrInventoryDown = apperr.New(apperr.KindUnavailable, "inventory_unavailable", "seat availability cannot be checked right now; try again shortly")
)

// SeatsTakenError reports seats inventory refused to hold because someone holds or bought
// them; an offer round drops them from its view and tries again.
type SeatsTakenError struct{ SeatIDs []string }

func (e *SeatsTakenError) Error() string { return "seats already held or sold" }

// NotOnSaleError reports an event inventory no longer sells (cancelled, sale over): an
// offer round stops for it.
type NotOnSaleError struct{ Detail string }

func (e *NotOnSaleError) Error() string { return "event not on sale: " + e.Detail }
