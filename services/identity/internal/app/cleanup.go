package app

import (
	"context"
	"time"
)

// DeleteExpiredRefreshTokens removes tokens that expired more than a day ago; the grace
// period keeps a just-expired token's family around for reuse detection.
func (s *Service) DeleteExpiredRefreshTokens(ctx context.Context) (int64, error) {
	return s.Store.DeleteExpiredRefreshTokens(ctx, s.now().Add(-24*time.Hour))
}
