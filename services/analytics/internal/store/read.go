package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"evently.dev/libs/pg"

	"evently.dev/services/analytics/internal/domain"
)

// Every query reads pre-aggregated rows of one generation only, so each answer is a few
// index lookups whatever the number of bookings behind it.

const salesSums = `coalesce(sum(bookings), 0), coalesce(sum(cancellations), 0), coalesce(sum(seats_booked), 0),
	coalesce(sum(seats_cancelled), 0), coalesce(sum(gross), 0), coalesce(sum(refunds), 0)`

type scanner interface{ Scan(dest ...any) error }

func scanEvent(r scanner, extra ...any) (domain.Event, error) {
	var e domain.Event
	var starts, published, cancelled sql.NullTime
	dest := []any{&e.ID, &e.Name, &e.Category, &e.Status, &e.Currency, &starts, &e.Capacity, &e.SeatsSold,
		&e.LedgerSold, &published, &cancelled, &e.Holds.Created, &e.Holds.Converted, &e.Holds.Expired,
		&e.Holds.Released, &e.Waitlist.Length, &e.Waitlist.Joined, &e.Waitlist.Left, &e.Waitlist.Offers,
		&e.Waitlist.Converted, &e.Waitlist.OffersExpired}
	if err := r.Scan(append(dest, extra...)...); err != nil {
		return e, err
	}
	e.StartsAt, e.PublishedAt, e.CancelledAt = timePtr(starts), timePtr(published), timePtr(cancelled)
	return e, nil
}

func timePtr(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}

func salesDest(s *domain.Sales) []any {
	return []any{&s.Bookings, &s.Cancellations, &s.SeatsBooked, &s.SeatsCancelled, &s.Gross, &s.Refunds}
}

