package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"evently.dev/libs/consumer"

	"evently.dev/services/analytics/internal/domain"
)

// Deltas collects the counter moves of one transaction's facts, keyed by the row they
// move, and writes every row once when the transaction ends. A flash sale's facts all
// bump the same few rows (the show, its sections, the hour, the day, the live minute):
// updated once per fact, each row grew a chain of versions inside the batch's
// transaction that every later update walked, which is where analytics' database time
// went and why it fell behind a rush. The state rows of holds and bookings are deferred
// too (see flushStates): written one statement per fact, they were three statements per
// booking. Waitlist entries and cancellations are rare and keep their own statements.
type Deltas struct {
	gen      int
	states   []stateOp
	events   map[string]*eventCounts
	sections map[sectionKey]*sectionCounts
	sales    map[salesKey]*domain.Sales
	live     map[time.Time]*liveCounts
	// currency is the currency of each show's first sale in the transaction: sections
	// still without one (catalog's event.published not yet seen) take it.
	currency map[string]string
}

var _ consumer.TxScope = (*Deltas)(nil)

type eventCounts struct {
	capacity                                                  int64 // last non-zero capacity seen
	seatsSold, ledgerSold                                     int64
	holdsCreated, holdsConverted, holdsExpired, holdsReleased int64
}

type sectionKey struct{ event, section string }

type sectionCounts struct {
	capacity                                int64
	currency                                string
	ledgerSold, seatsBooked, seatsCancelled int64
	gross, cancelledValue                   int64
}

// salesTable is one of the tables that keep domain.Sales counters, with the key columns
// after gen and their SQL types.
type salesTable struct {
	name  string
	keys  []string
	types []string
}

var (
	eventSales   = salesTable{"event_sales", []string{"event_id", "currency"}, []string{"uuid", "text"}}
	eventHourly  = salesTable{"event_hourly", []string{"event_id", "bucket", "currency"}, []string{"uuid", "timestamptz", "text"}}
	eventDaily   = salesTable{"event_daily", []string{"event_id", "day", "currency"}, []string{"uuid", "date", "text"}}
	eventMonthly = salesTable{"event_monthly", []string{"event_id", "month", "currency"}, []string{"uuid", "date", "text"}}
	dailySales   = salesTable{"daily", []string{"day", "currency"}, []string{"date", "text"}}
	// salesTables in the order rows are written: a show's own rows before the rows all
	// shows share.
	salesTables = []*salesTable{&eventSales, &eventHourly, &eventDaily, &eventMonthly, &dailySales}
)

// salesKey names one row of a sales table; k holds its key values as text.
type salesKey struct {
	table *salesTable
	k     [3]string
}

type liveCounts struct{ holdsCreated, bookings, cancellations, seatsBooked, seatsCancelled int64 }

// NewDeltas returns an empty collector for generation gen.
func NewDeltas(gen int) *Deltas {
	return &Deltas{gen: gen, events: map[string]*eventCounts{}, sections: map[sectionKey]*sectionCounts{},
		sales: map[salesKey]*domain.Sales{}, live: map[time.Time]*liveCounts{}, currency: map[string]string{}}
}

func (d *Deltas) event(id string) *eventCounts {
	c := d.events[id]
	if c == nil {
		c = &eventCounts{}
		d.events[id] = c
	}
	return c
}

func (d *Deltas) section(event, section string) *sectionCounts {
	k := sectionKey{event, section}
	c := d.sections[k]
	if c == nil {
		c = &sectionCounts{}
		d.sections[k] = c
	}
	return c
}

func (d *Deltas) minute(at time.Time) *liveCounts {
	m := domain.MinuteStart(at)
	c := d.live[m]
	if c == nil {
		c = &liveCounts{}
		d.live[m] = c
	}
	return c
}

