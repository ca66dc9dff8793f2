package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"evently.dev/services/identity/internal/domain"
)

// Logout ends the session the refresh token belongs to (its whole family, so no earlier or
// later token of it works) and voids the caller's access tokens issued so far, so the one
// in hand stops working now; the user's other sessions keep their refresh tokens and get
// fresh access tokens at their next refresh. Unknown tokens and other users' tokens end no
// session: logging out is idempotent and must not reveal whether a token exists.
func (s *Service) Logout(ctx context.Context, userID uuid.UUID, secret string) error {
	err := s.Store.InTx(ctx, func(ctx context.Context, r domain.Repository) error {
		now := s.now()
		u, err := r.UserForUpdate(ctx, userID)
		if err != nil {
			return err
		}
		if secret != "" {
			t, err := r.RefreshTokenForUpdate(ctx, domain.HashRefreshSecret(secret))
			switch {
			case errors.Is(err, domain.ErrInvalidRefreshToken):
			case err != nil:
				return err
			case t.UserID == userID:
				if err := r.RevokeRefreshFamily(ctx, t.FamilyID, now); err != nil {
					return err
				}
			}
		}
		return s.revokeSessions(ctx, r, &u, now, "logout")
	})
	if err != nil {
		return fmt.Errorf("logout %s: %w", userID, err)
	}
	return nil
}
