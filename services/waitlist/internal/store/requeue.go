package store

import (
	"context"
	"fmt"

	"github.com/google/uuid"
)

// RequeueFailedNotifications moves FAILED notifications (all, or those about one event)
// back to PENDING with a fresh attempt budget, due now; last_error stays for the record.
func (r *Repo) RequeueFailedNotifications(ctx context.Context, eventID *uuid.UUID) (int, error) {
	q := r.db.NewUpdate().Table("notifications").
		Set("status = 'PENDING'").Set("attempts = 0").Set("next_attempt_at = now()").
		Where("status = 'FAILED'")
	if eventID != nil {
		q = q.Where("event_id = ?", *eventID)
	}
	res, err := q.Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("requeue failed notifications: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
