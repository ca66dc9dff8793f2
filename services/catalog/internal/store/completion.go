package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// EndedEvents locks up to limit PUBLISHED events whose end time is before now, oldest end
// first, skipping rows another replica's pass (or an admin's change) holds.
func (t *txStore) EndedEvents(ctx context.Context, now time.Time, limit int) ([]uuid.UUID, error) {
	var ids []uuid.UUID
	err := t.tx.NewRaw(`SELECT id FROM events WHERE status = 'PUBLISHED' AND ends_at < ?
		ORDER BY ends_at LIMIT ? FOR UPDATE SKIP LOCKED`, now, limit).Scan(ctx, &ids)
	if err != nil {
		return nil, fmt.Errorf("ended events: %w", err)
	}
	return ids, nil
}
