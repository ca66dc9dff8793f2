package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"evently.dev/services/waitlist/internal/domain"
)

// roundLockClass is the first key of the two-key advisory lock that serialises one
// event's offer rounds; the second is a hash of the event id. It differs from the outbox
// relay's class, and other services' locks share the database.
const roundLockClass = 0x0a17

type roundRow struct {
	EventID  uuid.UUID `bun:"event_id"`
	Version  int64     `bun:"version"`
	Attempts int       `bun:"attempts"`
	Reason   string    `bun:"reason"`
}

// WithEventLock runs fn while this session holds the event's round lock, waiting for a
// round of another worker or replica to finish first. The lock is transaction-scoped on a
// connection of its own, so fn's writes commit on their own and survive fn failing later,
// while PostgreSQL drops the lock if this process dies.
func (s *Store) WithEventLock(ctx context.Context, eventID uuid.UUID, fn func(ctx context.Context) error) error {
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("round lock: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(?, hashtext(?))", roundLockClass, eventID.String()); err != nil {
		return fmt.Errorf("round lock: %w", err)
	}
	if err := fn(ctx); err != nil {
		return err
	}
	return tx.Commit()
}

// DueRounds lists round requests whose time has come, oldest first.
func (s *Store) DueRounds(ctx context.Context, limit int) ([]domain.RoundRequest, error) {
	var rows []roundRow
	err := s.DB.NewSelect().Table("offer_rounds").Column("event_id", "version", "attempts", "reason").
		Where("next_attempt_at <= now()").OrderExpr("next_attempt_at").Limit(int64(limit)).Scan(ctx, &rows)
	out := make([]domain.RoundRequest, len(rows))
	for i, r := range rows {
		out[i] = domain.RoundRequest{EventID: r.EventID, Version: r.Version, Attempts: r.Attempts, Reason: r.Reason}
	}
	return out, err
}

// FinishRound drops a request that a round served, unless a newer request arrived meanwhile.
func (s *Store) FinishRound(ctx context.Context, eventID uuid.UUID, version int64) error {
	_, err := s.DB.NewDelete().Table("offer_rounds").Where("event_id = ? AND version = ?", eventID, version).Exec(ctx)
	return err
}

// RetryRound schedules a failed round again at next.
func (s *Store) RetryRound(ctx context.Context, eventID uuid.UUID, version int64, next time.Time, cause string) error {
	_, err := s.DB.NewUpdate().Table("offer_rounds").Set("attempts = attempts + 1").Set("next_attempt_at = ?", next).
		Set("last_error = ?", cause).Where("event_id = ? AND version = ?", eventID, version).Exec(ctx)
	return err
}

// PendingNotification is a claimed email with its recipient resolved from the users read model.
type PendingNotification struct {
	ID        uuid.UUID `bun:"id"`
	UserID    string    `bun:"user_id"`
	Kind      string    `bun:"kind"`
	Subject   string    `bun:"subject"`
	BodyText  string    `bun:"body_text"`
	BodyHTML  string    `bun:"body_html"`
	Recipient *string   `bun:"recipient"`
	Attempts  int       `bun:"attempts"`
}

// ClaimNotifications leases up to limit due PENDING notifications for lease, in one
// statement and no longer transaction: the due rows are picked FOR UPDATE SKIP LOCKED (by
// id first, in index order; only those get their bodies read and their user joined) and
// moved to next_attempt_at = now() + lease, so other senders skip them until the sender
// records the outcome — or, if it died mid-send, until the lease runs out and they are
// mailed again. Holding the claim's row locks while mailing instead kept a transaction
// open for as long as the mail server took, holding back vacuum for the whole database.
func ClaimNotifications(ctx context.Context, db bun.IDB, limit int, lease time.Duration) ([]PendingNotification, error) {
	var out []PendingNotification
	err := db.NewRaw(`WITH due AS (
			SELECT id FROM notifications
			WHERE status = 'PENDING' AND next_attempt_at <= now()
			ORDER BY next_attempt_at, created_at LIMIT ? FOR UPDATE SKIP LOCKED),
		leased AS (
			UPDATE notifications AS n SET next_attempt_at = now() + make_interval(secs => ?)
			FROM due WHERE n.id = due.id
			RETURNING n.id, n.user_id, n.kind, n.subject, n.body_text, n.body_html, n.recipient, n.attempts, n.created_at)
		SELECT l.id, l.user_id, l.kind, l.subject, l.body_text, l.body_html,
			coalesce(l.recipient, u.email) AS recipient, l.attempts
		FROM leased AS l LEFT JOIN users u ON u.id = l.user_id
		ORDER BY l.created_at, l.id`, limit, lease.Seconds()).Scan(ctx, &out)
	return out, err
}

// Delivered is one notification the mail server accepted, and the address it went to.
type Delivered struct {
	ID        uuid.UUID
	Recipient string
}

// MarkSent records delivered notifications, all in one statement.
func MarkSent(ctx context.Context, tx bun.IDB, sent []Delivered) error {
	if len(sent) == 0 {
		return nil
	}
	ids := make([]uuid.UUID, len(sent))
	to := make([]string, len(sent))
	for i, d := range sent {
		ids[i], to[i] = d.ID, d.Recipient
	}
	_, err := tx.ExecContext(ctx, `UPDATE notifications AS n SET status = 'SENT', recipient = v.recipient, sent_at = now(),
			attempts = n.attempts + 1, last_error = NULL
		FROM unnest(?::uuid[], ?::text[]) AS v (id, recipient) WHERE n.id = v.id`,
		pgdialect.Array(ids), pgdialect.Array(to))
	return err
}

// MarkAttemptFailed records a failed delivery: retried at next, or FAILED when final.
func MarkAttemptFailed(ctx context.Context, tx bun.IDB, id uuid.UUID, cause string, next time.Time, final bool) error {
	status := "PENDING"
	if final {
		status = "FAILED"
	}
	_, err := tx.ExecContext(ctx, `UPDATE notifications SET status = ?, attempts = attempts + 1, next_attempt_at = ?,
		last_error = ? WHERE id = ?`, status, next, cause, id)
	return err
}
