package app

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"evently.dev/libs/apperr"

	"evently.dev/services/identity/internal/domain"
)

// ChangeRole sets a user's role (an admin's decision). The new role reaches the user's
// access tokens at their next refresh; the last ADMIN cannot be demoted, so the system
// always keeps someone who can administer it.
func (s *Service) ChangeRole(ctx context.Context, id uuid.UUID, role string) (domain.User, error) {
	r, ok := domain.ParseRole(role)
	if !ok {
		return domain.User{}, apperr.Validation(apperr.KindUnprocessable,
			apperr.FieldError{Field: "role", Message: "must be USER or ADMIN"})
	}
	var out domain.User
	err := s.Store.InTx(ctx, func(ctx context.Context, repo domain.Repository) error {
		u, err := repo.UserForUpdate(ctx, id)
		if err != nil {
			return err
		}
		if u.Role == r {
			out = u
			return nil
		}
		if u.Role == domain.RoleAdmin {
			n, err := repo.CountAdmins(ctx)
			if err != nil {
				return err
			}
			if n <= 1 {
				return domain.ErrLastAdmin
			}
		}
		u.Role, u.UpdatedAt = r, s.now()
		out = u
		return repo.UpdateUser(ctx, u)
	})
	if err != nil {
		return domain.User{}, fmt.Errorf("change role of %s: %w", id, err)
	}
	return out, nil
}
