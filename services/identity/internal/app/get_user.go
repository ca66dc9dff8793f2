package app

import (
	"context"

	"github.com/google/uuid"

	"evently.dev/services/identity/internal/domain"
)

// GetUser returns one account (the caller's own for /auth/me).
func (s *Service) GetUser(ctx context.Context, id uuid.UUID) (domain.User, error) {
	return s.Store.UserByID(ctx, id)
}
