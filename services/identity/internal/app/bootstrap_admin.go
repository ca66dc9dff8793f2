package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"evently.dev/services/identity/internal/domain"
)

// BootstrapAdmin makes sure the configured administrator exists with the configured
// password and the ADMIN role. It is idempotent: replicas starting together serialise on
// the unique email, and a second run only fixes what differs.
func (s *Service) BootstrapAdmin(ctx context.Context, email, password, firstName, lastName string) (domain.User, error) {
	role := string(domain.RoleUser)
	reg, err := domain.NewRegistration(firstName, lastName, email, password, &role)
	if err != nil {
		return domain.User{}, fmt.Errorf("bootstrap admin: invalid configuration: %w", err)
	}
	u, err := s.Store.UserByEmail(ctx, reg.Email)
	switch {
	case errors.Is(err, domain.ErrUserNotFound):
		return s.createAdmin(ctx, reg)
	case err != nil:
		return domain.User{}, fmt.Errorf("bootstrap admin: %w", err)
	}
	same, err := s.Hasher.Verify(ctx, u.PasswordHash, reg.Password)
	if err != nil {
		return domain.User{}, fmt.Errorf("bootstrap admin: %w", err)
	}
	if same && u.Role == domain.RoleAdmin {
		return u, nil
	}
	hash := u.PasswordHash
	if !same {
		if hash, err = s.Hasher.Hash(ctx, reg.Password); err != nil {
			return domain.User{}, err
		}
	}
	err = s.Store.InTx(ctx, func(ctx context.Context, r domain.Repository) error {
		cur, err := r.UserForUpdate(ctx, u.ID)
		if err != nil {
			return err
		}
		now := s.now()
		cur.Role, cur.UpdatedAt = domain.RoleAdmin, now
		if !same {
			cur.PasswordHash, cur.PasswordChangedAt = hash, now
			if err := r.RevokeUserRefreshTokens(ctx, cur.ID, now); err != nil {
				return err
			}
		}
		u = cur
		return r.UpdateUser(ctx, cur)
	})
	if err != nil {
		return domain.User{}, fmt.Errorf("bootstrap admin: %w", err)
	}
	return u, nil
}

func (s *Service) createAdmin(ctx context.Context, reg domain.Registration) (domain.User, error) {
	hash, err := s.Hasher.Hash(ctx, reg.Password)
	if err != nil {
		return domain.User{}, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return domain.User{}, err
	}
	now := s.now()
	u := domain.User{ID: id, Email: reg.Email, FirstName: reg.FirstName, LastName: reg.LastName, PasswordHash: hash,
		Role: domain.RoleAdmin, CreatedAt: now, UpdatedAt: now, PasswordChangedAt: now}
	err = s.Store.InTx(ctx, func(ctx context.Context, r domain.Repository) error {
		if err := r.CreateUser(ctx, u); err != nil {
			return err
		}
		return r.PublishUserRegistered(ctx, u)
	})
	if errors.Is(err, domain.ErrEmailTaken) {
		// Another replica won the race; its admin is the one we wanted.
		return s.Store.UserByEmail(ctx, reg.Email)
	}
	if err != nil {
		return domain.User{}, fmt.Errorf("bootstrap admin: %w", err)
	}
	return u, nil
}
