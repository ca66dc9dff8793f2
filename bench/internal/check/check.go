// Package check verifies a sale from the stores themselves, not from the API answers: the
// inventory ledger (inventory.seats), the bookings (booking.bookings) and the analytics
// read model (analytics.events of the serving generation), and measures how long
// analytics took to agree with the ledger after the sale ended.
package check

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Result is what the stores say about one event after its sale.
type Result struct {
	EventID string `json:"event_id"`
	// LedgerSold counts inventory.seats rows in status SOLD.
	LedgerSold int `json:"ledger_sold"`
	// BenchSold is what the load tool counted from 201/200 confirm answers.
	BenchSold int `json:"bench_sold"`
	// ConfirmedBookings and ConfirmedSeats come from booking.bookings (status CONFIRMED).
	ConfirmedBookings int `json:"confirmed_bookings"`
	ConfirmedSeats    int `json:"confirmed_seats"`
	// PendingBookings still PENDING when checked (after waiting for them to settle).
	PendingBookings int `json:"pending_bookings"`
	// DoubleSold counts seats that appear in more than one CONFIRMED booking.
	DoubleSold int `json:"double_sold"`
	// SoldNotBooked: SOLD in the ledger, in no CONFIRMED booking. BookedNotSold: the reverse.
	SoldNotBooked int `json:"sold_not_booked"`
	BookedNotSold int `json:"booked_not_sold"`
	// WrongBooking counts SOLD seats whose ledger booking id is not the CONFIRMED booking
	// that lists the seat.
	WrongBooking int `json:"wrong_booking"`
	// AnalyticsSeatsSold (booking side) and AnalyticsLedgerSold (inventory side) per event.
	AnalyticsSeatsSold  int `json:"analytics_seats_sold"`
	AnalyticsLedgerSold int `json:"analytics_ledger_sold"`
	// AnalyticsLagSeconds is the time from the sale's last confirm until analytics agreed
	// with the ledger; -1 when it did not within the wait.
	AnalyticsLagSeconds float64 `json:"analytics_lag_s"`
	// MailLagSeconds is the time from the sale's last confirm until every confirmation
	// e-mail of the event had been handed to the SMTP server; -1 when not within the wait.
	// The next scenario starts only then, so it does not run beside this sale's e-mails.
	MailLagSeconds float64 `json:"mail_lag_s"`
	// OK is true when every invariant holds.
	OK       bool     `json:"ok"`
	Problems []string `json:"problems"`
}

// Options bound the waits of a check.
type Options struct {
	DatabaseURL string
	EventID     string
	BenchSold   int
	// SaleEnded is when the last booking was confirmed.
	SaleEnded time.Time
	// AnalyticsWait bounds the wait for analytics; SettleWait for PENDING bookings.
	AnalyticsWait time.Duration
	SettleWait    time.Duration
}

