package domain

import "evently.dev/libs/apperr"

// Sentinel errors of the catalog; handlers map them through apperr kinds.
var (
	ErrTemplateNotFound  = apperr.New(apperr.KindNotFound, "venue_template_not_found", "the venue template does not exist")
	ErrTemplateNameTaken = apperr.New(apperr.KindConflict, "venue_template_name_taken", "a venue template with this name already exists")
	ErrTemplateInUse     = apperr.New(apperr.KindConflict, "venue_template_in_use", "the venue template is used by events")
	ErrSeatsFrozen       = apperr.New(apperr.KindConflict, "venue_template_seats_frozen",
		"a template used by a published event cannot lose or renumber seats")
	ErrEventNotFound  = apperr.New(apperr.KindNotFound, "event_not_found", "the event does not exist")
	ErrEventStatus    = apperr.New(apperr.KindConflict, "event_status_conflict", "the event's status does not allow this")
	ErrLayoutFrozen   = apperr.New(apperr.KindConflict, "event_layout_frozen", "a published event's venue and currency cannot change")
	ErrPolicyNotFound = apperr.New(apperr.KindNotFound, "cancellation_policy_not_found", "the event has no cancellation policy")
	ErrPolicyExists   = apperr.New(apperr.KindConflict, "cancellation_policy_exists", "the event already has a cancellation policy; use PUT to change it")
	ErrTagNotFound    = apperr.New(apperr.KindNotFound, "tag_not_found", "the tag does not exist")
	ErrTagExists      = apperr.New(apperr.KindConflict, "tag_exists", "a tag with this slug already exists")
)
