package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"evently.dev/libs/contracts"
	"evently.dev/libs/pg"

	"evently.dev/services/analytics/internal/domain"
)

// Projector applies facts to one generation's read models. Every method runs inside the
// consumer's transaction (db is that bun.Tx), which also records the event id in the
// inbox, so each fact's effect lands exactly once. Beyond the inbox, state rows (holds,
// bookings, waitlist entries) make the effects idempotent per business id too.
type Projector struct {
	Gen int
	Loc *time.Location
}

// Hold and entry states kept by the projector.
const (
	HoldActive    = "ACTIVE"
	HoldConverted = "CONVERTED"
	HoldExpired   = "EXPIRED"
	HoldReleased  = "RELEASED"

	BookingConfirmed = "CONFIRMED"
	BookingCancelled = "CANCELLED"

	EntryWaiting   = "WAITING"
	EntryOffered   = "OFFERED"
	EntryConverted = "CONVERTED"
	EntryExpired   = "EXPIRED"
	EntryLeft      = "LEFT"
)

// ensureEvent creates the show's row if no topic mentioned it before: topics are not
// ordered against each other, so a booking may arrive before catalog's event.published.
func (p Projector) ensureEvent(ctx context.Context, db bun.IDB, eventID string) error {
	_, err := db.ExecContext(ctx, `INSERT INTO events (gen, event_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, p.Gen, eventID)
	if err != nil {
		return fmt.Errorf("ensure event %s: %w", eventID, err)
	}
	return nil
}

// EventPublished records a show's name, category, start, currency and sections.
func (p Projector) EventPublished(ctx context.Context, db bun.IDB, e contracts.EventPublished) error {
	capacity := 0
	for _, s := range e.Sections {
		capacity += s.Capacity
	}
	_, err := db.ExecContext(ctx, `INSERT INTO events (gen, event_id, name, category, status, currency, starts_at,
			catalog_version, published_at, capacity)
		VALUES (?, ?, ?, ?, 'PUBLISHED', ?, ?, ?, ?, ?)
		ON CONFLICT (gen, event_id) DO UPDATE SET name = EXCLUDED.name, category = EXCLUDED.category,
			status = CASE WHEN events.status = 'CANCELLED' THEN events.status ELSE EXCLUDED.status END,
			currency = EXCLUDED.currency, starts_at = EXCLUDED.starts_at,
			catalog_version = GREATEST(events.catalog_version, EXCLUDED.catalog_version),
			published_at = EXCLUDED.published_at, capacity = EXCLUDED.capacity`,
		p.Gen, e.EventID, e.Name, e.Category, e.Currency, e.StartsAt, e.Version, e.PublishedAt, capacity)
	if err != nil {
		return fmt.Errorf("event published: %w", err)
	}
	for _, s := range e.Sections {
		_, err := db.ExecContext(ctx, `INSERT INTO event_sections (gen, event_id, section_id, name, capacity, currency)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (gen, event_id, section_id) DO UPDATE SET name = EXCLUDED.name, capacity = EXCLUDED.capacity,
				currency = CASE WHEN event_sections.currency = '' THEN EXCLUDED.currency ELSE event_sections.currency END`,
			p.Gen, e.EventID, s.SectionID, s.Name, s.Capacity, e.Currency)
		if err != nil {
			return fmt.Errorf("event published: section %s: %w", s.SectionID, err)
		}
	}
	return nil
}

// EventUpdated records a new name, start or status; an older catalog version is ignored.
func (p Projector) EventUpdated(ctx context.Context, db bun.IDB, e contracts.EventUpdated) error {
	if err := p.ensureEvent(ctx, db, e.EventID); err != nil {
		return err
	}
	_, err := db.ExecContext(ctx, `UPDATE events SET name = ?, starts_at = ?,
			currency = CASE WHEN ? = '' THEN currency ELSE ? END,
			status = CASE WHEN status = 'CANCELLED' OR ? = '' THEN status ELSE ? END,
			catalog_version = ?
		WHERE gen = ? AND event_id = ? AND catalog_version <= ?`,
		e.Name, e.StartsAt, e.Currency, e.Currency, e.Status, e.Status, e.Version, p.Gen, e.EventID, e.Version)
	if err != nil {
		return fmt.Errorf("event updated: %w", err)
	}
	return nil
}

// EventCancelled marks a show cancelled; its bookings' refunds arrive as booking.cancelled.
func (p Projector) EventCancelled(ctx context.Context, db bun.IDB, e contracts.EventCancelled) error {
	if err := p.ensureEvent(ctx, db, e.EventID); err != nil {
		return err
	}
	_, err := db.ExecContext(ctx, `UPDATE events SET status = 'CANCELLED', cancelled_at = ? WHERE gen = ? AND event_id = ?`,
		e.CancelledAt, p.Gen, e.EventID)
	if err != nil {
		return fmt.Errorf("event cancelled: %w", err)
	}
	return nil
}

// HoldCreated records a live hold.
func (p Projector) HoldCreated(ctx context.Context, db bun.IDB, h contracts.HoldCreated, at time.Time) error {
	if err := p.ensureEvent(ctx, db, h.EventID); err != nil {
		return err
	}
	res, err := db.ExecContext(ctx, `INSERT INTO holds (gen, hold_id, event_id, seats, purpose, status, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		p.Gen, h.HoldID, h.EventID, len(h.SeatIDs), h.Purpose, HoldActive, at, h.ExpiresAt)
	if err != nil {
		return fmt.Errorf("hold created: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	if _, err := db.ExecContext(ctx, `UPDATE events SET holds_created = holds_created + 1 WHERE gen = ? AND event_id = ?`,
		p.Gen, h.EventID); err != nil {
		return fmt.Errorf("hold created: %w", err)
	}
	return upsertAdd(ctx, db, "live_minutes", []string{"gen", "minute"}, []any{p.Gen, domain.MinuteStart(at)},
		[]string{"holds_created"}, []any{1})
}

// HoldEnded records a hold released or expired (status HoldReleased or HoldExpired).
func (p Projector) HoldEnded(ctx context.Context, db bun.IDB, holdID, eventID, status string) error {
	res, err := db.ExecContext(ctx, `UPDATE holds SET status = ? WHERE gen = ? AND hold_id = ? AND status = ?`,
		status, p.Gen, holdID, HoldActive)
	if err != nil {
		return fmt.Errorf("hold %s: %w", status, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil // unknown or already ended: nothing to count
	}
	col := "holds_released"
	if status == HoldExpired {
		col = "holds_expired"
	}
	_, err = db.ExecContext(ctx, "UPDATE events SET "+col+" = "+col+" + 1 WHERE gen = ? AND event_id = ?", p.Gen, eventID)
	return err
}

// SeatsSold converts the hold and adds the sold seats to the ledger counts.
func (p Projector) SeatsSold(ctx context.Context, db bun.IDB, s contracts.SeatsSold) error {
	if err := p.ensureEvent(ctx, db, s.EventID); err != nil {
		return err
	}
	if s.HoldID != "" {
		var status string
		err := db.QueryRowContext(ctx, `SELECT status FROM holds WHERE gen = ? AND hold_id = ? FOR UPDATE`, p.Gen, s.HoldID).Scan(&status)
		switch {
		case pg.IsNoRows(err):
		case err != nil:
			return fmt.Errorf("seats sold: %w", err)
		case status == HoldActive || status == HoldExpired:
			// A hold the sweeper saw lapse but whose commit had already won still converted.
			if _, err := db.ExecContext(ctx, `UPDATE holds SET status = ? WHERE gen = ? AND hold_id = ?`,
				HoldConverted, p.Gen, s.HoldID); err != nil {
				return fmt.Errorf("seats sold: %w", err)
			}
			expired := 0
			if status == HoldExpired {
				expired = 1
			}
			if _, err := db.ExecContext(ctx, `UPDATE events SET holds_converted = holds_converted + 1,
				holds_expired = holds_expired - ? WHERE gen = ? AND event_id = ?`, expired, p.Gen, s.EventID); err != nil {
				return fmt.Errorf("seats sold: %w", err)
			}
		}
	}
	return p.ledger(ctx, db, s.EventID, s.Capacity, s.Sections, len(s.Seats), sectionDeltas(s.Seats, 1))
}

// SeatsReleased takes seats that came back off the ledger count.
func (p Projector) SeatsReleased(ctx context.Context, db bun.IDB, s contracts.SeatsReleased) error {
	if err := p.ensureEvent(ctx, db, s.EventID); err != nil {
		return err
	}
	n := len(s.SeatIDs)
	if len(s.Seats) > 0 {
		n = len(s.Seats)
	}
	// Seats (with their sections) is optional in the contract; without it only the
	// event's total can move.
	return p.ledger(ctx, db, s.EventID, s.Capacity, s.Sections, -n, sectionDeltas(s.Seats, -1))
}

// sectionDelta is a change of one section's ledger count.
type sectionDelta struct {
	section string
	n       int
}

func sectionDeltas(seats []contracts.SoldSeat, sign int) []sectionDelta {
	var out []sectionDelta
	idx := map[string]int{}
	for _, st := range seats {
		i, ok := idx[st.SectionID]
		if !ok {
			i = len(out)
			idx[st.SectionID] = i
			out = append(out, sectionDelta{section: st.SectionID})
		}
		out[i].n += sign
	}
	return out
}

// ledger moves the ledger counts by the per-seat deltas of one change. Inventory's
// section snapshots may miss a concurrent sale of the same show, so counts are never set
// from them; only capacities (which do not change) are taken from the snapshot.
func (p Projector) ledger(ctx context.Context, db bun.IDB, eventID string, capacity int, snapshot []contracts.SectionCount,
	total int, deltas []sectionDelta) error {
	if _, err := db.ExecContext(ctx, `UPDATE events SET ledger_sold = ledger_sold + ?,
		capacity = CASE WHEN ? > 0 THEN ? ELSE capacity END WHERE gen = ? AND event_id = ?`,
		total, capacity, capacity, p.Gen, eventID); err != nil {
		return fmt.Errorf("ledger counts: %w", err)
	}
	for _, s := range snapshot {
		if s.Capacity <= 0 {
			continue
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO event_sections (gen, event_id, section_id, capacity)
			VALUES (?, ?, ?, ?) ON CONFLICT (gen, event_id, section_id) DO UPDATE SET capacity = EXCLUDED.capacity`,
			p.Gen, eventID, s.SectionID, s.Capacity); err != nil {
			return fmt.Errorf("ledger capacity: section %s: %w", s.SectionID, err)
		}
	}
	for _, d := range deltas {
		if err := upsertAdd(ctx, db, "event_sections", []string{"gen", "event_id", "section_id"},
			[]any{p.Gen, eventID, d.section}, []string{"ledger_sold"}, []any{d.n}); err != nil {
			return err
		}
	}
	return nil
}

// bookedSeat is a seat as the bookings table keeps it.
type bookedSeat struct {
	SectionID string `json:"s"`
	Price     int64  `json:"p"`
}

// sectionTotals groups seats per section: count and face value.
func sectionTotals(seats []bookedSeat) (order []string, count map[string]int64, value map[string]int64) {
	count, value = map[string]int64{}, map[string]int64{}
	for _, s := range seats {
		if _, ok := count[s.SectionID]; !ok {
			order = append(order, s.SectionID)
		}
		count[s.SectionID]++
		value[s.SectionID] += s.Price
	}
	return order, count, value
}

// sales adds d to the show's totals and to its hour, its day and the system's day.
func (p Projector) sales(ctx context.Context, db bun.IDB, eventID, currency string, at time.Time, d domain.Sales) error {
	vals := []any{d.Bookings, d.Cancellations, d.SeatsBooked, d.SeatsCancelled, d.Gross, d.Refunds}
	day := domain.Day(at, p.Loc)
	steps := []struct {
		table string
		keys  []string
		kv    []any
	}{
		{"event_sales", []string{"gen", "event_id", "currency"}, []any{p.Gen, eventID, currency}},
		{"event_hourly", []string{"gen", "event_id", "bucket", "currency"}, []any{p.Gen, eventID, domain.HourStart(at, p.Loc), currency}},
		{"event_daily", []string{"gen", "event_id", "day", "currency"}, []any{p.Gen, eventID, day.Format(domain.DateLayout), currency}},
		{"event_monthly", []string{"gen", "event_id", "month", "currency"}, []any{p.Gen, eventID, domain.MonthStart(day).Format(domain.DateLayout), currency}},
		{"daily", []string{"gen", "day", "currency"}, []any{p.Gen, day.Format(domain.DateLayout), currency}},
	}
	for _, s := range steps {
		if err := upsertAdd(ctx, db, s.table, s.keys, s.kv, counters, vals); err != nil {
			return err
		}
	}
	if _, err := db.ExecContext(ctx, `UPDATE events SET seats_sold = seats_sold + ? WHERE gen = ? AND event_id = ?`,
		d.SeatsBooked-d.SeatsCancelled, p.Gen, eventID); err != nil {
		return fmt.Errorf("event seats sold: %w", err)
	}
	return upsertAdd(ctx, db, "live_minutes", []string{"gen", "minute"}, []any{p.Gen, domain.MinuteStart(at)},
		[]string{"bookings", "cancellations", "seats_booked", "seats_cancelled"},
		[]any{d.Bookings, d.Cancellations, d.SeatsBooked, d.SeatsCancelled})
}

// BookingConfirmed counts a sale at its confirmation time; a booking id already counted
// is ignored.
func (p Projector) BookingConfirmed(ctx context.Context, db bun.IDB, b contracts.BookingConfirmed, at time.Time) error {
	if err := p.ensureEvent(ctx, db, b.EventID); err != nil {
		return err
	}
	seats := make([]bookedSeat, len(b.Seats))
	for i, s := range b.Seats {
		seats[i] = bookedSeat{SectionID: s.SectionID, Price: s.Price}
	}
	raw, err := json.Marshal(seats)
	if err != nil {
		return err
	}
	res, err := db.ExecContext(ctx, `INSERT INTO bookings (gen, booking_id, event_id, currency, total, seats, status, confirmed_at)
		VALUES (?, ?, ?, ?, ?, ?::jsonb, ?, ?) ON CONFLICT DO NOTHING`,
		p.Gen, b.BookingID, b.EventID, b.Currency, b.TotalAmount, string(raw), BookingConfirmed, at)
	if err != nil {
		return fmt.Errorf("booking confirmed: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	if err := p.sales(ctx, db, b.EventID, b.Currency, at, domain.Sales{Bookings: 1, SeatsBooked: int64(len(b.Seats)),
		Gross: b.TotalAmount}); err != nil {
		return err
	}
	order, count, value := sectionTotals(seats)
	for _, sec := range order {
		if err := upsertAdd(ctx, db, "event_sections", []string{"gen", "event_id", "section_id"},
			[]any{p.Gen, b.EventID, sec}, []string{"seats_booked", "gross"}, []any{count[sec], value[sec]}); err != nil {
			return err
		}
	}
	_, err = db.ExecContext(ctx, `UPDATE event_sections SET currency = ? WHERE gen = ? AND event_id = ? AND currency = ''`,
		b.Currency, p.Gen, b.EventID)
	return err
}

// BookingCancelled counts a cancellation and its refund at the cancellation time and
// returns the booking's seats to its sections. It reports false for a booking never
// confirmed here (nothing is counted: a refund without its sale would skew every total).
func (p Projector) BookingCancelled(ctx context.Context, db bun.IDB, c contracts.BookingCancelled, at time.Time) (bool, error) {
	var eventID, currency, raw string
	err := db.QueryRowContext(ctx, `UPDATE bookings SET status = ?, refund = ?, cancelled_at = ?
		WHERE gen = ? AND booking_id = ? AND status = ? RETURNING event_id, currency, seats::text`,
		BookingCancelled, c.RefundAmount, at, p.Gen, c.BookingID, BookingConfirmed).Scan(&eventID, &currency, &raw)
	if pg.IsNoRows(err) {
		var exists bool
		if err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM bookings WHERE gen = ? AND booking_id = ?)`,
			p.Gen, c.BookingID).Scan(&exists); err != nil {
			return false, fmt.Errorf("booking cancelled: %w", err)
		}
		return exists, nil // exists: already cancelled, a repeat of the same fact
	}
	if err != nil {
		return false, fmt.Errorf("booking cancelled: %w", err)
	}
	var seats []bookedSeat
	if err := json.Unmarshal([]byte(raw), &seats); err != nil {
		return false, fmt.Errorf("booking cancelled: stored seats: %w", err)
	}
	if err := p.sales(ctx, db, eventID, currency, at, domain.Sales{Cancellations: 1,
		SeatsCancelled: int64(len(seats)), Refunds: c.RefundAmount}); err != nil {
		return false, err
	}
	order, count, value := sectionTotals(seats)
	for _, sec := range order {
		if err := upsertAdd(ctx, db, "event_sections", []string{"gen", "event_id", "section_id"},
			[]any{p.Gen, eventID, sec}, []string{"seats_cancelled", "cancelled_value"}, []any{count[sec], value[sec]}); err != nil {
			return false, err
		}
	}
	return true, nil
}

// activeEntry says whether an entry in status counts toward the queue length.
func activeEntry(status string) bool { return status == EntryWaiting || status == EntryOffered }

// Waitlist moves an entry to status and bumps the counter named for the fact (one of
// waitlist_joined, offers_made, offers_converted, offers_expired, waitlist_left). The
// queue length moves only when the entry enters or leaves the active states, so a
// repeated or out-of-order fact cannot drive it negative.
func (p Projector) Waitlist(ctx context.Context, db bun.IDB, entryID, eventID, status, counter string) error {
	switch counter {
	case "waitlist_joined", "offers_made", "offers_converted", "offers_expired", "waitlist_left":
	default:
		return fmt.Errorf("waitlist: unknown counter %q", counter)
	}
	if err := p.ensureEvent(ctx, db, eventID); err != nil {
		return err
	}
	var prev string
	err := db.QueryRowContext(ctx, `SELECT status FROM waitlist_entries WHERE gen = ? AND entry_id = ? FOR UPDATE`,
		p.Gen, entryID).Scan(&prev)
	if err != nil && !pg.IsNoRows(err) {
		return fmt.Errorf("waitlist: %w", err)
	}
	if counter == "waitlist_joined" && prev != "" {
		return nil // already queued: a repeated join
	}
	delta := 0
	if activeEntry(status) {
		delta++
	}
	if activeEntry(prev) {
		delta--
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO waitlist_entries (gen, entry_id, event_id, status) VALUES (?, ?, ?, ?)
		ON CONFLICT (gen, entry_id) DO UPDATE SET status = EXCLUDED.status`, p.Gen, entryID, eventID, status); err != nil {
		return fmt.Errorf("waitlist: %w", err)
	}
	_, err = db.ExecContext(ctx, "UPDATE events SET "+counter+" = "+counter+` + 1,
		waitlist_length = GREATEST(waitlist_length + ?, 0) WHERE gen = ? AND event_id = ?`, delta, p.Gen, eventID)
	if err != nil {
		return fmt.Errorf("waitlist: %w", err)
	}
	return nil
}
