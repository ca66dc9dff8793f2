package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"evently.dev/services/identity/internal/domain"
)

// Login checks the credentials and starts a session. An unknown email and a wrong password
// get the same error after the same work, and count the same towards the address's
// throttle, so neither answers nor delays reveal which accounts exist.
func (s *Service) Login(ctx context.Context, email, password string) (Session, error) {
	email = domain.NormalizeEmail(email)
	if s.Throttle != nil {
		wait, err := s.Throttle.Wait(ctx, email)
		if err != nil {
			return Session{}, fmt.Errorf("login: %w", err)
		}
		if wait > 0 {
			secs := int((wait + time.Second - 1) / time.Second)
			return Session{}, domain.ErrLoginThrottled.WithDetail("too many failed logins for this account; retry in %d s", secs).
				WithExtra("retry_after_seconds", secs)
		}
	}
	u, err := s.Store.UserByEmail(ctx, email)
	if errors.Is(err, domain.ErrUserNotFound) {
		s.Hasher.VerifyDummy(ctx, password)
		return Session{}, s.loginFailed(ctx, email)
	}
	if err != nil {
		return Session{}, fmt.Errorf("login: %w", err)
	}
	ok, err := s.Hasher.Verify(ctx, u.PasswordHash, password)
	if err != nil {
		return Session{}, fmt.Errorf("login %s: verify: %w", u.ID, err)
	}
	if !ok {
		return Session{}, s.loginFailed(ctx, email)
	}
	if s.Throttle != nil {
		if err := s.Throttle.Succeeded(ctx, email); err != nil {
			return Session{}, fmt.Errorf("login: %w", err)
		}
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

// loginFailed counts a failure and returns the answer for it.
func (s *Service) loginFailed(ctx context.Context, email string) error {
	if s.Throttle != nil {
		if err := s.Throttle.Failed(ctx, email); err != nil {
			return fmt.Errorf("login: %w", err)
		}
	}
	return domain.ErrInvalidCredentials
}
