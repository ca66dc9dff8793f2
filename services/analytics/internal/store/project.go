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

// The projections below hand each fact's state row (hold, booking) to the transaction's
// Deltas, which writes all of them in a few statements that tell which facts count, then
// the counters those facts move, once per batch (see Deltas for why).

// HoldCreated records a live hold.
func (p Projector) HoldCreated(ctx context.Context, db bun.IDB, h contracts.HoldCreated, at time.Time) error {
	d, done := p.deltas(ctx, db)
	d.addState(stateOp{kind: holdCreate, id: h.HoldID, eventID: h.EventID, seats: len(h.SeatIDs), purpose: h.Purpose,
		createdAt: at, expires: h.ExpiresAt, counts: func(d *Deltas, _ string) {
			d.event(h.EventID).holdsCreated++
			d.minute(at).holdsCreated++
		}})
	return done()
}

// HoldEnded records a hold released or expired (status HoldReleased or HoldExpired); an
// unknown or already ended hold counts nothing.
func (p Projector) HoldEnded(ctx context.Context, db bun.IDB, holdID, eventID, status string) error {
	d, done := p.deltas(ctx, db)
	d.addState(stateOp{kind: holdEnd, id: holdID, status: status, counts: func(d *Deltas, _ string) {
		if status == HoldExpired {
			d.event(eventID).holdsExpired++
		} else {
			d.event(eventID).holdsReleased++
		}
	}})
	return done()
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
// (if any) first. Inventory's section snapshots may miss a concurrent sale of the same
// show, so counts are never set from them; only capacities (which do not change) are
// taken from the snapshot.
func (p Projector) ledger(ctx context.Context, db bun.IDB, eventID, holdID string, capacity int,
	snapshot []contracts.SectionCount, total int, deltas map[string]int) error {
	d, done := p.deltas(ctx, db)
	if holdID != "" {
		d.addState(stateOp{kind: holdConvert, id: holdID, counts: func(d *Deltas, prior string) {
			ev := d.event(eventID)
			ev.holdsConverted++
			if prior == HoldExpired {
				ev.holdsExpired--
			}
		}})
	}
	ev := d.event(eventID)
	ev.ledgerSold += int64(total)
	if capacity > 0 {
		ev.capacity = int64(capacity)
	}
	for _, s := range snapshot {
		if s.Capacity > 0 {
			d.section(eventID, s.SectionID).capacity = int64(s.Capacity)
		}
	}
	for id, n := range deltas {
		d.section(eventID, id).ledgerSold += int64(n)
	}
	return done()
}

// bookedSeat is a seat as the bookings table keeps it.
type bookedSeat struct {
	SectionID string `json:"s"`
	Price     int64  `json:"p"`
}

// addSections moves the booked (sign 1) or cancelled (sign -1) seats and their face
// value per section.
func (d *Deltas) addSections(eventID, currency string, seats []bookedSeat, sign int) {
	for _, st := range seats {
		c := d.section(eventID, st.SectionID)
		if sign > 0 {
			c.seatsBooked++
			c.gross += st.Price
			if c.currency == "" {
				c.currency = currency
			}
		} else {
			c.seatsCancelled++
			c.cancelledValue += st.Price
		}
	}
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
	d, done := p.deltas(ctx, db)
	d.addState(stateOp{kind: bookingConfirm, id: b.BookingID, eventID: b.EventID, currency: b.Currency,
		total: b.TotalAmount, seatsJSON: string(raw), createdAt: at, counts: func(d *Deltas, _ string) {
			d.addSales(b.EventID, b.Currency, at, p.Loc, domain.Sales{Bookings: 1, SeatsBooked: int64(len(b.Seats)), Gross: b.TotalAmount})
			// A show's sections take the currency of its first sale when catalog's
			// event.published (which names it) has not arrived.
			d.addSections(b.EventID, b.Currency, seats, 1)
			if _, ok := d.currency[b.EventID]; !ok {
				d.currency[b.EventID] = b.Currency
			}
		}})
	return done()
}

// BookingCancelled counts a cancellation and its refund at the cancellation time and
// returns the booking's seats to its sections. It reports false for a booking never
// confirmed here (nothing is counted: a refund without its sale would skew every total).
func (p Projector) BookingCancelled(ctx context.Context, db bun.IDB, c contracts.BookingCancelled, at time.Time) (bool, error) {
	// The booking may be among the transaction's deferred confirmations.
	if d := p.scoped(ctx); d != nil {
		if err := d.flushStates(ctx, db); err != nil {
			return false, err
		}
	}
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
	d, done := p.deltas(ctx, db)
	d.addSales(eventID, currency, at, p.Loc, domain.Sales{Cancellations: 1, SeatsCancelled: int64(len(seats)),
		Refunds: c.RefundAmount})
	d.addSections(eventID, currency, seats, -1)
	return true, done()
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
