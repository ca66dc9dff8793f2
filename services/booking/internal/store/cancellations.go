package store

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"evently.dev/libs/pg"

	"evently.dev/services/booking/internal/domain"
)

type cancellationRow struct {
	bun.BaseModel `bun:"table:cancellations"`

	ID              uuid.UUID  `bun:"id,pk,type:uuid"`
	BookingID       uuid.UUID  `bun:"booking_id,type:uuid"`
	UserID          string     `bun:"user_id"`
	EventID         uuid.UUID  `bun:"event_id,type:uuid"`
	Status          string     `bun:"status"`
	ReasonCode      string     `bun:"reason_code"`
	Reason          string     `bun:"reason"`
	RefundPercent   int        `bun:"refund_percent"`
	CancellationFee int64      `bun:"cancellation_fee"`
	RefundAmount    int64      `bun:"refund_amount"`
	Currency        string     `bun:"currency"`
	PolicyVersion   int        `bun:"policy_version"`
	RequestedAt     time.Time  `bun:"requested_at"`
	ProcessedAt     *time.Time `bun:"processed_at"`
	DecidedBy       *string    `bun:"decided_by"`
	DecisionNote    *string    `bun:"decision_note"`
}

func fromCancellation(c domain.Cancellation) cancellationRow {
	return cancellationRow{ID: c.ID, BookingID: c.BookingID, UserID: c.UserID, EventID: c.EventID,
		Status: string(c.Status), ReasonCode: c.ReasonCode, Reason: c.Reason, RefundPercent: c.RefundPercent,
		CancellationFee: c.Fee, RefundAmount: c.Refund, Currency: c.Currency, PolicyVersion: c.PolicyVersion,
		RequestedAt: c.RequestedAt, ProcessedAt: c.ProcessedAt, DecidedBy: strPtr(c.DecidedBy),
		DecisionNote: strPtr(c.DecisionNote)}
}

func (r cancellationRow) toDomain() domain.Cancellation {
	return domain.Cancellation{ID: r.ID, BookingID: r.BookingID, UserID: r.UserID, EventID: r.EventID,
		Status: domain.CancellationStatus(r.Status), ReasonCode: r.ReasonCode, Reason: r.Reason,
		RefundPercent: r.RefundPercent, Fee: r.CancellationFee, Refund: r.RefundAmount, Currency: r.Currency,
		PolicyVersion: r.PolicyVersion, RequestedAt: r.RequestedAt.UTC(), ProcessedAt: utc(r.ProcessedAt),
		DecidedBy: str(r.DecidedBy), DecisionNote: str(r.DecisionNote)}
}

// InsertCancellation stores a cancellation.
func (s *Store) InsertCancellation(ctx context.Context, c domain.Cancellation) error {
	row := fromCancellation(c)
	_, err := s.db.NewInsert().Model(&row).Exec(ctx)
	if pg.ConstraintName(err) == "cancellations_open_idx" {
		return domain.ErrDuplicateOpenCancellation
	}
	return wrap("insert cancellation", err)
}

// UpdateCancellation saves a decision.
func (s *Store) UpdateCancellation(ctx context.Context, c domain.Cancellation) error {
	row := fromCancellation(c)
	_, err := s.db.NewUpdate().Model(&row).Column("status", "processed_at", "decided_by", "decision_note").
		WherePK().Exec(ctx)
	if pg.ConstraintName(err) == "cancellations_open_idx" {
		return domain.ErrDuplicateOpenCancellation
	}
	return wrap("update cancellation", err)
}

// Cancellation reads one cancellation.
func (s *Store) Cancellation(ctx context.Context, id uuid.UUID, lock bool) (domain.Cancellation, bool, error) {
	return s.oneCancellation(ctx, lock, "id = ?", id)
}

// PendingCancellation finds and locks the booking's PENDING request.
func (s *Store) PendingCancellation(ctx context.Context, bookingID uuid.UUID) (domain.Cancellation, bool, error) {
	return s.oneCancellation(ctx, true, "booking_id = ? AND status = ?", bookingID, domain.CancellationPending)
}

func (s *Store) oneCancellation(ctx context.Context, lock bool, where string, args ...any) (domain.Cancellation, bool, error) {
	var row cancellationRow
	q := s.db.NewSelect().Model(&row).Where(where, args...)
	if lock {
		q = q.For("UPDATE")
	}
	if err := q.Scan(ctx); err != nil {
		if pg.IsNoRows(err) {
			return domain.Cancellation{}, false, nil
		}
		return domain.Cancellation{}, false, wrap("get cancellation", err)
	}
	return row.toDomain(), true, nil
}

// Cancellations lists cancellations newest first.
func (s *Store) Cancellations(ctx context.Context, f domain.CancellationFilter) ([]domain.Cancellation, int, error) {
	var rows []cancellationRow
	n, err := listPage(ctx, s.db.NewSelect().Model(&rows), f, "requested_at DESC, id DESC")
	if err != nil {
		return nil, 0, wrap("list cancellations", err)
	}
	out := make([]domain.Cancellation, len(rows))
	for i, r := range rows {
		out[i] = r.toDomain()
	}
	return out, n, nil
}
