// Package store keeps the waitlist in PostgreSQL with bun: entries, the events and users
// read models, offer-round requests and the notification table.
package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"evently.dev/libs/contracts"
	"evently.dev/libs/outbox"
	"evently.dev/libs/pg"

	"evently.dev/services/waitlist/internal/domain"
)

// Repo implements domain.Repository on a database or one transaction.
type Repo struct{ db bun.IDB }

// New binds a repository to db (a *bun.DB or a bun.Tx).
func New(db bun.IDB) *Repo { return &Repo{db: db} }

var _ domain.Repository = (*Repo)(nil)

// Store owns the database and opens transactions for the use cases.
type Store struct {
	// DB is the pool, or a transaction someone else opened, which InTx then joins.
	DB bun.IDB
}

// InTx runs fn with a repository bound to one transaction, committed when fn returns nil.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context, r domain.Repository) error) error {
	return pg.InTx(ctx, s.DB, func(db bun.IDB) domain.Repository { return New(db) }, fn)
}

// Repo returns a repository outside any transaction, for reads.
func (s *Store) Repo() domain.Repository { return New(s.DB) }

// entryRow is one row of entries.
type entryRow struct {
	bun.BaseModel `bun:"table:entries"`

	ID             uuid.UUID  `bun:"id,pk,type:uuid"`
	Seq            int64      `bun:"seq,scanonly"`
	EventID        uuid.UUID  `bun:"event_id,type:uuid"`
	UserID         string     `bun:"user_id"`
	SectionID      *string    `bun:"section_id"`
	Quantity       int        `bun:"quantity"`
	Status         string     `bun:"status"`
	JoinedAt       time.Time  `bun:"joined_at"`
	OfferedAt      *time.Time `bun:"offered_at"`
	HoldID         *uuid.UUID `bun:"hold_id,type:uuid"`
	SeatIDs        []string   `bun:"seat_ids,array"`
	OfferAmount    *int64     `bun:"offer_amount"`
	OfferCurrency  *string    `bun:"offer_currency"`
	OfferExpiresAt *time.Time `bun:"offer_expires_at"`
	BookingID      *uuid.UUID `bun:"booking_id,type:uuid"`
	EndedAt        *time.Time `bun:"ended_at"`
	EndReason      *string    `bun:"end_reason"`
	UpdatedAt      time.Time  `bun:"updated_at,nullzero,default:now()"`
	Position       int        `bun:"position,scanonly"`
}

func (r entryRow) toDomain() domain.Entry {
	e := domain.Entry{ID: r.ID, Seq: r.Seq, EventID: r.EventID, UserID: r.UserID, Quantity: r.Quantity,
		Status: domain.Status(r.Status), JoinedAt: r.JoinedAt.UTC(), BookingID: r.BookingID, Position: r.Position}
	if r.SectionID != nil {
		e.SectionID = *r.SectionID
	}
	if r.EndedAt != nil {
		t := r.EndedAt.UTC()
		e.EndedAt = &t
	}
	if r.EndReason != nil {
		e.EndReason = *r.EndReason
	}
	if r.HoldID != nil && r.OfferedAt != nil {
		o := &domain.Offer{HoldID: *r.HoldID, SeatIDs: r.SeatIDs, OfferedAt: r.OfferedAt.UTC()}
		if r.OfferAmount != nil {
			o.TotalAmount = *r.OfferAmount
		}
		if r.OfferCurrency != nil {
			o.Currency = *r.OfferCurrency
		}
		if r.OfferExpiresAt != nil {
			o.ExpiresAt = r.OfferExpiresAt.UTC()
		}
		e.Offer = o
	}
	if !e.Status.Live() {
		e.Position = 0
	}
	return e
}

// positionExpr is an entry's 1-based place among its event's live entries.
const positionExpr = `CASE WHEN e.status IN ('WAITING','OFFERED') THEN (SELECT count(*) FROM entries a
	WHERE a.event_id = e.event_id AND a.status IN ('WAITING','OFFERED') AND a.seq <= e.seq) ELSE 0 END AS position`

func (r *Repo) selectEntries() *bun.SelectQuery {
	return r.db.NewSelect().Model((*entryRow)(nil)).ModelTableExpr("entries AS e").
		ColumnExpr("e.*").ColumnExpr(positionExpr)
}

func notFound(err error) error {
	if pg.IsNoRows(err) {
		return domain.ErrNotFoundInStore
	}
	return err
}

