package store

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

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

// The projections below each run as one statement: data-modifying CTEs gated on the
// state row (hold, booking) that makes a fact count once. A fact used to cost a dozen
// round trips of read-modify-write, which is what made analytics fall behind a rush.
// Tables shared by all shows (daily, live_minutes) are written last in each statement,
// after the show's own rows.

// HoldCreated records a live hold.
func (p Projector) HoldCreated(ctx context.Context, db bun.IDB, h contracts.HoldCreated, at time.Time) error {
	_, err := db.ExecContext(ctx, `WITH h AS (
			INSERT INTO holds (gen, hold_id, event_id, seats, purpose, status, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING 1),
		ev AS (INSERT INTO events (gen, event_id, holds_created) SELECT ?, ?, count(*) FROM h
			ON CONFLICT (gen, event_id) DO UPDATE SET holds_created = events.holds_created + EXCLUDED.holds_created),
		lm AS (INSERT INTO live_minutes (gen, minute, holds_created) SELECT ?, ?, 1 FROM h
			ON CONFLICT (gen, minute) DO UPDATE SET holds_created = live_minutes.holds_created + 1)
		SELECT 1`,
		p.Gen, h.HoldID, h.EventID, len(h.SeatIDs), h.Purpose, HoldActive, at, h.ExpiresAt,
		p.Gen, h.EventID, p.Gen, domain.MinuteStart(at))
	if err != nil {
		return fmt.Errorf("hold created: %w", err)
	}
	return nil
}

// HoldEnded records a hold released or expired (status HoldReleased or HoldExpired); an
// unknown or already ended hold counts nothing.
func (p Projector) HoldEnded(ctx context.Context, db bun.IDB, holdID, eventID, status string) error {
	col := "holds_released"
	if status == HoldExpired {
		col = "holds_expired"
	}
	_, err := db.ExecContext(ctx, `WITH h AS (
			UPDATE holds SET status = ? WHERE gen = ? AND hold_id = ? AND status = ? RETURNING 1)
		UPDATE events SET `+col+` = `+col+` + 1 WHERE gen = ? AND event_id = ? AND EXISTS (SELECT 1 FROM h)`,
		status, p.Gen, holdID, HoldActive, p.Gen, eventID)
	if err != nil {
		return fmt.Errorf("hold %s: %w", status, err)
	}
	return nil
}

// SeatsSold converts the hold and adds the sold seats to the ledger counts. A hold the
// sweeper saw lapse but whose commit had already won still converts.
func (p Projector) SeatsSold(ctx context.Context, db bun.IDB, s contracts.SeatsSold) error {
	return p.ledger(ctx, db, s.EventID, s.HoldID, s.Capacity, s.Sections, len(s.Seats), sectionDeltas(s.Seats, 1))
}

// SeatsReleased takes seats that came back off the ledger count.
func (p Projector) SeatsReleased(ctx context.Context, db bun.IDB, s contracts.SeatsReleased) error {
	n := len(s.SeatIDs)
	if len(s.Seats) > 0 {
		n = len(s.Seats)
	}
	// Seats (with their sections) is optional in the contract; without it only the
	// event's total can move.
	return p.ledger(ctx, db, s.EventID, "", s.Capacity, s.Sections, -n, sectionDeltas(s.Seats, -1))
}

// sectionDeltas counts seats per section, times sign.
func sectionDeltas(seats []contracts.SoldSeat, sign int) map[string]int {
	out := make(map[string]int, 2)
	for _, st := range seats {
		out[st.SectionID] += sign
	}
	return out
}