// Run checks the event. Analytics is polled first, because its lag is a measurement.
func Run(ctx context.Context, o Options) (Result, error) {
	db, err := pgx.Connect(ctx, o.DatabaseURL)
	if err != nil {
		return Result{}, err
	}
	defer db.Close(ctx)
	r := Result{EventID: o.EventID, BenchSold: o.BenchSold, AnalyticsLagSeconds: -1}
	ledger := func() (int, error) {
		var n int
		err := db.QueryRow(ctx, `SELECT count(*) FROM inventory.seats WHERE event_id = $1 AND status = 'SOLD'`, o.EventID).Scan(&n)
		return n, err
	}
	deadline := time.Now().Add(o.AnalyticsWait)
	for {
		l, err := ledger()
		if err != nil {
			return r, fmt.Errorf("ledger count: %w", err)
		}
		err = db.QueryRow(ctx, `SELECT coalesce(max(e.seats_sold), 0), coalesce(max(e.ledger_sold), 0)
			FROM analytics.events e JOIN analytics.generation g ON e.gen = g.serving WHERE e.event_id = $1`, o.EventID).
			Scan(&r.AnalyticsSeatsSold, &r.AnalyticsLedgerSold)
		if err != nil {
			return r, fmt.Errorf("analytics: %w", err)
		}
		if r.AnalyticsSeatsSold == l && r.AnalyticsLedgerSold == l {
			if !o.SaleEnded.IsZero() {
				r.AnalyticsLagSeconds = max(0, time.Since(o.SaleEnded).Seconds())
			} else {
				r.AnalyticsLagSeconds = 0
			}
			break
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	// A confirm cut off by the end of the sale may still be settling.
	for settle := time.Now().Add(o.SettleWait); ; {
		if err := db.QueryRow(ctx, `SELECT count(*) FROM booking.bookings WHERE event_id = $1 AND status = 'PENDING'`,
			o.EventID).Scan(&r.PendingBookings); err != nil {
			return r, fmt.Errorf("pending bookings: %w", err)
		}
		if r.PendingBookings == 0 || time.Now().After(settle) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if r.LedgerSold, err = ledger(); err != nil {
		return r, err
	}
	if err := r.waitForMail(ctx, db, o); err != nil {
		return r, err
	}
	const booked = `SELECT b.id, s->>'seat_id' AS seat_id FROM booking.bookings b, jsonb_array_elements(b.seats) s
		WHERE b.event_id = $1 AND b.status = 'CONFIRMED'`
	err = db.QueryRow(ctx, `SELECT count(DISTINCT id), count(*) FROM (`+booked+`) x`, o.EventID).
		Scan(&r.ConfirmedBookings, &r.ConfirmedSeats)
	if err != nil {
		return r, fmt.Errorf("confirmed bookings: %w", err)
	}
	err = db.QueryRow(ctx, `SELECT count(*) FROM (SELECT seat_id FROM (`+booked+`) x GROUP BY seat_id HAVING count(*) > 1) d`,
		o.EventID).Scan(&r.DoubleSold)
	if err != nil {
		return r, fmt.Errorf("double sold: %w", err)
	}
	// NOT EXISTS, not NOT IN: a NOT IN over a set larger than work_mem is checked row by row
	// against the whole set (18 s for a 20,000-seat sale); NOT EXISTS is a hashed anti-join
	// (0.5 s). seat_id is never NULL, so both mean the same.
	err = db.QueryRow(ctx, `WITH bk AS (`+booked+`),
		sold AS (SELECT seat_id, booking_id FROM inventory.seats WHERE event_id = $1 AND status = 'SOLD')
		SELECT
		  (SELECT count(*) FROM sold WHERE NOT EXISTS (SELECT 1 FROM bk WHERE bk.seat_id = sold.seat_id)),
		  (SELECT count(*) FROM bk WHERE NOT EXISTS (SELECT 1 FROM sold WHERE sold.seat_id = bk.seat_id)),
		  (SELECT count(*) FROM sold JOIN bk USING (seat_id) WHERE sold.booking_id <> bk.id)`, o.EventID).
		Scan(&r.SoldNotBooked, &r.BookedNotSold, &r.WrongBooking)
	if err != nil {
		return r, fmt.Errorf("ledger against bookings: %w", err)
	}
	r.judge()
	return r, nil
}

// waitForMail waits (within AnalyticsWait) until no confirmation e-mail of the event is
// waiting to be sent, and records when that was.
func (r *Result) waitForMail(ctx context.Context, db *pgx.Conn, o Options) error {
	r.MailLagSeconds = -1
	for deadline := time.Now().Add(o.AnalyticsWait); ; {
		var pending int
		if err := db.QueryRow(ctx, `SELECT count(*) FROM waitlist.notifications
			WHERE event_id = $1 AND kind = 'booking_confirmed' AND status = 'PENDING'`, o.EventID).Scan(&pending); err != nil {
			return fmt.Errorf("pending e-mails: %w", err)
		}
		if pending == 0 {
			r.MailLagSeconds = 0
			if !o.SaleEnded.IsZero() {
				r.MailLagSeconds = max(0, time.Since(o.SaleEnded).Seconds())
			}
			return nil
		}
		if time.Now().After(deadline) {
			return nil
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func (r *Result) judge() {
	add := func(bad bool, format string, args ...any) {
		if bad {
			r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
		}
	}
	add(r.DoubleSold > 0, "%d seats in more than one CONFIRMED booking", r.DoubleSold)
	add(r.SoldNotBooked > 0, "%d SOLD seats in no CONFIRMED booking", r.SoldNotBooked)
	add(r.BookedNotSold > 0, "%d booked seats not SOLD in the ledger", r.BookedNotSold)
	add(r.WrongBooking > 0, "%d SOLD seats carry another booking's id", r.WrongBooking)
	add(r.ConfirmedSeats != r.LedgerSold, "CONFIRMED booking seats %d != ledger SOLD %d", r.ConfirmedSeats, r.LedgerSold)
	add(r.PendingBookings > 0, "%d bookings still PENDING", r.PendingBookings)
	add(r.BenchSold > r.LedgerSold, "the load tool saw %d seats confirmed, the ledger has %d SOLD", r.BenchSold, r.LedgerSold)
	add(r.AnalyticsLagSeconds < 0, "analytics (%d booked, %d ledger) never matched the ledger (%d)",
		r.AnalyticsSeatsSold, r.AnalyticsLedgerSold, r.LedgerSold)
	r.OK = len(r.Problems) == 0
}
