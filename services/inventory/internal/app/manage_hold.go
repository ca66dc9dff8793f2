package app

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/google/uuid"

	"evently.dev/libs/apperr"
	"evently.dev/libs/contracts"

	"evently.dev/services/inventory/internal/domain"
)

// FindHold returns a live hold of userID; domain.ErrHoldNotFound for anything else, so a
// stranger cannot tell someone else's hold from none.
func (s *Service) FindHold(ctx context.Context, userID string, holdID uuid.UUID) (domain.Hold, error) {
	h, ok, err := s.Holds.Find(ctx, userID, holdID)
	if err != nil {
		return domain.Hold{}, err
	}
	if !ok || !h.ExpiresAt.After(s.Now()) {
		return domain.Hold{}, domain.ErrHoldNotFound
	}
	return h, nil
}

// ListHolds returns the user's live holds across events.
func (s *Service) ListHolds(ctx context.Context, userID string) ([]domain.Hold, error) {
	return s.Holds.ListUser(ctx, userID)
}

// ReleaseHold gives up a live hold of its owner.
func (s *Service) ReleaseHold(ctx context.Context, userID string, holdID uuid.UUID) error {
	h, err := s.FindHold(ctx, userID, holdID)
	if err != nil {
		return err
	}
	released, err := s.Holds.Release(ctx, userID, h.EventID, holdID)
	if err != nil {
		return err
	}
	s.note(h.EventID, released.SeatIDs(), stateAvailable)
	s.announce(ctx, h.EventID, contracts.TypeHoldReleased, contracts.HoldReleased{HoldID: holdID.String(),
		EventID: h.EventID.String(), UserID: userID, SeatIDs: released.SeatIDs(), Purpose: released.Purpose,
		ReleasedAt: s.Now().UTC()})
	return nil
}

// ExtendHold pushes a hold's expiry by the given duration (HOLD_TTL when zero), never past
// HOLD_MAX_LIFETIME after it was placed.
func (s *Service) ExtendHold(ctx context.Context, userID string, holdID uuid.UUID, by time.Duration) (domain.Hold, error) {
	if by == 0 {
		by = s.Cfg.Hold.TTL
	}
	if by < time.Second || by > s.Cfg.Hold.MaxLifetime {
		return domain.Hold{}, apperr.Validation(apperr.KindUnprocessable, apperr.FieldError{Field: "seconds",
			Message: "must be between 1 and " + strconv.Itoa(int(s.Cfg.Hold.MaxLifetime/time.Second))})
	}
	h, err := s.FindHold(ctx, userID, holdID)
	if err != nil {
		return domain.Hold{}, err
	}
	exp, err := s.Holds.Extend(ctx, userID, h.EventID, holdID, by, s.Cfg.Hold.MaxLifetime)
	switch {
	case errors.Is(err, domain.ErrHoldMaxLifetime):
		return domain.Hold{}, domain.ErrHoldMaxLifetime.WithDetail("the hold already lives until %s, its maximum",
			exp.Format(time.RFC3339)).WithExtra("expires_at", exp)
	case err != nil:
		return domain.Hold{}, err
	}
	h.ExpiresAt = exp
	return h, nil
}