// salesByCurrency sums event_sales per currency, optionally for one show.
func (s *Store) salesByCurrency(ctx context.Context, gen int, eventID string) ([]domain.Sales, error) {
	q := `SELECT currency, ` + salesSums + ` FROM event_sales WHERE gen = ?`
	args := []any{gen}
	if eventID != "" {
		q += ` AND event_id = ?`
		args = append(args, eventID)
	}
	rows, err := s.db.QueryContext(ctx, q+` GROUP BY currency ORDER BY currency`, args...)
	if err != nil {
		return nil, fmt.Errorf("sales: %w", err)
	}
	defer rows.Close()
	out := []domain.Sales{}
	for rows.Next() {
		var x domain.Sales
		if err := rows.Scan(append([]any{&x.Currency}, salesDest(&x)...)...); err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// Overview sums every show of generation gen.
func (s *Store) Overview(ctx context.Context, gen int) (domain.Overview, error) {
	var o domain.Overview
	err := s.db.QueryRowContext(ctx, `SELECT
			count(*) FILTER (WHERE status <> 'UNKNOWN'),
			count(*) FILTER (WHERE status = 'CANCELLED'),
			coalesce(sum(capacity) FILTER (WHERE status <> 'CANCELLED'), 0),
			coalesce(sum(seats_sold) FILTER (WHERE status <> 'CANCELLED'), 0),
			coalesce(sum(seats_sold), 0), coalesce(sum(ledger_sold), 0),
			coalesce(sum(holds_created), 0), coalesce(sum(holds_converted), 0),
			coalesce(sum(holds_expired), 0), coalesce(sum(holds_released), 0),
			coalesce(sum(waitlist_length), 0), coalesce(sum(waitlist_joined), 0), coalesce(sum(waitlist_left), 0),
			coalesce(sum(offers_made), 0), coalesce(sum(offers_converted), 0), coalesce(sum(offers_expired), 0)
		FROM events WHERE gen = ?`, gen).Scan(&o.Events, &o.CancelledEvents, &o.Capacity, &o.ActiveSeatsSold,
		&o.SeatsSold, &o.LedgerSold, &o.Holds.Created, &o.Holds.Converted, &o.Holds.Expired, &o.Holds.Released,
		&o.Waitlist.Length, &o.Waitlist.Joined, &o.Waitlist.Left, &o.Waitlist.Offers, &o.Waitlist.Converted,
		&o.Waitlist.OffersExpired)
	if err != nil {
		return o, fmt.Errorf("overview: %w", err)
	}
	o.Sales, err = s.salesByCurrency(ctx, gen, "")
	return o, err
}

// HourlyPoints caps an event's hourly series at its most recent week of activity.
const HourlyPoints = 7 * 24

// EventReport reads one show's analytics; domain.ErrEventNotFound when unknown.
func (s *Store) EventReport(ctx context.Context, gen int, eventID string) (domain.EventReport, error) {
	var r domain.EventReport
	e, err := scanEvent(s.db.QueryRowContext(ctx, `SELECT `+eventColsOf("events")+` FROM events WHERE gen = ? AND event_id = ?`, gen, eventID))
	if pg.IsNoRows(err) {
		return r, domain.ErrEventNotFound
	}
	if err != nil {
		return r, fmt.Errorf("event report: %w", err)
	}
	r.Event = e
	if r.Sales, err = s.salesByCurrency(ctx, gen, eventID); err != nil {
		return r, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT section_id, name, capacity, ledger_sold, currency, seats_booked,
		seats_cancelled, gross, cancelled_value FROM event_sections WHERE gen = ? AND event_id = ? ORDER BY name, section_id`,
		gen, eventID)
	if err != nil {
		return r, fmt.Errorf("event sections: %w", err)
	}
	defer rows.Close()
	r.Sections = []domain.Section{}
	for rows.Next() {
		var x domain.Section
		if err := rows.Scan(&x.SectionID, &x.Name, &x.Capacity, &x.LedgerSold, &x.Currency, &x.SeatsBooked,
			&x.SeatsCancelled, &x.Gross, &x.CancelledValue); err != nil {
			return r, err
		}
		r.Sections = append(r.Sections, x)
	}
	if err := rows.Err(); err != nil {
		return r, err
	}
	if r.Hourly, err = s.points(ctx, `SELECT bucket, currency, bookings, cancellations, seats_booked, seats_cancelled,
		gross, refunds FROM (SELECT * FROM event_hourly WHERE gen = ? AND event_id = ? ORDER BY bucket DESC LIMIT ?) h
		ORDER BY bucket, currency`, gen, eventID, HourlyPoints); err != nil {
		return r, err
	}
	r.Daily, err = s.points(ctx, `SELECT day::timestamp, currency, bookings, cancellations, seats_booked, seats_cancelled,
		gross, refunds FROM event_daily WHERE gen = ? AND event_id = ? ORDER BY day, currency`, gen, eventID)
	return r, err
}

func (s *Store) points(ctx context.Context, q string, args ...any) ([]domain.Point, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sales series: %w", err)
	}
	defer rows.Close()
	out := []domain.Point{}
	for rows.Next() {
		var p domain.Point
		if err := rows.Scan(append([]any{&p.Start, &p.Currency}, salesDest(&p.Sales)...)...); err != nil {
			return nil, err
		}
		p.Start = p.Start.UTC()
		out = append(out, p)
	}
	return out, rows.Err()
}

// Revenue reads one page of a revenue report and the range's totals per currency.
func (s *Store) Revenue(ctx context.Context, gen int, q domain.RevenueQuery, limit, offset int) (domain.RevenueReport, error) {
	from, to := q.From.Format(domain.DateLayout), q.To.Format(domain.DateLayout)
	var sel string
	var args []any
	cur := ""
	if q.Currency != "" {
		cur = ` AND currency = ?`
	}
	switch q.GroupBy {
	case domain.GroupByDay, domain.GroupByWeek, domain.GroupByMonth:
		key := map[domain.GroupBy]string{domain.GroupByDay: `day`, domain.GroupByWeek: `date_trunc('week', day)`,
			domain.GroupByMonth: `date_trunc('month', day)`}[q.GroupBy]
		sel = `SELECT to_char(` + key + `, 'YYYY-MM-DD') AS k, '' AS name, '' AS category, currency, ` + salesSums +
			` FROM daily WHERE gen = ? AND day BETWEEN ? AND ?` + cur + ` GROUP BY 1, 4`
		args = []any{gen, from, to}
		if cur != "" {
			args = append(args, q.Currency)
		}
	case domain.GroupByEvent, domain.GroupByCategory:
		// Sum per show first, then join the (at most one row per show) result to events.
		src, srcArgs := eventRange(gen, q)
		perEvent := `SELECT event_id, currency, ` + salesSums + ` FROM (` + src + `) s GROUP BY 1, 2`
		if q.GroupBy == domain.GroupByEvent {
			sel = `SELECT p.event_id::text, coalesce(e.name, ''), coalesce(e.category, ''), p.currency, p.b, p.c, p.sb, p.sc, p.g, p.r
				FROM (` + perEvent + `) AS p (event_id, currency, b, c, sb, sc, g, r)
				LEFT JOIN events e ON e.gen = ? AND e.event_id = p.event_id`
		} else {
			sel = `SELECT coalesce(nullif(e.category, ''), 'uncategorised'), '', coalesce(nullif(e.category, ''), 'uncategorised'),
				p.currency, sum(p.b), sum(p.c), sum(p.sb), sum(p.sc), sum(p.g), sum(p.r)
				FROM (` + perEvent + `) AS p (event_id, currency, b, c, sb, sc, g, r)
				LEFT JOIN events e ON e.gen = ? AND e.event_id = p.event_id GROUP BY 1, 4`
		}
		args = append(srcArgs, gen)
	default:
		return domain.RevenueReport{}, fmt.Errorf("revenue: unknown grouping %q", q.GroupBy)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT k, name, category, currency, b, c, sb, sc, g, r, count(*) OVER ()
		FROM (`+sel+`) AS x (k, name, category, currency, b, c, sb, sc, g, r) ORDER BY k, currency LIMIT ? OFFSET ?`,
		append(args, limit, offset)...)
	if err != nil {
		return domain.RevenueReport{}, fmt.Errorf("revenue: %w", err)
	}
	defer rows.Close()
	rep := domain.RevenueReport{Rows: []domain.RevenueRow{}, Totals: []domain.Sales{}}
	for rows.Next() {
		var x domain.RevenueRow
		if err := rows.Scan(append(append([]any{&x.Key, &x.Name, &x.Category, &x.Currency}, salesDest(&x.Sales)...),
			&rep.Total)...); err != nil {
			return rep, err
		}
		rep.Rows = append(rep.Rows, x)
	}
	if err := rows.Err(); err != nil {
		return rep, err
	}
	if len(rep.Rows) == 0 && offset > 0 {
		// The page is past the end; count the groups so the client still learns the total.
		if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM (`+sel+`) AS x`, args...).Scan(&rep.Total); err != nil {
			return rep, fmt.Errorf("revenue count: %w", err)
		}
	}
	totalArgs := []any{gen, from, to}
	if q.Currency != "" {
		totalArgs = append(totalArgs, q.Currency)
	}
	trows, err := s.db.QueryContext(ctx, `SELECT currency, `+salesSums+` FROM daily WHERE gen = ? AND day BETWEEN ? AND ?`+
		map[bool]string{true: ` AND currency = ?`, false: ``}[q.Currency != ""]+` GROUP BY currency ORDER BY currency`, totalArgs...)
	if err != nil {
		return rep, fmt.Errorf("revenue totals: %w", err)
	}
	defer trows.Close()
	for trows.Next() {
		var x domain.Sales
		if err := trows.Scan(append([]any{&x.Currency}, salesDest(&x)...)...); err != nil {
			return rep, err
		}
		rep.Totals = append(rep.Totals, x)
	}
	return rep, trows.Err()
}

// Popular ranks shows. For revenue, a row is one show in one currency (money is ranked,
// never added, across currencies); currency narrows it to one.
func (s *Store) Popular(ctx context.Context, gen int, by domain.PopularBy, currency string, limit int) ([]domain.PopularEvent, error) {
	var q string
	args := []any{gen}
	switch by {
	case domain.PopularByRevenue:
		q = `SELECT ` + eventColsOf("e") + `, s.currency FROM event_sales s JOIN events e ON e.gen = s.gen AND e.event_id = s.event_id
			WHERE s.gen = ?`
		if currency != "" {
			q += ` AND s.currency = ?`
			args = append(args, currency)
		}
		q += ` ORDER BY s.gross - s.refunds DESC, e.event_id LIMIT ?`
	default:
		order := map[domain.PopularBy]string{
			domain.PopularBySeatsSold: `seats_sold DESC`,
			domain.PopularByFillRate:  `CASE WHEN capacity > 0 THEN seats_sold::float8 / capacity ELSE 0 END DESC, seats_sold DESC`,
			domain.PopularByWaitlist:  `waitlist_length DESC, waitlist_joined DESC`,
		}[by]
		if order == "" {
			return nil, fmt.Errorf("popular: unknown ranking %q", by)
		}
		q = `SELECT ` + eventColsOf("e") + `, '' FROM events e WHERE gen = ? AND status <> 'UNKNOWN'`
		if currency != "" {
			q += ` AND currency = ?`
			args = append(args, currency)
		}
		q += ` ORDER BY ` + order + `, event_id LIMIT ?`
	}
	rows, err := s.db.QueryContext(ctx, q, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("popular: %w", err)
	}
	defer rows.Close()
	out := []domain.PopularEvent{}
	var onlyCurrency []string
	for rows.Next() {
		var cur string
		e, err := scanEvent(rows, &cur)
		if err != nil {
			return nil, err
		}
		out = append(out, domain.PopularEvent{Event: e})
		onlyCurrency = append(onlyCurrency, cur)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	if len(out) == 0 {
		return out, nil
	}
	ids := make([]string, len(out))
	for i := range out {
		ids[i] = out[i].ID
		out[i].Sales = []domain.Sales{}
	}
	srows, err := s.db.QueryContext(ctx, `SELECT event_id::text, currency, `+salesSums+` FROM event_sales
		WHERE gen = ? AND event_id IN (?) GROUP BY 1, 2 ORDER BY 1, 2`, gen, bun.List(ids))
	if err != nil {
		return nil, fmt.Errorf("popular sales: %w", err)
	}
	defer srows.Close()
	byID := map[string][]domain.Sales{}
	for srows.Next() {
		var id string
		var x domain.Sales
		if err := srows.Scan(append([]any{&id, &x.Currency}, salesDest(&x)...)...); err != nil {
			return nil, err
		}
		byID[id] = append(byID[id], x)
	}
	if err := srows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		for _, x := range byID[out[i].ID] {
			if onlyCurrency[i] == "" || x.Currency == onlyCurrency[i] {
				out[i].Sales = append(out[i].Sales, x)
			}
		}
	}
	return out, nil
}

// eventRange selects per-show sales rows covering q's days: monthly rollups for the whole
// months inside the range and daily rows for the partial months at its ends.
func eventRange(gen int, q domain.RevenueQuery) (string, []any) {
	const cols = `event_id, currency, bookings, cancellations, seats_booked, seats_cancelled, gross, refunds`
	first, last, ok, edges := domain.SplitMonths(q.From, q.To)
	var parts []string
	var args []any
	add := func(part string, a ...any) {
		if q.Currency != "" {
			part += ` AND currency = ?`
			a = append(a, q.Currency)
		}
		parts = append(parts, part)
		args = append(args, a...)
	}
	if ok {
		add(`SELECT `+cols+` FROM event_monthly WHERE gen = ? AND month BETWEEN ? AND ?`,
			gen, first.Format(domain.DateLayout), last.Format(domain.DateLayout))
	}
	for _, e := range edges {
		add(`SELECT `+cols+` FROM event_daily WHERE gen = ? AND day BETWEEN ? AND ?`,
			gen, e.From.Format(domain.DateLayout), e.To.Format(domain.DateLayout))
	}
	return strings.Join(parts, " UNION ALL "), args
}

func eventColsOf(alias string) string {
	return alias + `.event_id::text, ` + alias + `.name, ` + alias + `.category, ` + alias + `.status, ` +
		alias + `.currency, ` + alias + `.starts_at, ` + alias + `.capacity, ` + alias + `.seats_sold, ` +
		alias + `.ledger_sold, ` + alias + `.published_at, ` + alias + `.cancelled_at, ` + alias + `.holds_created, ` +
		alias + `.holds_converted, ` + alias + `.holds_expired, ` + alias + `.holds_released, ` +
		alias + `.waitlist_length, ` + alias + `.waitlist_joined, ` + alias + `.waitlist_left, ` +
		alias + `.offers_made, ` + alias + `.offers_converted, ` + alias + `.offers_expired`
}

// LiveWaitlists is how many of the longest queues the live view lists.
const LiveWaitlists = 10

// Live reads active holds, queue lengths and the last LiveMinutes minutes of activity.
func (s *Store) Live(ctx context.Context, gen int, now time.Time, minutes int) (domain.Live, error) {
	l := domain.Live{Now: now.UTC(), Waitlists: []domain.WaitlistSize{}, Minutes: []domain.Minute{}}
	if err := s.db.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(seats), 0) FROM holds
		WHERE gen = ? AND status = 'ACTIVE' AND expires_at > ?`, gen, now).Scan(&l.ActiveHolds, &l.ActiveHeldSeats); err != nil {
		return l, fmt.Errorf("live holds: %w", err)
	}
	if err := s.db.QueryRowContext(ctx, `SELECT coalesce(sum(waitlist_length), 0) FROM events WHERE gen = ?`, gen).
		Scan(&l.WaitlistTotal); err != nil {
		return l, fmt.Errorf("live waitlist: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT event_id::text, name, waitlist_length FROM events
		WHERE gen = ? AND waitlist_length > 0 ORDER BY waitlist_length DESC, event_id LIMIT ?`, gen, LiveWaitlists)
	if err != nil {
		return l, fmt.Errorf("live waitlists: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var w domain.WaitlistSize
		if err := rows.Scan(&w.EventID, &w.Name, &w.Length); err != nil {
			return l, err
		}
		l.Waitlists = append(l.Waitlists, w)
	}
	if err := rows.Err(); err != nil {
		return l, err
	}
	cur := domain.MinuteStart(now)
	mrows, err := s.db.QueryContext(ctx, `SELECT minute, bookings, cancellations, seats_booked, seats_cancelled, holds_created
		FROM live_minutes WHERE gen = ? AND minute BETWEEN ? AND ? ORDER BY minute`,
		gen, cur.Add(-time.Duration(minutes-1)*time.Minute), cur)
	if err != nil {
		return l, fmt.Errorf("live minutes: %w", err)
	}
	defer mrows.Close()
	for mrows.Next() {
		var m domain.Minute
		if err := mrows.Scan(&m.Start, &m.Bookings, &m.Cancellations, &m.SeatsBooked, &m.SeatsCancelled, &m.HoldsCreated); err != nil {
			return l, err
		}
		m.Start = m.Start.UTC()
		l.Minutes = append(l.Minutes, m)
	}
	return l, mrows.Err()
}