// addSales adds s to the show's totals, its hour, day and month, the system's day, the
// show's net seats and the live minute, cut in loc.
func (d *Deltas) addSales(eventID, currency string, at time.Time, loc *time.Location, s domain.Sales) {
	day := domain.Day(at, loc)
	add := func(t *salesTable, k ...string) {
		key := salesKey{table: t}
		copy(key.k[:], k)
		c := d.sales[key]
		if c == nil {
			c = &domain.Sales{}
			d.sales[key] = c
		}
		c.Bookings += s.Bookings
		c.Cancellations += s.Cancellations
		c.SeatsBooked += s.SeatsBooked
		c.SeatsCancelled += s.SeatsCancelled
		c.Gross += s.Gross
		c.Refunds += s.Refunds
	}
	add(&eventSales, eventID, currency)
	add(&eventHourly, eventID, domain.HourStart(at, loc).Format(time.RFC3339), currency)
	add(&eventDaily, eventID, day.Format(domain.DateLayout), currency)
	add(&eventMonthly, eventID, domain.MonthStart(day).Format(domain.DateLayout), currency)
	add(&dailySales, day.Format(domain.DateLayout), currency)
	d.event(eventID).seatsSold += s.SeatsBooked - s.SeatsCancelled
	m := d.minute(at)
	m.bookings += s.Bookings
	m.cancellations += s.Cancellations
	m.seatsBooked += s.SeatsBooked
	m.seatsCancelled += s.SeatsCancelled
}

// Flush writes the deferred state rows, then every collected counter row once, each table in one statement, rows in key order
// so concurrent writers lock them in the same order. It implements consumer.TxScope.
func (d *Deltas) Flush(ctx context.Context, tx bun.Tx) error { return d.flush(ctx, tx) }

func (d *Deltas) flush(ctx context.Context, db bun.IDB) error {
	// State rows first: they decide which deferred facts count.
	steps := []func(context.Context, bun.IDB) error{d.flushStates, d.flushEvents, d.flushSections, d.flushCurrencies}
	for _, t := range salesTables {
		steps = append(steps, func(ctx context.Context, db bun.IDB) error { return d.flushSales(ctx, db, t) })
	}
	steps = append(steps, d.flushLive)
	for _, step := range steps {
		if err := step(ctx, db); err != nil {
			return err
		}
	}
	return nil
}

func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (d *Deltas) flushEvents(ctx context.Context, db bun.IDB) error {
	if len(d.events) == 0 {
		return nil
	}
	ids := sortedKeys(d.events)
	cols := make([][]int64, 7)
	for _, id := range ids {
		c := d.events[id]
		for i, v := range []int64{c.capacity, c.seatsSold, c.ledgerSold, c.holdsCreated, c.holdsConverted,
			c.holdsExpired, c.holdsReleased} {
			cols[i] = append(cols[i], v)
		}
	}
	_, err := db.ExecContext(ctx, `INSERT INTO events (gen, event_id, capacity, seats_sold, ledger_sold, holds_created,
			holds_converted, holds_expired, holds_released)
		SELECT ?, x.e::uuid, x.cap, x.ss, x.ls, x.hc, x.hv, x.hx, x.hr
		FROM unnest(?::text[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[])
			AS x(e, cap, ss, ls, hc, hv, hx, hr)
		ON CONFLICT (gen, event_id) DO UPDATE SET
			capacity = CASE WHEN EXCLUDED.capacity > 0 THEN EXCLUDED.capacity ELSE events.capacity END,
			seats_sold = events.seats_sold + EXCLUDED.seats_sold,
			ledger_sold = events.ledger_sold + EXCLUDED.ledger_sold,
			holds_created = events.holds_created + EXCLUDED.holds_created,
			holds_converted = events.holds_converted + EXCLUDED.holds_converted,
			holds_expired = events.holds_expired + EXCLUDED.holds_expired,
			holds_released = events.holds_released + EXCLUDED.holds_released`,
		d.gen, pgdialect.Array(ids), pgdialect.Array(cols[0]), pgdialect.Array(cols[1]), pgdialect.Array(cols[2]),
		pgdialect.Array(cols[3]), pgdialect.Array(cols[4]), pgdialect.Array(cols[5]), pgdialect.Array(cols[6]))
	if err != nil {
		return fmt.Errorf("flush event counts: %w", err)
	}
	return nil
}