// ledger moves the ledger counts by the per-seat deltas of one change, converting holdID
// (if any) in the same statement. Inventory's section snapshots may miss a concurrent
// sale of the same show, so counts are never set from them; only capacities (which do not
// change) are taken from the snapshot, and a section row is written only when its count
// moves or its capacity differs.
func (p Projector) ledger(ctx context.Context, db bun.IDB, eventID, holdID string, capacity int,
	snapshot []contracts.SectionCount, total int, deltas map[string]int) error {
	caps := map[string]int{}
	for _, s := range snapshot {
		if s.Capacity > 0 {
			caps[s.SectionID] = s.Capacity
		}
	}
	ids := make([]string, 0, len(caps)+len(deltas))
	for id := range caps {
		ids = append(ids, id)
	}
	for id := range deltas {
		if _, ok := caps[id]; !ok {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids) // one lock order for every writer of these rows
	secCaps, secDeltas := make([]int64, len(ids)), make([]int64, len(ids))
	for i, id := range ids {
		secCaps[i], secDeltas[i] = int64(caps[id]), int64(deltas[id])
	}
	hold := `SELECT NULL::text AS status WHERE false`
	args := []any{}
	if holdID != "" {
		hold = `UPDATE holds n SET status = ? FROM (SELECT hold_id, status FROM holds
			WHERE gen = ? AND hold_id = ? AND status IN (?, ?) FOR UPDATE) o
			WHERE n.gen = ? AND n.hold_id = o.hold_id RETURNING o.status`
		args = append(args, HoldConverted, p.Gen, holdID, HoldActive, HoldExpired, p.Gen)
	}
	args = append(args, p.Gen, eventID, total, capacity, HoldExpired,
		p.Gen, eventID, pgdialect.Array(ids), pgdialect.Array(secCaps), pgdialect.Array(secDeltas))
	_, err := db.ExecContext(ctx, `WITH h AS (`+hold+`),
		ev AS (INSERT INTO events (gen, event_id, ledger_sold, capacity, holds_converted, holds_expired)
			SELECT ?, ?, ?, ?, count(*), -count(*) FILTER (WHERE status = ?) FROM h
			ON CONFLICT (gen, event_id) DO UPDATE SET ledger_sold = events.ledger_sold + EXCLUDED.ledger_sold,
				capacity = CASE WHEN EXCLUDED.capacity > 0 THEN EXCLUDED.capacity ELSE events.capacity END,
				holds_converted = events.holds_converted + EXCLUDED.holds_converted,
				holds_expired = events.holds_expired + EXCLUDED.holds_expired),
		sec AS (INSERT INTO event_sections (gen, event_id, section_id, capacity, ledger_sold)
			SELECT ?, ?, x.s, x.c, x.d FROM unnest(?::text[], ?::int[], ?::int[]) AS x(s, c, d)
			ON CONFLICT (gen, event_id, section_id) DO UPDATE SET
				capacity = CASE WHEN EXCLUDED.capacity > 0 THEN EXCLUDED.capacity ELSE event_sections.capacity END,
				ledger_sold = event_sections.ledger_sold + EXCLUDED.ledger_sold
			WHERE EXCLUDED.ledger_sold <> 0 OR (EXCLUDED.capacity > 0 AND EXCLUDED.capacity <> event_sections.capacity))
		SELECT 1`, args...)
	if err != nil {
		return fmt.Errorf("ledger counts: %w", err)
	}
	return nil
}

// bookedSeat is a seat as the bookings table keeps it.
type bookedSeat struct {
	SectionID string `json:"s"`
	Price     int64  `json:"p"`
}

// sectionTotals groups seats per section, sorted by section: count and face value.
func sectionTotals(seats []bookedSeat) (ids []string, count, value []int64) {
	idx := map[string]int{}
	for _, s := range seats {
		if _, ok := idx[s.SectionID]; !ok {
			idx[s.SectionID] = 0
			ids = append(ids, s.SectionID)
		}
	}
	sort.Strings(ids)
	for i, id := range ids {
		idx[id] = i
	}
	count, value = make([]int64, len(ids)), make([]int64, len(ids))
	for _, s := range seats {
		count[idx[s.SectionID]]++
		value[idx[s.SectionID]] += s.Price
	}
	return ids, count, value
}

// salesCTEs are the WITH items that add d to the show's totals, its hour, day and month,
// the system's day, the show's net seats and the live minute, once per row of gate.
func (p Projector) salesCTEs(gate, eventID, currency string, at time.Time, d domain.Sales) (string, []any) {
	day := domain.Day(at, p.Loc)
	vals := []any{d.Bookings, d.Cancellations, d.SeatsBooked, d.SeatsCancelled, d.Gross, d.Refunds}
	var b strings.Builder
	var args []any
	add := func(name, table string, keys []string, keyVals []any, cols []string, colVals []any) {
		all := append(append([]string{}, keys...), cols...)
		fmt.Fprintf(&b, ",\n\t%s AS (INSERT INTO %s (%s) SELECT %s FROM %s ON CONFLICT (%s) DO UPDATE SET ", name, table,
			strings.Join(all, ", "), strings.TrimSuffix(strings.Repeat("?, ", len(all)), ", "), gate, strings.Join(keys, ", "))
		for i, c := range cols {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s = %s.%s + EXCLUDED.%s", c, table, c, c)
		}
		b.WriteString(")")
		args = append(append(args, keyVals...), colVals...)
	}
	add("es", "event_sales", []string{"gen", "event_id", "currency"}, []any{p.Gen, eventID, currency}, counters, vals)
	add("eh", "event_hourly", []string{"gen", "event_id", "bucket", "currency"},
		[]any{p.Gen, eventID, domain.HourStart(at, p.Loc), currency}, counters, vals)
	add("ed", "event_daily", []string{"gen", "event_id", "day", "currency"},
		[]any{p.Gen, eventID, day.Format(domain.DateLayout), currency}, counters, vals)
	add("em", "event_monthly", []string{"gen", "event_id", "month", "currency"},
		[]any{p.Gen, eventID, domain.MonthStart(day).Format(domain.DateLayout), currency}, counters, vals)
	add("ev", "events", []string{"gen", "event_id"}, []any{p.Gen, eventID},
		[]string{"seats_sold"}, []any{d.SeatsBooked - d.SeatsCancelled})
	add("dy", "daily", []string{"gen", "day", "currency"}, []any{p.Gen, day.Format(domain.DateLayout), currency}, counters, vals)
	add("lm", "live_minutes", []string{"gen", "minute"}, []any{p.Gen, domain.MinuteStart(at)},
		[]string{"bookings", "cancellations", "seats_booked", "seats_cancelled"},
		[]any{d.Bookings, d.Cancellations, d.SeatsBooked, d.SeatsCancelled})
	return b.String(), args
}

// BookingConfirmed counts a sale at its confirmation time; a booking id already counted
// is ignored.
func (p Projector) BookingConfirmed(ctx context.Context, db bun.IDB, b contracts.BookingConfirmed, at time.Time) error {
	seats := make([]bookedSeat, len(b.Seats))
	for i, s := range b.Seats {
		seats[i] = bookedSeat{SectionID: s.SectionID, Price: s.Price}
	}
	raw, err := json.Marshal(seats)
	if err != nil {
		return err
	}
	ids, count, value := sectionTotals(seats)
	sales, salesArgs := p.salesCTEs("b", b.EventID, b.Currency, at, domain.Sales{Bookings: 1,
		SeatsBooked: int64(len(b.Seats)), Gross: b.TotalAmount})
	args := append([]any{p.Gen, b.BookingID, b.EventID, b.Currency, b.TotalAmount, string(raw), BookingConfirmed, at},
		salesArgs...)
	args = append(args, p.Gen, b.EventID, b.Currency, pgdialect.Array(ids), pgdialect.Array(count), pgdialect.Array(value),
		b.Currency, p.Gen, b.EventID, pgdialect.Array(ids))
	// A show's sections take the currency of its first sale when catalog's
	// event.published (which names it) has not arrived: the booked ones in sec, the
	// others in cur, so no row is written twice by one statement.
	_, err = db.ExecContext(ctx, `WITH b AS (
			INSERT INTO bookings (gen, booking_id, event_id, currency, total, seats, status, confirmed_at)
			VALUES (?, ?, ?, ?, ?, ?::jsonb, ?, ?) ON CONFLICT DO NOTHING RETURNING 1)`+sales+`,
		sec AS (INSERT INTO event_sections (gen, event_id, section_id, currency, seats_booked, gross)
			SELECT ?, ?, x.s, ?, x.c, x.v FROM b, unnest(?::text[], ?::bigint[], ?::bigint[]) AS x(s, c, v)
			ON CONFLICT (gen, event_id, section_id) DO UPDATE SET
				seats_booked = event_sections.seats_booked + EXCLUDED.seats_booked,
				gross = event_sections.gross + EXCLUDED.gross,
				currency = CASE WHEN event_sections.currency = '' THEN EXCLUDED.currency ELSE event_sections.currency END),
		cur AS (UPDATE event_sections SET currency = ? WHERE gen = ? AND event_id = ? AND currency = ''
			AND section_id <> ALL (?::text[]) AND EXISTS (SELECT 1 FROM b))
		SELECT 1`, args...)
	if err != nil {
		return fmt.Errorf("booking confirmed: %w", err)
	}
	return nil
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
	ids, count, value := sectionTotals(seats)
	sales, args := p.salesCTEs("g", eventID, currency, at, domain.Sales{Cancellations: 1,
		SeatsCancelled: int64(len(seats)), Refunds: c.RefundAmount})
	args = append(args, p.Gen, eventID, pgdialect.Array(ids), pgdialect.Array(count), pgdialect.Array(value))
	_, err = db.ExecContext(ctx, `WITH g AS (SELECT 1)`+sales+`,
		sec AS (INSERT INTO event_sections (gen, event_id, section_id, seats_cancelled, cancelled_value)
			SELECT ?, ?, x.s, x.c, x.v FROM unnest(?::text[], ?::bigint[], ?::bigint[]) AS x(s, c, v)
			ON CONFLICT (gen, event_id, section_id) DO UPDATE SET
				seats_cancelled = event_sections.seats_cancelled + EXCLUDED.seats_cancelled,
				cancelled_value = event_sections.cancelled_value + EXCLUDED.cancelled_value)
		SELECT 1`, args...)
	if err != nil {
		return false, fmt.Errorf("booking cancelled: %w", err)
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
