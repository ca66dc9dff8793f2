package app

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"evently.dev/libs/apperr"

	"evently.dev/services/identity/internal/domain"
)

// ChangePassword replaces the password after checking the current one, revokes every
// refresh token of the user and voids every access token issued so far: all sessions end
// at once.
func (s *Service) ChangePassword(ctx context.Context, userID uuid.UUID, current, next string) error {
	var f apperr.Fields
	if current == "" {
		f.Add("current_password", "is required")
	}
	domain.CheckPassword(&f, "new_password", next)
	if err := f.Err(); err != nil {
		return err
	}
	u, err := s.Store.UserByID(ctx, userID)
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	domain.CheckNewPassword(&f, "new_password", next, u.Email)
	if err := f.Err(); err != nil {
		return err
	}
	ok, err := s.Hasher.Verify(ctx, u.PasswordHash, current)
	if err != nil {
		return fmt.Errorf("change password %s: verify: %w", userID, err)
	}
	if !ok {
		return domain.ErrWrongPassword
	}
	hash, err := s.Hasher.Hash(ctx, next)
	if err != nil {
		return fmt.Errorf("change password %s: hash: %w", userID, err)
	}
	err = s.Store.InTx(ctx, func(ctx context.Context, r domain.Repository) error {
		u, err := r.UserForUpdate(ctx, userID)
		if err != nil {
			return err
		}
		now := s.now()
		u.PasswordHash, u.PasswordChangedAt, u.UpdatedAt = hash, now, now
		if err := r.RevokeUserRefreshTokens(ctx, userID, now); err != nil {
			return err
		}
		return s.revokeSessions(ctx, r, &u, now, "password_changed")
	})
	if err != nil {
		return fmt.Errorf("change password %s: %w", userID, err)
	}
	return nil
}