func (d *Deltas) flushSections(ctx context.Context, db bun.IDB) error {
	if len(d.sections) == 0 {
		return nil
	}
	keys := make([]sectionKey, 0, len(d.sections))
	for k := range d.sections {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b sectionKey) int {
		return cmp.Or(strings.Compare(a.event, b.event), strings.Compare(a.section, b.section))
	})
	events, sections, currencies := make([]string, len(keys)), make([]string, len(keys)), make([]string, len(keys))
	cols := make([][]int64, 6)
	for i, k := range keys {
		c := d.sections[k]
		events[i], sections[i], currencies[i] = k.event, k.section, c.currency
		for j, v := range []int64{c.capacity, c.ledgerSold, c.seatsBooked, c.gross, c.seatsCancelled, c.cancelledValue} {
			cols[j] = append(cols[j], v)
		}
	}
	// A row is rewritten only when something in it moves: a sale's snapshot names every
	// section of the show, most of them unchanged.
	_, err := db.ExecContext(ctx, `INSERT INTO event_sections (gen, event_id, section_id, currency, capacity, ledger_sold,
			seats_booked, gross, seats_cancelled, cancelled_value)
		SELECT ?, x.e::uuid, x.s, x.cur, x.cap, x.ls, x.sb, x.g, x.sc, x.cv
		FROM unnest(?::text[], ?::text[], ?::text[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[])
			AS x(e, s, cur, cap, ls, sb, g, sc, cv)
		ON CONFLICT (gen, event_id, section_id) DO UPDATE SET
			capacity = CASE WHEN EXCLUDED.capacity > 0 THEN EXCLUDED.capacity ELSE event_sections.capacity END,
			currency = CASE WHEN event_sections.currency = '' THEN EXCLUDED.currency ELSE event_sections.currency END,
			ledger_sold = event_sections.ledger_sold + EXCLUDED.ledger_sold,
			seats_booked = event_sections.seats_booked + EXCLUDED.seats_booked,
			gross = event_sections.gross + EXCLUDED.gross,
			seats_cancelled = event_sections.seats_cancelled + EXCLUDED.seats_cancelled,
			cancelled_value = event_sections.cancelled_value + EXCLUDED.cancelled_value
		WHERE EXCLUDED.ledger_sold <> 0 OR EXCLUDED.seats_booked <> 0 OR EXCLUDED.gross <> 0
			OR EXCLUDED.seats_cancelled <> 0 OR EXCLUDED.cancelled_value <> 0
			OR (EXCLUDED.capacity > 0 AND EXCLUDED.capacity <> event_sections.capacity)
			OR (event_sections.currency = '' AND EXCLUDED.currency <> '')`,
		d.gen, pgdialect.Array(events), pgdialect.Array(sections), pgdialect.Array(currencies),
		pgdialect.Array(cols[0]), pgdialect.Array(cols[1]), pgdialect.Array(cols[2]), pgdialect.Array(cols[3]),
		pgdialect.Array(cols[4]), pgdialect.Array(cols[5]))
	if err != nil {
		return fmt.Errorf("flush section counts: %w", err)
	}
	return nil
}

// flushCurrencies gives the sections of a show that sold something and have no currency
// yet (event.published not seen) the currency of its first sale.
func (d *Deltas) flushCurrencies(ctx context.Context, db bun.IDB) error {
	if len(d.currency) == 0 {
		return nil
	}
	ids := sortedKeys(d.currency)
	curs := make([]string, len(ids))
	for i, id := range ids {
		curs[i] = d.currency[id]
	}
	_, err := db.ExecContext(ctx, `UPDATE event_sections s SET currency = x.c
		FROM unnest(?::text[], ?::text[]) AS x(e, c)
		WHERE s.gen = ? AND s.event_id = x.e::uuid AND s.currency = ''`,
		pgdialect.Array(ids), pgdialect.Array(curs), d.gen)
	if err != nil {
		return fmt.Errorf("flush section currencies: %w", err)
	}
	return nil
}