// InsertEntry stores a new WAITING entry and fills its Seq and Position. A second live
// entry of the same user for the event is domain.ErrAlreadyWaiting.
func (r *Repo) InsertEntry(ctx context.Context, e *domain.Entry) error {
	row := entryRow{ID: e.ID, EventID: e.EventID, UserID: e.UserID, Quantity: e.Quantity,
		Status: string(e.Status), JoinedAt: e.JoinedAt}
	if e.SectionID != "" {
		row.SectionID = &e.SectionID
	}
	res, err := r.db.NewInsert().Model(&row).
		On("CONFLICT (event_id, user_id) WHERE status IN ('WAITING', 'OFFERED') DO NOTHING").Exec(ctx)
	if err != nil {
		return fmt.Errorf("insert entry: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return domain.ErrAlreadyWaiting
	}
	var got entryRow
	if err := r.selectEntries().Where("e.id = ?", e.ID).Scan(ctx, &got); err != nil {
		return fmt.Errorf("read new entry: %w", err)
	}
	e.Seq, e.Position = got.Seq, got.Position
	return nil
}

// LiveEntry returns the user's WAITING or OFFERED entry for the event.
func (r *Repo) LiveEntry(ctx context.Context, eventID uuid.UUID, userID string) (domain.Entry, error) {
	var row entryRow
	err := r.selectEntries().Where("e.event_id = ? AND e.user_id = ? AND e.status IN ('WAITING','OFFERED')", eventID, userID).
		Scan(ctx, &row)
	if err != nil {
		return domain.Entry{}, notFound(err)
	}
	return row.toDomain(), nil
}

// LatestEntry returns the user's live entry for the event, else their most recent one.
func (r *Repo) LatestEntry(ctx context.Context, eventID uuid.UUID, userID string) (domain.Entry, error) {
	var row entryRow
	err := r.selectEntries().Where("e.event_id = ? AND e.user_id = ?", eventID, userID).
		OrderExpr("e.status IN ('WAITING','OFFERED') DESC, e.seq DESC").Limit(1).Scan(ctx, &row)
	if err != nil {
		return domain.Entry{}, notFound(err)
	}
	return row.toDomain(), nil
}

func (r *Repo) entries(ctx context.Context, q *bun.SelectQuery) ([]domain.Entry, error) {
	var rows []entryRow
	if err := q.Scan(ctx, &rows); err != nil {
		return nil, err
	}
	out := make([]domain.Entry, len(rows))
	for i, row := range rows {
		out[i] = row.toDomain()
	}
	return out, nil
}

// WaitingEntries returns the event's WAITING entries in queue order.
func (r *Repo) WaitingEntries(ctx context.Context, eventID uuid.UUID) ([]domain.Entry, error) {
	return r.entries(ctx, r.db.NewSelect().Model((*entryRow)(nil)).ModelTableExpr("entries AS e").ColumnExpr("e.*").
		Where("e.event_id = ? AND e.status = 'WAITING'", eventID).OrderExpr("e.seq"))
}

// LiveEntries returns the event's WAITING and OFFERED entries in queue order.
func (r *Repo) LiveEntries(ctx context.Context, eventID uuid.UUID) ([]domain.Entry, error) {
	return r.entries(ctx, r.db.NewSelect().Model((*entryRow)(nil)).ModelTableExpr("entries AS e").ColumnExpr("e.*").
		Where("e.event_id = ? AND e.status IN ('WAITING','OFFERED')", eventID).OrderExpr("e.seq"))
}

// EntryByHold returns the entry whose offer is the given hold.
func (r *Repo) EntryByHold(ctx context.Context, holdID uuid.UUID) (domain.Entry, error) {
	var row entryRow
	if err := r.selectEntries().Where("e.hold_id = ?", holdID).Scan(ctx, &row); err != nil {
		return domain.Entry{}, notFound(err)
	}
	return row.toDomain(), nil
}

// EntriesByHolds returns the entries holding one of holdIDs as their offer.
func (r *Repo) EntriesByHolds(ctx context.Context, holdIDs []uuid.UUID) ([]domain.Entry, error) {
	if len(holdIDs) == 0 {
		return nil, nil
	}
	var rows []entryRow
	if err := r.selectEntries().Where("e.hold_id IN (?)", bun.List(holdIDs)).Scan(ctx, &rows); err != nil && !pg.IsNoRows(err) {
		return nil, fmt.Errorf("entries by holds: %w", err)
	}
	out := make([]domain.Entry, len(rows))
	for i, row := range rows {
		out[i] = row.toDomain()
	}
	return out, nil
}

// ListEntries pages through an event's entries in queue order.
func (r *Repo) ListEntries(ctx context.Context, f domain.EntryFilter) ([]domain.Entry, int, error) {
	q := r.selectEntries().Where("e.event_id = ?", f.EventID)
	if f.Status != "" {
		q = q.Where("e.status = ?", string(f.Status))
	}
	var rows []entryRow
	total, err := q.OrderExpr("e.seq").Limit(int64(f.Limit)).Offset(int64(f.Offset)).ScanAndCount(ctx, &rows)
	if err != nil {
		return nil, 0, err
	}
	out := make([]domain.Entry, len(rows))
	for i, row := range rows {
		out[i] = row.toDomain()
	}
	return out, int(total), nil
}

// HasWaiting reports whether anyone waits for the event.
func (r *Repo) HasWaiting(ctx context.Context, eventID uuid.UUID) (bool, error) {
	return r.db.NewSelect().Table("entries").Where("event_id = ? AND status = 'WAITING'", eventID).Exists(ctx)
}

// Stats computes an event's waitlist figures in one query.
func (r *Repo) Stats(ctx context.Context, eventID uuid.UUID) (domain.Stats, error) {
	var row struct {
		Waiting, Offered, Converted, Expired, Cancelled int
		OffersMade                                      int
		SeatsWaiting                                    int
		MedianWaitSeconds                               *float64
		OldestWaiting                                   *time.Time
	}
	const q = `SELECT
		count(*) FILTER (WHERE status = 'WAITING') AS waiting,
		count(*) FILTER (WHERE status = 'OFFERED') AS offered,
		count(*) FILTER (WHERE status = 'CONVERTED') AS converted,
		count(*) FILTER (WHERE status = 'EXPIRED') AS expired,
		count(*) FILTER (WHERE status = 'CANCELLED') AS cancelled,
		count(*) FILTER (WHERE offered_at IS NOT NULL) AS offers_made,
		coalesce(sum(quantity) FILTER (WHERE status = 'WAITING'), 0) AS seats_waiting,
		percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM offered_at - joined_at))
			FILTER (WHERE offered_at IS NOT NULL) AS median_wait_seconds,
		min(joined_at) FILTER (WHERE status = 'WAITING') AS oldest_waiting
		FROM entries WHERE event_id = ?`
	if err := r.db.NewRaw(q, eventID).Scan(ctx, &row); err != nil {
		return domain.Stats{}, err
	}
	s := domain.Stats{EventID: eventID, ByStatus: map[domain.Status]int{
		domain.StatusWaiting: row.Waiting, domain.StatusOffered: row.Offered, domain.StatusConverted: row.Converted,
		domain.StatusExpired: row.Expired, domain.StatusCancelled: row.Cancelled},
		OffersMade: row.OffersMade, SeatsWaiting: row.SeatsWaiting, OldestWaiting: row.OldestWaiting}
	for _, n := range s.ByStatus {
		s.Total += n
	}
	if s.OffersMade > 0 {
		s.ConversionRate = float64(row.Converted) / float64(s.OffersMade)
	}
	if row.MedianWaitSeconds != nil {
		d := time.Duration(*row.MedianWaitSeconds * float64(time.Second))
		s.MedianWait = &d
	}
	return s, nil
}

// MarkOffered records an offer on a WAITING entry.
func (r *Repo) MarkOffered(ctx context.Context, entryID uuid.UUID, o domain.Offer) (bool, error) {
	res, err := r.db.NewUpdate().Table("entries").
		Set("status = 'OFFERED'").Set("offered_at = ?", o.OfferedAt).Set("hold_id = ?", o.HoldID).
		Set("seat_ids = ?", pgdialect.Array(o.SeatIDs)).Set("offer_amount = ?", o.TotalAmount).
		Set("offer_currency = ?", o.Currency).Set("offer_expires_at = ?", o.ExpiresAt).Set("updated_at = now()").
		Where("id = ? AND status = 'WAITING'", entryID).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("mark offered: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// EndEntry moves an entry from one of from to a final status.
func (r *Repo) EndEntry(ctx context.Context, entryID uuid.UUID, from []domain.Status, to domain.Status, reason string, bookingID *uuid.UUID, at time.Time) (bool, error) {
	names := make([]string, len(from))
	for i, s := range from {
		names[i] = string(s)
	}
	res, err := r.db.NewUpdate().Table("entries").
		Set("status = ?", string(to)).Set("ended_at = ?", at).Set("end_reason = ?", reason).
		Set("booking_id = coalesce(?, booking_id)", bookingID).Set("updated_at = now()").
		Where("id = ? AND status IN (?)", entryID, bun.List(names)).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("end entry: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// UpsertEvent records an event's latest known state; an older version never overwrites a newer one.
func (r *Repo) UpsertEvent(ctx context.Context, e domain.EventInfo) error {
	secs, err := json.Marshal(e.Sections)
	if err != nil {
		return err
	}
	if e.Sections == nil {
		secs = []byte("[]")
	}
	const q = `INSERT INTO events (id, name, status, venue_name, starts_at, currency, sections, version, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, now())
		ON CONFLICT (id) DO UPDATE SET
			name = CASE WHEN excluded.name <> '' THEN excluded.name ELSE events.name END,
			status = CASE WHEN events.status = 'CANCELLED' THEN events.status ELSE excluded.status END,
			venue_name = CASE WHEN excluded.venue_name <> '' THEN excluded.venue_name ELSE events.venue_name END,
			starts_at = coalesce(excluded.starts_at, events.starts_at),
			currency = CASE WHEN excluded.currency <> '' THEN excluded.currency ELSE events.currency END,
			sections = CASE WHEN excluded.sections <> '[]'::jsonb THEN excluded.sections ELSE events.sections END,
			version = greatest(events.version, excluded.version),
			updated_at = now()
		WHERE excluded.version >= events.version OR excluded.status = 'CANCELLED'`
	_, err = r.db.ExecContext(ctx, q, e.ID, e.Name, e.Status, e.VenueName, e.StartsAt, e.Currency, string(secs), e.Version)
	return err
}

// Event returns the local copy of a catalog event.
func (r *Repo) Event(ctx context.Context, id uuid.UUID) (domain.EventInfo, error) {
	var row struct {
		ID        uuid.UUID
		Name      string
		Status    string
		VenueName string
		StartsAt  *time.Time
		Currency  string
		Sections  []byte
		Version   int
	}
	err := r.db.NewRaw(`SELECT id, name, status, venue_name, starts_at, currency, sections::text AS sections, version
		FROM events WHERE id = ?`, id).Scan(ctx, &row)
	if err != nil {
		return domain.EventInfo{}, notFound(err)
	}
	e := domain.EventInfo{ID: row.ID, Name: row.Name, Status: row.Status, VenueName: row.VenueName,
		StartsAt: row.StartsAt, Currency: row.Currency, Version: row.Version}
	_ = json.Unmarshal(row.Sections, &e.Sections)
	return e, nil
}

// UpsertUser records a user's contact details.
func (r *Repo) UpsertUser(ctx context.Context, u domain.UserInfo) error {
	_, err := r.db.ExecContext(ctx, `INSERT INTO users (id, email, first_name, last_name) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET email = excluded.email, first_name = excluded.first_name,
		last_name = excluded.last_name, updated_at = now()`, u.ID, u.Email, u.FirstName, u.LastName)
	return err
}

// User returns a user's contact details.
func (r *Repo) User(ctx context.Context, id string) (domain.UserInfo, error) {
	var u domain.UserInfo
	err := r.db.NewRaw(`SELECT id, email, first_name, last_name FROM users WHERE id = ?`, id).
		Scan(ctx, &u.ID, &u.Email, &u.FirstName, &u.LastName)
	if err != nil {
		return domain.UserInfo{}, notFound(err)
	}
	return u, nil
}

// Addressee reads the user's and the event's names in one statement: every email needs
// both, and a confirmation email is written for every booking.
func (r *Repo) Addressee(ctx context.Context, userID string, eventID uuid.UUID) (domain.Addressee, error) {
	var a domain.Addressee
	err := r.db.NewRaw(`SELECT coalesce(u.first_name, ''), coalesce(e.name, ''), coalesce(e.venue_name, ''), e.starts_at
		FROM (SELECT 1) AS one LEFT JOIN users u ON u.id = ? LEFT JOIN events e ON e.id = ?`, userID, eventID).
		Scan(ctx, &a.FirstName, &a.EventName, &a.VenueName, &a.StartsAt)
	if err != nil {
		return domain.Addressee{}, fmt.Errorf("addressee: %w", err)
	}
	return a, nil
}

// RequestRound asks the round worker for an offer round of the event (now).
func (r *Repo) RequestRound(ctx context.Context, eventID uuid.UUID, reason string) error {
	_, err := r.db.ExecContext(ctx, `INSERT INTO offer_rounds (event_id, reason) VALUES (?, ?)
		ON CONFLICT (event_id) DO UPDATE SET version = offer_rounds.version + 1, reason = excluded.reason,
		requested_at = now(), attempts = 0, next_attempt_at = now(), last_error = NULL`, eventID, reason)
	if err != nil {
		return fmt.Errorf("request round: %w", err)
	}
	return nil
}

// Addressees reads Addressee for every pair of to in one statement, in to's order.
func (r *Repo) Addressees(ctx context.Context, to []domain.AddresseeKey) ([]domain.Addressee, error) {
	users, events := make([]string, len(to)), make([]string, len(to))
	for i, k := range to {
		users[i], events[i] = k.UserID, k.EventID.String()
	}
	rows, err := r.db.QueryContext(ctx, `SELECT coalesce(u.first_name, ''), coalesce(e.name, ''), coalesce(e.venue_name, ''), e.starts_at
		FROM unnest(?::text[], ?::uuid[]) WITH ORDINALITY AS k(user_id, event_id, n)
		LEFT JOIN users u ON u.id = k.user_id LEFT JOIN events e ON e.id = k.event_id
		ORDER BY k.n`, pgdialect.Array(users), pgdialect.Array(events))
	if err != nil {
		return nil, fmt.Errorf("addressees: %w", err)
	}
	defer func() { _ = rows.Close() }()
	out := make([]domain.Addressee, 0, len(to))
	for rows.Next() {
		var a domain.Addressee
		if err := rows.Scan(&a.FirstName, &a.EventName, &a.VenueName, &a.StartsAt); err != nil {
			return nil, fmt.Errorf("addressees: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("addressees: %w", err)
	}
	if len(out) != len(to) {
		return nil, fmt.Errorf("addressees: %d rows for %d pairs", len(out), len(to))
	}
	return out, nil
}

// AddNotifications queues many emails in one statement; one whose dedupe key exists is
// dropped, as with AddNotification.
func (r *Repo) AddNotifications(ctx context.Context, ns []domain.Notification) error {
	if len(ns) == 0 {
		return nil
	}
	rows := make([]notificationRow, len(ns))
	for i, n := range ns {
		id, err := uuid.NewV7()
		if err != nil {
			return err
		}
		rows[i] = notificationRow{ID: id, DedupeKey: n.DedupeKey, UserID: n.UserID, EventID: n.EventID, Kind: n.Kind,
			Subject: n.Subject, BodyText: n.Text, BodyHTML: n.HTML}
	}
	if _, err := r.db.NewInsert().Model(&rows).On("CONFLICT (dedupe_key) DO NOTHING").Exec(ctx); err != nil {
		return fmt.Errorf("add notifications: %w", err)
	}
	return nil
}

// notificationRow is the columns AddNotifications writes; the others keep their defaults.
type notificationRow struct {
	bun.BaseModel `bun:"table:notifications"`

	ID        uuid.UUID  `bun:"id,pk,type:uuid"`
	DedupeKey string     `bun:"dedupe_key"`
	UserID    string     `bun:"user_id"`
	EventID   *uuid.UUID `bun:"event_id,type:uuid"`
	Kind      string     `bun:"kind"`
	Subject   string     `bun:"subject"`
	BodyText  string     `bun:"body_text"`
	BodyHTML  string     `bun:"body_html"`
}

// AddNotification queues an email; a second one with the same dedupe key is dropped.
func (r *Repo) AddNotification(ctx context.Context, n domain.Notification) error {
	id, err := uuid.NewV7()
	if err != nil {
		return err
	}
	_, err = r.db.ExecContext(ctx, `INSERT INTO notifications (id, dedupe_key, user_id, event_id, kind, subject, body_text, body_html)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING`,
		id, n.DedupeKey, n.UserID, n.EventID, n.Kind, n.Subject, n.Text, n.HTML)
	if err != nil {
		return fmt.Errorf("add notification: %w", err)
	}
	return nil
}

// Source is the CloudEvents source of every event the waitlist publishes.
const Source = "/services/waitlist"

// Publish writes a waitlist event to the outbox, keyed by the show's event id, after
// checking it against its JSON Schema so a broken payload fails here, not at a consumer.
func (r *Repo) Publish(ctx context.Context, eventID uuid.UUID, typ string, payload any) error {
	if err := contracts.ValidateValue(typ, payload); err != nil {
		return fmt.Errorf("publish %s: %w", typ, err)
	}
	_, err := outbox.AddJSON(ctx, r.db, contracts.TopicWaitlist, eventID.String(), typ, Source, payload)
	return err
}
