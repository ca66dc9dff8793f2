package app

import (
	"context"

	"github.com/google/uuid"

	"evently.dev/services/waitlist/internal/domain"
)

// WaitlistStatus returns the user's current (or latest) entry for the event.
func (s *Service) WaitlistStatus(ctx context.Context, userID string, eventID uuid.UUID) (domain.Entry, error) {
	e, err := s.Store.Repo().LatestEntry(ctx, eventID, userID)
	if isNotFound(err) {
		return domain.Entry{}, domain.ErrNoEntry
	}
	return e, err
}

// ListEntries pages through an event's entries for admins.
func (s *Service) ListEntries(ctx context.Context, f domain.EntryFilter) ([]domain.Entry, int, error) {
	if err := s.knownEvent(ctx, f.EventID); err != nil {
		return nil, 0, err
	}
	return s.Store.Repo().ListEntries(ctx, f)
}

// Stats summarises an event's waitlist for admins.
func (s *Service) Stats(ctx context.Context, eventID uuid.UUID) (domain.Stats, error) {
	if err := s.knownEvent(ctx, eventID); err != nil {
		return domain.Stats{}, err
	}
	return s.Store.Repo().Stats(ctx, eventID)
}

// NotifyNow is the admin's "notify next": an offer round right away. An event unknown to
// both the local read model and the waitlist's entries is a 404.
func (s *Service) NotifyNow(ctx context.Context, eventID uuid.UUID) ([]OfferMade, error) {
	if err := s.knownEvent(ctx, eventID); err != nil {
		return nil, err
	}
	return s.OfferToNextInLine(ctx, eventID)
}

// knownEvent answers ErrEventNotFound for an event neither catalog's events (read model)
// nor any waitlist entry mention, so admin pages do not show empty figures for a typo.
func (s *Service) knownEvent(ctx context.Context, eventID uuid.UUID) error {
	r := s.Store.Repo()
	if _, err := r.Event(ctx, eventID); err == nil {
		return nil
	} else if !isNotFound(err) {
		return err
	}
	list, _, err := r.ListEntries(ctx, domain.EntryFilter{EventID: eventID, Limit: 1})
	if err != nil {
		return err
	}
	if len(list) == 0 {
		return domain.ErrEventNotFound
	}
	return nil
}

// RequeueFailedNotifications is the admin's way back for e-mails that ran out of attempts
// (the mail server was down longer than the backoff lasts): they become PENDING again,
// due now, with a fresh attempt budget, and the sender delivers them. Each e-mail is
// still one row with its dedupe key, so nothing is queued twice. eventID limits it to
// one event's e-mails.
func (s *Service) RequeueFailedNotifications(ctx context.Context, eventID *uuid.UUID) (int, error) {
	n, err := s.Store.Repo().RequeueFailedNotifications(ctx, eventID)
	if err == nil && n > 0 {
		s.Log.InfoContext(ctx, "failed notifications requeued", "count", n, "event_id", eventID)
	}
	return n, err
}
