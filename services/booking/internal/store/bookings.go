package store

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"evently.dev/libs/pg"

	"evently.dev/services/booking/internal/domain"
)

type bookingRow struct {
	bun.BaseModel `bun:"table:bookings"`

	ID                   uuid.UUID     `bun:"id,pk,type:uuid"`
	BookingRef           string        `bun:"booking_ref"`
	UserID               string        `bun:"user_id"`
	HoldID               uuid.UUID     `bun:"hold_id,type:uuid"`
	IdempotencyKey       *string       `bun:"idempotency_key"`
	EventID              *uuid.UUID    `bun:"event_id,type:uuid"`
	Status               string        `bun:"status"`
	Seats                []domain.Seat `bun:"seats,type:jsonb"`
	TotalAmount          int64         `bun:"total_amount"`
	Currency             *string       `bun:"currency"`
	PaymentProvider      string        `bun:"payment_provider"`
	PaymentMethod        string        `bun:"payment_method"`
	PaymentStatus        *string       `bun:"payment_status"`
	PaymentTransactionID *string       `bun:"payment_transaction_id"`
	PaidAt               *time.Time    `bun:"paid_at"`
	RefundAmount         *int64        `bun:"refund_amount"`
	RefundTransactionID  *string       `bun:"refund_transaction_id"`
	RefundedAt           *time.Time    `bun:"refunded_at"`
	FailureCode          *string       `bun:"failure_code"`
	FailureStatus        *int          `bun:"failure_status"`
	FailureDetail        *string       `bun:"failure_detail"`
	Version              int           `bun:"version"`
	Attempts             int           `bun:"attempts"`
	PolicyVersion        *int          `bun:"policy_version"`
	Reconciled           bool          `bun:"reconciled"`
	NextAttemptAt        time.Time     `bun:"next_attempt_at"`
	CreatedAt            time.Time     `bun:"created_at"`
	ConfirmedAt          *time.Time    `bun:"confirmed_at"`
	CancelledAt          *time.Time    `bun:"cancelled_at"`
	UpdatedAt            time.Time     `bun:"updated_at"`
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func fromBooking(b domain.Booking) bookingRow {
	r := bookingRow{ID: b.ID, BookingRef: b.Ref, UserID: b.UserID, HoldID: b.HoldID,
		IdempotencyKey: strPtr(b.IdempotencyKey), Status: string(b.Status), Seats: b.Seats,
		TotalAmount: b.TotalAmount, Currency: strPtr(b.Currency), PaymentProvider: b.Payment.Provider,
		PaymentMethod: b.Payment.Method, PaymentStatus: strPtr(b.Payment.Status),
		PaymentTransactionID: strPtr(b.Payment.TransactionID), PaidAt: b.Payment.PaidAt,
		RefundAmount: b.Payment.RefundAmount, RefundTransactionID: strPtr(b.Payment.RefundTxID),
		RefundedAt: b.Payment.RefundedAt, Version: b.Version, Attempts: b.Attempts, PolicyVersion: b.PolicyVersion,
		Reconciled:    b.Reconciled,
		NextAttemptAt: b.CreatedAt, CreatedAt: b.CreatedAt, ConfirmedAt: b.ConfirmedAt,
		CancelledAt: b.CancelledAt, UpdatedAt: b.UpdatedAt}
	if b.EventID != uuid.Nil {
		id := b.EventID
		r.EventID = &id
	}
	if r.Seats == nil {
		r.Seats = []domain.Seat{}
	}
	if b.Failure != nil {
		r.FailureCode, r.FailureStatus, r.FailureDetail = &b.Failure.Code, &b.Failure.Status, &b.Failure.Detail
	}
	return r
}

func (r bookingRow) toDomain() domain.Booking {
	b := domain.Booking{ID: r.ID, Ref: r.BookingRef, UserID: r.UserID, HoldID: r.HoldID,
		IdempotencyKey: str(r.IdempotencyKey), Status: domain.Status(r.Status), Seats: r.Seats,
		TotalAmount: r.TotalAmount, Currency: str(r.Currency), Version: r.Version, Attempts: r.Attempts, PolicyVersion: r.PolicyVersion,
		Reconciled: r.Reconciled,
		CreatedAt:  r.CreatedAt.UTC(), ConfirmedAt: utc(r.ConfirmedAt), CancelledAt: utc(r.CancelledAt),
		UpdatedAt: r.UpdatedAt.UTC(),
		Payment: domain.Payment{Provider: r.PaymentProvider, Method: r.PaymentMethod, Status: str(r.PaymentStatus),
			Amount: r.TotalAmount, Currency: str(r.Currency), TransactionID: str(r.PaymentTransactionID),
			PaidAt: utc(r.PaidAt), RefundAmount: r.RefundAmount, RefundTxID: str(r.RefundTransactionID),
			RefundedAt: utc(r.RefundedAt)}}
	if r.EventID != nil {
		b.EventID = *r.EventID
	}
	if b.Seats == nil {
		b.Seats = []domain.Seat{}
	}
	if r.FailureCode != nil {
		b.Failure = &domain.Failure{Code: *r.FailureCode, Detail: str(r.FailureDetail)}
		if r.FailureStatus != nil {
			b.Failure.Status = *r.FailureStatus
		}
	}
	return b
}

// InsertBooking stores a new booking and names the unique key that clashed, if any.
func (s *Store) InsertBooking(ctx context.Context, b domain.Booking) error {
	row := fromBooking(b)
	_, err := s.db.NewInsert().Model(&row).Exec(ctx)
	switch pg.ConstraintName(err) {
	case "":
		return wrap("insert booking", err)
	case "bookings_booking_ref_key":
		return domain.ErrRefTaken
	case "bookings_hold_key":
		return domain.ErrDuplicateHold
	case "bookings_idempotency_key":
		return domain.ErrDuplicateKey
	default:
		return wrap("insert booking", err)
	}
}

func (s *Store) oneBooking(ctx context.Context, lock bool, where string, args ...any) (domain.Booking, bool, error) {
	var row bookingRow
	q := s.db.NewSelect().Model(&row).Where(where, args...)
	if lock {
		q = q.For("UPDATE")
	}
	if err := q.Scan(ctx); err != nil {
		if pg.IsNoRows(err) {
			return domain.Booking{}, false, nil
		}
		return domain.Booking{}, false, wrap("get booking", err)
	}
	return row.toDomain(), true, nil
}

// Booking reads one booking.
func (s *Store) Booking(ctx context.Context, id uuid.UUID, lock bool) (domain.Booking, bool, error) {
	return s.oneBooking(ctx, lock, "id = ?", id)
}

// BookingByHold finds a user's booking of a hold.
func (s *Store) BookingByHold(ctx context.Context, userID string, holdID uuid.UUID) (domain.Booking, bool, error) {
	return s.oneBooking(ctx, false, "hold_id = ? AND user_id = ?", holdID, userID)
}

// BookingByKey finds a user's booking made with an Idempotency-Key.
func (s *Store) BookingByKey(ctx context.Context, userID, key string) (domain.Booking, bool, error) {
	return s.oneBooking(ctx, false, "user_id = ? AND idempotency_key = ?", userID, key)
}

// BookingByKeyOrHold finds a user's booking by Idempotency-Key, else by hold, in one query:
// at most two rows match (both keys are unique per user) and the key's row sorts first.
func (s *Store) BookingByKeyOrHold(ctx context.Context, userID, key string, holdID uuid.UUID) (domain.Booking, bool, error) {
	if key == "" {
		return s.BookingByHold(ctx, userID, holdID)
	}
	var row bookingRow
	err := s.db.NewSelect().Model(&row).
		Where("user_id = ? AND (idempotency_key = ? OR hold_id = ?)", userID, key, holdID).
		OrderExpr("idempotency_key IS NOT DISTINCT FROM ? DESC", key).Limit(1).Scan(ctx)
	if pg.IsNoRows(err) {
		return domain.Booking{}, false, nil
	}
	if err != nil {
		return domain.Booking{}, false, wrap("get booking", err)
	}
	return row.toDomain(), true, nil
}

// MarkConfirmed moves a PENDING booking to CONFIRMED.
func (s *Store) MarkConfirmed(ctx context.Context, b domain.Booking) (bool, error) {
	row := fromBooking(b)
	res, err := s.db.NewUpdate().Model(&row).
		Column("event_id", "status", "seats", "total_amount", "currency", "payment_status",
			"payment_transaction_id", "paid_at", "confirmed_at", "updated_at", "policy_version").
		WherePK().Where("status = ?", domain.StatusPending).Exec(ctx)
	return affected(res, err, "confirm booking")
}

// MarkFailed moves a PENDING booking to FAILED.
func (s *Store) MarkFailed(ctx context.Context, id uuid.UUID, f domain.Failure, now time.Time) (bool, error) {
	res, err := s.db.NewUpdate().Table("bookings").
		Set("status = ?", domain.StatusFailed).Set("failure_code = ?", f.Code).
		Set("failure_status = ?", f.Status).Set("failure_detail = ?", f.Detail).Set("updated_at = ?", now).
		Where("id = ? AND status = ?", id, domain.StatusPending).Exec(ctx)
	return affected(res, err, "fail booking")
}

// MarkCancelled moves a CONFIRMED booking to CANCELLED with its refund.
func (s *Store) MarkCancelled(ctx context.Context, b domain.Booking) (bool, error) {
	res, err := s.db.NewUpdate().Table("bookings").
		Set("status = ?", domain.StatusCancelled).Set("version = version + 1").
		Set("cancelled_at = ?", b.CancelledAt).Set("updated_at = ?", b.UpdatedAt).
		Set("payment_status = ?", b.Payment.Status).Set("refund_amount = ?", b.Payment.RefundAmount).
		Set("refund_transaction_id = ?", strPtr(b.Payment.RefundTxID)).Set("refunded_at = ?", b.Payment.RefundedAt).
		Where("id = ? AND status = ?", b.ID, domain.StatusConfirmed).Exec(ctx)
	return affected(res, err, "cancel booking")
}

func affected(res interface{ RowsAffected() (int64, error) }, err error, op string) (bool, error) {
	if err != nil {
		return false, wrap(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, wrap(op, err)
	}
	return n == 1, nil
}

// ClaimPending leases due PENDING bookings; SKIP LOCKED lets replicas share the work.
func (s *Store) ClaimPending(ctx context.Context, olderThan, now time.Time, lease time.Duration, limit int) ([]domain.Booking, error) {
	var rows []bookingRow
	const q = `UPDATE bookings SET attempts = attempts + 1, next_attempt_at = ?
		WHERE id IN (SELECT id FROM bookings
			WHERE status = 'PENDING' AND created_at < ? AND next_attempt_at <= ?
			ORDER BY next_attempt_at LIMIT ? FOR UPDATE SKIP LOCKED)
		RETURNING *`
	if err := s.db.NewRaw(q, now.Add(lease), olderThan, now, limit).Scan(ctx, &rows); err != nil && !pg.IsNoRows(err) {
		return nil, wrap("claim pending", err)
	}
	return toBookings(rows), nil
}

// ConfirmedOfEvent locks a batch of an event's CONFIRMED bookings.
func (s *Store) ConfirmedOfEvent(ctx context.Context, eventID uuid.UUID, limit int) ([]domain.Booking, error) {
	var rows []bookingRow
	err := s.db.NewSelect().Model(&rows).Where("event_id = ? AND status = ?", eventID, domain.StatusConfirmed).
		OrderExpr("id").Limit(int64(limit)).For("UPDATE").Scan(ctx)
	if err != nil && !pg.IsNoRows(err) {
		return nil, wrap("confirmed of event", err)
	}
	return toBookings(rows), nil
}

// Bookings lists bookings newest first.
func (s *Store) Bookings(ctx context.Context, f domain.BookingFilter) ([]domain.Booking, int, error) {
	var rows []bookingRow
	n, err := listPage(ctx, s.db.NewSelect().Model(&rows), f, "created_at DESC, id DESC")
	if err != nil {
		return nil, 0, wrap("list bookings", err)
	}
	return toBookings(rows), n, nil
}

func toBookings(rows []bookingRow) []domain.Booking {
	out := make([]domain.Booking, len(rows))
	for i, r := range rows {
		out[i] = r.toDomain()
	}
	return out
}

// InsertConfirmed stores a booking that inventory has already sold unless the user's
// booking of that hold exists (a twin request, or the seats.sold reconciler, was first):
// inserted reports which. ErrRefTaken or ErrDuplicateKey when another unique key clashes.
// It never raises a unique violation, so it is safe inside a larger transaction: a clash
// is told apart afterwards, off the happy path.
func (s *Store) InsertConfirmed(ctx context.Context, b domain.Booking) (bool, error) {
	row := fromBooking(b)
	res, err := s.db.NewInsert().Model(&row).On("CONFLICT DO NOTHING").Exec(ctx)
	if ok, err := affected(res, err, "insert confirmed booking"); ok || err != nil {
		return ok, err
	}
	if _, found, err := s.BookingByHold(ctx, b.UserID, b.HoldID); err != nil || found {
		return false, err
	}
	if b.IdempotencyKey != "" {
		if _, found, err := s.BookingByKey(ctx, b.UserID, b.IdempotencyKey); err != nil || found {
			if err == nil {
				err = domain.ErrDuplicateKey
			}
			return false, err
		}
	}
	return false, domain.ErrRefTaken
}

// errBatchClash fails a batch in which some booking clashed on a key other than its hold.
var errBatchClash = errors.New("a booking of the batch clashed on its reference or Idempotency-Key")

// InsertConfirmedBatch is InsertConfirmed for many bookings in one statement: inserted[i]
// reports whether bs[i] was new; false means the user's booking of that hold exists. Any
// other clash fails the batch; the caller then stores the bookings one by one.
func (s *Store) InsertConfirmedBatch(ctx context.Context, bs []domain.Booking) ([]bool, error) {
	rows := make([]bookingRow, len(bs))
	for i, b := range bs {
		rows[i] = fromBooking(b)
	}
	var ids []uuid.UUID
	if err := s.db.NewInsert().Model(&rows).On("CONFLICT DO NOTHING").Returning("id").
		Scan(ctx, &ids); err != nil && !pg.IsNoRows(err) {
		return nil, wrap("insert confirmed bookings", err)
	}
	got := make(map[uuid.UUID]bool, len(ids))
	for _, id := range ids {
		got[id] = true
	}
	out := make([]bool, len(bs))
	for i, b := range bs {
		// Twin requests of one hold in one batch carry the same id: only the first created it.
		out[i] = got[b.ID]
		delete(got, b.ID)
		if !out[i] {
			// Rare (a twin or the reconciler was first): make sure it was the hold that clashed.
			if _, found, err := s.BookingByHold(ctx, b.UserID, b.HoldID); err != nil || !found {
				if err == nil {
					err = errBatchClash
				}
				return nil, err
			}
		}
	}
	return out, nil
}

// ClaimReconciled hands a booking the reconciler wrote to the request that made its sale:
// the request's Idempotency-Key (when the booking has none) and payment method are set, and
// claimed is true for exactly one caller.
func (s *Store) ClaimReconciled(ctx context.Context, id uuid.UUID, key, method string) (domain.Booking, bool, error) {
	var rows []bookingRow
	err := s.db.NewRaw(`UPDATE bookings SET reconciled = false, idempotency_key = COALESCE(idempotency_key, ?),
			payment_method = ?
		WHERE id = ? AND reconciled RETURNING *`, strPtr(key), method, id).Scan(ctx, &rows)
	if pg.ConstraintName(err) == "bookings_idempotency_key" {
		return domain.Booking{}, false, domain.ErrDuplicateKey
	}
	if err != nil && !pg.IsNoRows(err) {
		return domain.Booking{}, false, wrap("claim reconciled booking", err)
	}
	if len(rows) == 0 {
		return domain.Booking{}, false, nil
	}
	return rows[0].toDomain(), true, nil
}
