package app

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"evently.dev/services/identity/internal/domain"
)

// Register creates a USER account, announces it with user.registered in the same
// transaction and starts a session.
func (s *Service) Register(ctx context.Context, reg domain.Registration) (Session, error) {
	hash, err := s.Hasher.Hash(ctx, reg.Password)
	if err != nil {
		return Session{}, fmt.Errorf("hash password: %w", err)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Session{}, err
	}
	now := s.now()
	u := domain.User{ID: id, Email: reg.Email, FirstName: reg.FirstName, LastName: reg.LastName, PasswordHash: hash,
		Role: domain.RoleUser, CreatedAt: now, UpdatedAt: now, PasswordChangedAt: now}
	var sess Session
	err = s.Store.InTx(ctx, func(ctx context.Context, r domain.Repository) error {
		if err := r.CreateUser(ctx, u); err != nil {
			return err
		}
		if err := r.PublishUserRegistered(ctx, u); err != nil {
			return err
		}
		sess, err = s.startSession(ctx, r, u, uuid.Nil, now)
		return err
	})
	if err != nil {
		return Session{}, fmt.Errorf("register %s: %w", reg.Email, err)
	}
	return sess, nil
}