func (d *Deltas) flushSales(ctx context.Context, db bun.IDB, t *salesTable) error {
	var keys []salesKey
	for k := range d.sales {
		if k.table == t {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	slices.SortFunc(keys, func(a, b salesKey) int {
		return cmp.Or(strings.Compare(a.k[0], b.k[0]), strings.Compare(a.k[1], b.k[1]), strings.Compare(a.k[2], b.k[2]))
	})
	keyCols := make([][]string, len(t.keys))
	cols := make([][]int64, 6)
	for _, k := range keys {
		for i := range t.keys {
			keyCols[i] = append(keyCols[i], k.k[i])
		}
		s := d.sales[k]
		for i, v := range []int64{s.Bookings, s.Cancellations, s.SeatsBooked, s.SeatsCancelled, s.Gross, s.Refunds} {
			cols[i] = append(cols[i], v)
		}
	}
	var sel, arrays, names, set strings.Builder
	args := []any{d.gen}
	for i := range t.keys {
		fmt.Fprintf(&sel, ", x.k%d::%s", i, t.types[i])
		fmt.Fprintf(&arrays, "?::text[], ")
		fmt.Fprintf(&names, "k%d, ", i)
		args = append(args, pgdialect.Array(keyCols[i]))
	}
	for i, c := range counters {
		if i > 0 {
			set.WriteString(", ")
		}
		fmt.Fprintf(&set, "%s = %s.%s + EXCLUDED.%s", c, t.name, c, c)
		args = append(args, pgdialect.Array(cols[i]))
	}
	q := fmt.Sprintf(`INSERT INTO %s (gen, %s, %s)
		SELECT ?%s, x.c0, x.c1, x.c2, x.c3, x.c4, x.c5
		FROM unnest(%s?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[])
			AS x(%sc0, c1, c2, c3, c4, c5)
		ON CONFLICT (gen, %s) DO UPDATE SET %s`,
		t.name, strings.Join(t.keys, ", "), strings.Join(counters, ", "), sel.String(), arrays.String(), names.String(),
		strings.Join(t.keys, ", "), set.String())
	if _, err := db.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("flush %s: %w", t.name, err)
	}
	return nil
}

func (d *Deltas) flushLive(ctx context.Context, db bun.IDB) error {
	if len(d.live) == 0 {
		return nil
	}
	minutes := make([]time.Time, 0, len(d.live))
	for m := range d.live {
		minutes = append(minutes, m)
	}
	slices.SortFunc(minutes, time.Time.Compare)
	stamps := make([]string, len(minutes))
	cols := make([][]int64, 5)
	for i, m := range minutes {
		stamps[i] = m.Format(time.RFC3339)
		c := d.live[m]
		for i, v := range []int64{c.holdsCreated, c.bookings, c.cancellations, c.seatsBooked, c.seatsCancelled} {
			cols[i] = append(cols[i], v)
		}
	}
	_, err := db.ExecContext(ctx, `INSERT INTO live_minutes (gen, minute, holds_created, bookings, cancellations,
			seats_booked, seats_cancelled)
		SELECT ?, x.m::timestamptz, x.hc, x.b, x.c, x.sb, x.sc
		FROM unnest(?::text[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[]) AS x(m, hc, b, c, sb, sc)
		ON CONFLICT (gen, minute) DO UPDATE SET
			holds_created = live_minutes.holds_created + EXCLUDED.holds_created,
			bookings = live_minutes.bookings + EXCLUDED.bookings,
			cancellations = live_minutes.cancellations + EXCLUDED.cancellations,
			seats_booked = live_minutes.seats_booked + EXCLUDED.seats_booked,
			seats_cancelled = live_minutes.seats_cancelled + EXCLUDED.seats_cancelled`,
		d.gen, pgdialect.Array(stamps), pgdialect.Array(cols[0]), pgdialect.Array(cols[1]), pgdialect.Array(cols[2]),
		pgdialect.Array(cols[3]), pgdialect.Array(cols[4]))
	if err != nil {
		return fmt.Errorf("flush live minutes: %w", err)
	}
	return nil
}

// scoped returns the collector the consumer runner gave the transaction for this
// generation, or nil.
func (p Projector) scoped(ctx context.Context) *Deltas {
	if d, ok := consumer.ScopeFrom(ctx).(*Deltas); ok && d.gen == p.Gen {
		return d
	}
	return nil
}

// deltas returns the transaction's collector when the consumer runner gave it one, or a
// fresh one with done to flush it at once (a projector called outside a runner, as
// the rebuild's tests do).
func (p Projector) deltas(ctx context.Context, db bun.IDB) (d *Deltas, done func() error) {
	if d := p.scoped(ctx); d != nil {
		return d, func() error { return nil }
	}
	d = NewDeltas(p.Gen)
	return d, func() error { return d.flush(ctx, db) }
}
