package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"evently.dev/services/identity/internal/domain"
)

// Logout ends the session the refresh token belongs to (its whole family, so no earlier or
// later token of it works). Unknown tokens and other users' tokens are ignored: logging out
// is idempotent and must not reveal whether a token exists.
func (s *Service) Logout(ctx context.Context, userID uuid.UUID, secret string) error {
	if secret == "" {
		return nil
	}
	err := s.Store.InTx(ctx, func(ctx context.Context, r domain.Repository) error {
		t, err := r.RefreshTokenForUpdate(ctx, domain.HashRefreshSecret(secret))
		if errors.Is(err, domain.ErrInvalidRefreshToken) {
			return nil
		}
		if err != nil {
			return err
		}
		if t.UserID != userID {
			return nil
		}
		return r.RevokeRefreshFamily(ctx, t.FamilyID, s.now())
	})
	if err != nil {
		return fmt.Errorf("logout %s: %w", userID, err)
	}
	return nil
}
