package app

import (
	"context"
	"errors"
	"fmt"

	"evently.dev/services/identity/internal/domain"
)

// Refresh exchanges a refresh token for a new pair, spending the old one. Presenting a
// token that was already spent means it leaked (or the client raced itself): the whole
// family is revoked, so whoever holds its newest token must log in again.
func (s *Service) Refresh(ctx context.Context, secret string) (Session, error) {
	if secret == "" {
		return Session{}, domain.ErrInvalidRefreshToken
	}
	hash := domain.HashRefreshSecret(secret)
	var sess Session
	reused := false
	err := s.Store.InTx(ctx, func(ctx context.Context, r domain.Repository) error {
		now := s.now()
		t, err := r.RefreshTokenForUpdate(ctx, hash)
		if err != nil {
			return err
		}
		if t.Spent() {
			// Commit the revocation, then refuse: returning an error would roll it back.
			reused = true
			return r.RevokeRefreshFamily(ctx, t.FamilyID, now)
		}
		if !t.Usable(now) {
			return domain.ErrInvalidRefreshToken
		}
		if err := r.MarkRefreshTokenUsed(ctx, t.ID, now); err != nil {
			return err
		}
		u, err := r.UserByID(ctx, t.UserID)
		if errors.Is(err, domain.ErrUserNotFound) {
			return domain.ErrInvalidRefreshToken
		}
		if err != nil {
			return err
		}
		sess, err = s.startSession(ctx, r, u, t.FamilyID, now)
		return err
	})
	if err != nil {
		return Session{}, fmt.Errorf("refresh: %w", err)
	}
	if reused {
		return Session{}, domain.ErrInvalidRefreshToken.WithDetail("the refresh token was already used; its session has been revoked")
	}
	return sess, nil
}
