package e2e

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"evently.dev/libs/testkit"
)

// anMoney is one currency's row of an analytics report.
type anMoney struct {
	Currency       string `json:"currency"`
	Bookings       int64  `json:"bookings"`
	Cancellations  int64  `json:"cancellations"`
	SeatsSold      int64  `json:"seats_sold"`
	SeatsCancelled int64  `json:"seats_cancelled"`
	Gross          int64  `json:"gross_revenue"`
	Refunds        int64  `json:"refunds"`
	Net            int64  `json:"net_revenue"`
}

// anEvent is GET /admin/events/{id}/analytics as tests read it.
type anEvent struct {
	EventID         string    `json:"event_id"`
	Name            string    `json:"name"`
	Status          string    `json:"status"`
	Bookings        int64     `json:"bookings"`
	Cancellations   int64     `json:"cancellations"`
	SeatsSold       int64     `json:"seats_sold"`
	LedgerSeatsSold int64     `json:"ledger_seats_sold"`
	Capacity        int64     `json:"capacity"`
	Revenue         []anMoney `json:"revenue"`
	Sections        []struct {
		SectionID       string `json:"section_id"`
		SeatsSold       int64  `json:"seats_sold"`
		LedgerSeatsSold int64  `json:"ledger_seats_sold"`
	} `json:"sections"`
}

// anTruth is what the owning services' own stores say about one event.
type anTruth struct {
	Bookings, Cancellations, SeatsSold, Gross, Refunds, LedgerSold int64
	Currency                                                       string
}

// anDB connects to the system's database (schemas booking and inventory), or skips when
// the suite runs against a system whose database is unknown.
func anDB(t testing.TB) *pgx.Conn {
	t.Helper()
	u := sys.DatabaseURL
	if u == "" {
		u = os.Getenv("EVENTLY_E2E_DATABASE_URL")
	}
	if u == "" {
		t.Skip("the system's database is unknown: set EVENTLY_E2E_DATABASE_URL")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close(context.Background()) })
	return db
}

// anTruthOf sums booking's bookings and inventory's ledger for one event.
func anTruthOf(t testing.TB, db *pgx.Conn, eventID string) anTruth {
	t.Helper()
	ctx := context.Background()
	var tr anTruth
	var cur *string
	err := db.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE status = 'CANCELLED'),
			coalesce(sum(jsonb_array_length(seats)) FILTER (WHERE status = 'CONFIRMED'), 0),
			coalesce(sum(total_amount), 0), coalesce(sum(refund_amount) FILTER (WHERE status = 'CANCELLED'), 0),
			min(currency)
		FROM booking.bookings WHERE event_id = $1 AND status IN ('CONFIRMED', 'CANCELLED')`, eventID).
		Scan(&tr.Bookings, &tr.Cancellations, &tr.SeatsSold, &tr.Gross, &tr.Refunds, &cur)
	if err != nil {
		t.Fatalf("booking sums: %v", err)
	}
	if cur != nil {
		tr.Currency = *cur
	}
	if err := db.QueryRow(ctx, `SELECT count(*) FROM inventory.seats WHERE event_id = $1 AND status = 'SOLD'`, eventID).
		Scan(&tr.LedgerSold); err != nil {
		t.Fatalf("ledger count: %v", err)
	}
	return tr
}

// anMatches reports whether an event's analytics equal the owning services' truth, and
// says how they differ.
func anMatches(a anEvent, tr anTruth) (bool, string) {
	var m anMoney
	for _, r := range a.Revenue {
		if r.Currency == tr.Currency {
			m = r
		}
	}
	ok := a.Bookings == tr.Bookings && a.Cancellations == tr.Cancellations && a.SeatsSold == tr.SeatsSold &&
		a.SeatsSold == tr.LedgerSold && a.LedgerSeatsSold == tr.LedgerSold && m.Gross == tr.Gross &&
		m.Refunds == tr.Refunds && m.Net == tr.Gross-tr.Refunds && len(a.Revenue) <= 1
	if ok {
		return true, ""
	}
	return false, "analytics " + string(mustJSON(a)) + " vs truth " + string(mustJSON(tr))
}

// anWaitFor polls cond until it holds or timeout passes; detail (optional) is reported on failure.
func anWaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool, detail ...*string) {
	t.Helper()
	testkit.Eventually(t, timeout, cond, "%s%v", what, testkit.Lazy(func() string {
		if len(detail) > 0 && detail[0] != nil {
			return ": " + *detail[0]
		}
		return ""
	}))
}
