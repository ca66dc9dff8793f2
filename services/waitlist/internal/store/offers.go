package store

import (
	"context"
	"time"

	"evently.dev/services/waitlist/internal/domain"
)

// StaleOffers returns up to limit OFFERED entries whose offer expired before before,
// oldest first.
func (r *Repo) StaleOffers(ctx context.Context, before time.Time, limit int) ([]domain.Entry, error) {
	return r.entries(ctx, r.selectEntries().Where("e.status = 'OFFERED' AND e.offer_expires_at < ?", before).
		OrderExpr("e.offer_expires_at").Limit(int64(limit)))
}
