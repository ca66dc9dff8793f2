package check

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"evently.dev/libs/testkit"
)

const eventID = "01920000-0000-7000-8000-0000000000e1"

// migrated returns a fresh database with the real migrations of inventory, booking and
// analytics applied in their schemas, so the checks run against the tables as they are
// (a renamed column fails here, not silently in a bench run).
func migrated(t *testing.T) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	u := testkit.DatabaseURL(t)
	db, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close(ctx) })
	_, file, _, _ := runtime.Caller(0)
	services := filepath.Join(filepath.Dir(file), "..", "..", "..", "services")
	for _, schema := range []string{"inventory", "booking", "analytics", "waitlist"} {
		files, _ := filepath.Glob(filepath.Join(services, schema, "migrations", "*.up.sql"))
		sort.Strings(files)
		if len(files) == 0 {
			t.Fatalf("no migrations for %s", schema)
		}
		if _, err := db.Exec(ctx, "CREATE SCHEMA "+schema+"; SET search_path = "+schema); err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f) //nolint:gosec // G304: the repository's own migrations
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(ctx, string(b)); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
		}
	}
	if _, err := db.Exec(ctx, "SET search_path = public"); err != nil {
		t.Fatal(err)
	}
	return db
}

// sale writes a consistent 2-booking sale of seats S1..S4, analytics caught up.
func sale(t *testing.T, db *pgx.Conn) {
	t.Helper()
	ctx := context.Background()
	q := []string{
		`INSERT INTO inventory.seats (event_id, seat_id, section_id, row, number, label, x, y, price, status, booking_id) VALUES
		 ($1, 'S1', 'A', '1', 1, 'S1', 0, 0, 100, 'SOLD', '01920000-0000-7000-8000-0000000000b1'),
		 ($1, 'S2', 'A', '1', 2, 'S2', 0, 0, 100, 'SOLD', '01920000-0000-7000-8000-0000000000b1'),
		 ($1, 'S3', 'A', '1', 3, 'S3', 0, 0, 100, 'SOLD', '01920000-0000-7000-8000-0000000000b2'),
		 ($1, 'S4', 'A', '1', 4, 'S4', 0, 0, 100, 'SOLD', '01920000-0000-7000-8000-0000000000b2'),
		 ($1, 'S5', 'A', '1', 5, 'S5', 0, 0, 100, 'AVAILABLE', NULL)`,
		`INSERT INTO booking.bookings (id, booking_ref, user_id, hold_id, event_id, status, seats, total_amount, currency,
		   payment_provider, payment_method, payment_status, next_attempt_at, created_at, updated_at) VALUES
		 ('01920000-0000-7000-8000-0000000000b1', 'R1', 'u1', '01920000-0000-7000-8000-0000000000c1', $1, 'CONFIRMED',
		  '[{"seat_id":"S1"},{"seat_id":"S2"}]', 200, 'EUR', 'simulated', 'card', 'COMPLETED', now(), now(), now()),
		 ('01920000-0000-7000-8000-0000000000b2', 'R2', 'u2', '01920000-0000-7000-8000-0000000000c2', $1, 'CONFIRMED',
		  '[{"seat_id":"S3"},{"seat_id":"S4"}]', 200, 'EUR', 'simulated', 'card', 'COMPLETED', now(), now(), now())`,
		`INSERT INTO analytics.events (gen, event_id, seats_sold, ledger_sold) VALUES (1, $1, 4, 4)`,
	}
	for _, s := range q {
		if _, err := db.Exec(ctx, s, eventID); err != nil {
			t.Fatal(err)
		}
	}
}

func TestIntegrationCheckPassesAConsistentSale(t *testing.T) {
	db := migrated(t)
	sale(t, db)
	r, err := Run(context.Background(), Options{DatabaseURL: dbURL(t, db), EventID: eventID, BenchSold: 4,
		SaleEnded: time.Now(), AnalyticsWait: time.Second, SettleWait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK || r.LedgerSold != 4 || r.ConfirmedBookings != 2 || r.ConfirmedSeats != 4 || r.AnalyticsLagSeconds < 0 ||
		r.MailLagSeconds < 0 {
		t.Fatalf("got %+v", r)
	}
	// A confirmation e-mail still waiting: the mail lag is not reached within the wait.
	if _, err := db.Exec(context.Background(), `INSERT INTO waitlist.notifications (id, dedupe_key, user_id, event_id, kind,
		subject, body_text, body_html) VALUES (gen_random_uuid(), 'booking_confirmed:b1', 'u1', $1, 'booking_confirmed', 's', 't', 'h')`,
		eventID); err != nil {
		t.Fatal(err)
	}
	r, err = Run(context.Background(), Options{DatabaseURL: dbURL(t, db), EventID: eventID, BenchSold: 4,
		SaleEnded: time.Now(), AnalyticsWait: 300 * time.Millisecond, SettleWait: time.Second})
	if err != nil || r.MailLagSeconds != -1 {
		t.Fatalf("with an e-mail pending: mail lag %.1f, err %v; want -1", r.MailLagSeconds, err)
	}
}

func TestIntegrationCheckFindsViolations(t *testing.T) {
	tests := []struct {
		name   string
		break_ string
		want   string
	}{
		{"seat in two bookings", `INSERT INTO booking.bookings (id, booking_ref, user_id, hold_id, event_id, status, seats,
			total_amount, currency, payment_provider, payment_method, payment_status, next_attempt_at, created_at, updated_at)
			VALUES ('01920000-0000-7000-8000-0000000000b3', 'R3', 'u3', '01920000-0000-7000-8000-0000000000c3', $1,
			'CONFIRMED', '[{"seat_id":"S1"}]', 100, 'EUR', 'simulated', 'card', 'COMPLETED', now(), now(), now())`,
			"more than one CONFIRMED booking"},
		{"sold seat in no booking", `UPDATE inventory.seats SET status = 'SOLD', booking_id = '01920000-0000-7000-8000-0000000000b9'
			WHERE event_id = $1 AND seat_id = 'S5'`, "SOLD seats in no CONFIRMED booking"},
		{"booked seat not sold", `UPDATE inventory.seats SET status = 'AVAILABLE', booking_id = NULL
			WHERE event_id = $1 AND seat_id = 'S4'`, "booked seats not SOLD"},
		{"seat sold for another booking", `UPDATE inventory.seats SET booking_id = '01920000-0000-7000-8000-0000000000b2'
			WHERE event_id = $1 AND seat_id = 'S1'`, "another booking's id"},
		{"analytics behind", `UPDATE analytics.events SET seats_sold = 2 WHERE event_id = $1`, "never matched the ledger"},
		{"booking still pending", `UPDATE booking.bookings SET status = 'PENDING' WHERE id = '01920000-0000-7000-8000-0000000000b2'
			AND event_id = $1`, "still PENDING"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := migrated(t)
			sale(t, db)
			if _, err := db.Exec(context.Background(), tc.break_, eventID); err != nil {
				t.Fatal(err)
			}
			r, err := Run(context.Background(), Options{DatabaseURL: dbURL(t, db), EventID: eventID, BenchSold: 4,
				SaleEnded: time.Now(), AnalyticsWait: 300 * time.Millisecond, SettleWait: 300 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			if r.OK || !strings.Contains(strings.Join(r.Problems, "; "), tc.want) {
				t.Fatalf("want a problem with %q, got ok=%v %v", tc.want, r.OK, r.Problems)
			}
		})
	}
}

func dbURL(t *testing.T, db *pgx.Conn) string {
	t.Helper()
	return db.Config().ConnString()
}
