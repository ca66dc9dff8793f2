package app

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"evently.dev/libs/apperr"

	"evently.dev/services/identity/internal/domain"
)

// ChangeRole sets a user's role (an admin's decision). The user's access tokens issued
// under the old role are voided at once, so the next request refreshes and carries the
// new role; the last ADMIN cannot be demoted, so the system always keeps someone who can
// administer it.
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
		now := s.now()
		u.Role, u.UpdatedAt = r, now
		if err := s.revokeSessions(ctx, repo, &u, now, "role_changed"); err != nil {
			return err
		}
		out = u
		return nil
	})
	if err != nil {
		return domain.User{}, fmt.Errorf("change role of %s: %w", id, err)
	}
	return out, nil
}
