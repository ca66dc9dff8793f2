package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"evently.dev/services/identity/internal/domain"
)

// Login checks the credentials and starts a session. An unknown email and a wrong password
// get the same error after the same work.
func (s *Service) Login(ctx context.Context, email, password string) (Session, error) {
	email = domain.NormalizeEmail(email)
	u, err := s.Store.UserByEmail(ctx, email)
	if errors.Is(err, domain.ErrUserNotFound) {
		s.Hasher.VerifyDummy(ctx, password)
		return Session{}, domain.ErrInvalidCredentials
	}
	if err != nil {
		return Session{}, fmt.Errorf("login: %w", err)
	}
	ok, err := s.Hasher.Verify(ctx, u.PasswordHash, password)
	if err != nil {
		return Session{}, fmt.Errorf("login %s: verify: %w", u.ID, err)
	}
	if !ok {
		return Session{}, domain.ErrInvalidCredentials
	}
	var sess Session
	err = s.Store.InTx(ctx, func(ctx context.Context, r domain.Repository) error {
		sess, err = s.startSession(ctx, r, u, uuid.Nil, s.now())
		return err
	})
	if err != nil {
		return Session{}, fmt.Errorf("login %s: %w", u.ID, err)
	}
	return sess, nil
}
