// Command analytics-bench measures the analytics endpoints against a realistic volume of
// pre-aggregated rows: it creates a scratch database, fills the read models directly
// with SQL (default: 1,000 events and 1,000,000 bookings' worth of aggregates), serves
// the real handlers behind the real middleware on a loopback port, fires requests at
// every endpoint and prints latency percentiles. The scratch database is dropped at the
// end unless -keep is given.
//
//	go run ./cmd/analytics-bench -events 1000 -bookings 1000000 -requests 500 -concurrency 4
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"

	"evently.dev/libs/assertion"
	"evently.dev/libs/consumer"
	"evently.dev/libs/httpserver"
	"evently.dev/libs/migrate"
	"evently.dev/libs/outbox"
	"evently.dev/libs/pg"

	"evently.dev/services/analytics/internal/app"
	analyticshttp "evently.dev/services/analytics/internal/http"
	"evently.dev/services/analytics/internal/store"
	"evently.dev/services/analytics/migrations"
)

const secret = "bench-secret"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "analytics-bench:", err)
		os.Exit(1)
	}
}

func run() error {
	adminURL := flag.String("db", envOr("TEST_DATABASE_URL", "postgres://evently:evently@127.0.0.1:5432/evently?sslmode=disable"),
		"PostgreSQL URL of a database the bench may CREATE DATABASE from")
	nEvents := flag.Int("events", 1000, "events to aggregate")
	nBookings := flag.Int("bookings", 1_000_000, "bookings the aggregates stand for")
	requests := flag.Int("requests", 500, "requests per endpoint")
	concurrency := flag.Int("concurrency", 4, "concurrent clients per endpoint")
	keep := flag.Bool("keep", false, "keep the scratch database")
	reuse := flag.String("reuse", "", "measure a database kept by an earlier -keep run instead of filling a new one")
	flag.Parse()
	ctx := context.Background()

	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := "analytics_bench_" + hex.EncodeToString(b)
	if *reuse != "" {
		name, *keep = *reuse, true
	}
	admin, err := pgx.Connect(ctx, *adminURL)
	if err != nil {
		return err
	}
	defer admin.Close(ctx)
	if *reuse == "" {
		if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
			return err
		}
	}
	if !*keep {
		defer func() { _, _ = admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") }()
	} else {
		fmt.Println("scratch database:", name)
	}
	u, err := url.Parse(*adminURL)
	if err != nil {
		return err
	}
	u.Path = "/" + name
	db, err := pg.Open(ctx, pg.Config{URL: u.String(), Schema: "analytics", MaxOpenConns: 20, MaxIdleConns: 20,
		ConnMaxLifetime: time.Hour})
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := migrate.Up(ctx, db, "analytics", outbox.Migrations, consumer.Migrations, migrations.FS); err != nil {
		return err
	}
	if *reuse == "" {
		start := time.Now()
		if err := fill(ctx, db, *nEvents, *nBookings); err != nil {
			return fmt.Errorf("fill: %w", err)
		}
		fmt.Printf("filled %d events / %d bookings' worth of aggregates in %s\n", *nEvents, *nBookings, time.Since(start).Round(time.Millisecond))
	}
	for _, t := range store.Tables {
		var n int64
		_ = db.QueryRowContext(ctx, "SELECT count(*) FROM "+t).Scan(&n)
		fmt.Printf("  %-16s %9d rows\n", t, n)
	}

	st := store.New(db)
	if _, err := st.AdoptTimezone(ctx, "Europe/Berlin"); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	hs := httpserver.New(httpserver.Options{Service: "analytics", Logger: log, Config: httpserver.Config{RequestTimeout: 15 * time.Second}})
	hs.Echo.Use(assertion.Middleware(secret))
	(&analyticshttp.Handlers{Reports: &app.Reports{Models: st, LiveMinutes: 15}}).Routes(hs.Echo)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: hs.Echo, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	base := "http://" + ln.Addr().String()

	var ids []string
	rows, err := db.QueryContext(ctx, `SELECT event_id::text FROM events ORDER BY event_id`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id string
		_ = rows.Scan(&id)
		ids = append(ids, id)
	}
	rows.Close()
	today := time.Now().UTC()
	yearAgo := today.AddDate(-1, 0, 0).Format("2006-01-02")
	threeYears := today.AddDate(-3, 0, 1).Format("2006-01-02")
	endpoints := []struct {
		name string
		path func(i int) string
	}{
		{"overview", func(int) string { return "/api/v1/admin/events/analytics" }},
		{"event", func(i int) string { return "/api/v1/admin/events/" + ids[i%len(ids)] + "/analytics" }},
		{"revenue day 1y", func(int) string { return "/api/v1/admin/analytics/revenue?group_by=day&from=" + yearAgo }},
		{"revenue week 3y", func(int) string { return "/api/v1/admin/analytics/revenue?group_by=week&from=" + threeYears }},
		{"revenue month 3y", func(int) string { return "/api/v1/admin/analytics/revenue?group_by=month&from=" + threeYears }},
		{"revenue event 1y", func(int) string { return "/api/v1/admin/analytics/revenue?group_by=event&from=" + yearAgo }},
		{"revenue event 3y", func(int) string { return "/api/v1/admin/analytics/revenue?group_by=event&from=" + threeYears }},
		{"revenue category 3y", func(int) string { return "/api/v1/admin/analytics/revenue?group_by=category&from=" + threeYears }},
		{"popular seats_sold", func(int) string { return "/api/v1/admin/analytics/popular-events?by=seats_sold&limit=100" }},
		{"popular revenue", func(int) string { return "/api/v1/admin/analytics/popular-events?by=revenue&limit=100" }},
		{"popular fill_rate", func(int) string { return "/api/v1/admin/analytics/popular-events?by=fill_rate&limit=100" }},
		{"popular waitlist", func(int) string { return "/api/v1/admin/analytics/popular-events?by=waitlist&limit=100" }},
		{"live", func(int) string { return "/api/v1/admin/analytics/live" }},
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *concurrency * 2}}
	fmt.Printf("\n%-22s %8s %8s %8s %8s %8s\n", "endpoint", "p50", "p95", "p99", "max", "bytes")
	worst := time.Duration(0)
	for _, ep := range endpoints {
		lat, size, err := measure(client, base, ep.path, *requests, *concurrency)
		if err != nil {
			return fmt.Errorf("%s: %w", ep.name, err)
		}
		p99 := pct(lat, 99)
		worst = max(worst, p99)
		fmt.Printf("%-22s %8s %8s %8s %8s %8d\n", ep.name, ms(pct(lat, 50)), ms(pct(lat, 95)), ms(p99), ms(lat[len(lat)-1]), size)
	}
	fmt.Printf("\nworst p99: %s (target < 50ms)\n", ms(worst))
	return nil
}

func measure(c *http.Client, base string, path func(int) string, n, conc int) ([]time.Duration, int, error) {
	// Warm up the connection pool and PostgreSQL's caches first.
	for i := range conc * 2 {
		if _, _, err := get(c, base+path(i)); err != nil {
			return nil, 0, err
		}
	}
	lat := make([]time.Duration, n)
	var size int
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	next := make(chan int)
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				d, sz, err := get(c, base+path(i))
				mu.Lock()
				lat[i], size = d, sz
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return lat, size, firstErr
}

func get(c *http.Client, u string) (time.Duration, int, error) {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return 0, 0, err
	}
	assertion.Sign(req.Header, secret, assertion.Identity{UserID: "bench", Role: assertion.RoleAdmin}, "", time.Now())
	t := time.Now()
	res, err := c.Do(req)
	if err != nil {
		return 0, 0, err
	}
	b, err := io.ReadAll(res.Body)
	_ = res.Body.Close()
	d := time.Since(t)
	if err != nil {
		return 0, 0, err
	}
	if res.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("GET %s: %d %s", u, res.StatusCode, b)
	}
	return d, len(b), nil
}

func pct(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000) }

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// fill writes generation 1's aggregates as if nBookings bookings (about two seats each,
// 10 % cancelled) had been sold for nEvents events, each selling for 90 days, with sale
// windows spread over three years; hourly rows exist for the hours that had sales.
func fill(ctx context.Context, db *bun.DB, nEvents, nBookings int) error {
	per := max(1, nBookings/nEvents) // bookings per event
	stmts := []string{
		// Events: 10 categories, one in five in USD, 4 sections of 500 seats.
		fmt.Sprintf(`INSERT INTO events (gen, event_id, name, category, status, currency, starts_at, catalog_version,
			published_at, capacity, seats_sold, ledger_sold, holds_created, holds_converted, holds_expired,
			waitlist_length, waitlist_joined, offers_made, offers_converted)
		SELECT 1, md5('e' || i)::uuid, 'Event ' || i, 'category-' || (i %% 10),
			CASE WHEN i %% 50 = 0 THEN 'CANCELLED' ELSE 'PUBLISHED' END,
			CASE WHEN i %% 5 = 0 THEN 'USD' ELSE 'EUR' END,
			now() - interval '3 years' + (i * interval '1 day') + interval '90 days', 1,
			now() - interval '3 years' + (i * interval '1 day'), 2000,
			%[2]d * 18 / 10, %[2]d * 18 / 10, %[2]d * 2, %[2]d, %[2]d / 2, i %% 37, i %% 37 + 5, 5, 3
		FROM generate_series(1, %[1]d) i`, nEvents, per),
		fmt.Sprintf(`INSERT INTO event_sales (gen, event_id, currency, bookings, cancellations, seats_booked,
			seats_cancelled, gross, refunds)
		SELECT 1, md5('e' || i)::uuid, CASE WHEN i %% 5 = 0 THEN 'USD' ELSE 'EUR' END, %[2]d, %[2]d / 10,
			%[2]d * 2, %[2]d / 5, %[2]d::bigint * 2 * 4500, %[2]d::bigint / 10 * 7000
		FROM generate_series(1, %[1]d) i`, nEvents, per),
		fmt.Sprintf(`INSERT INTO event_sections (gen, event_id, section_id, name, capacity, ledger_sold, currency,
			seats_booked, seats_cancelled, gross, cancelled_value)
		SELECT 1, md5('e' || i)::uuid, md5('s' || i || '-' || s), 'Section ' || s, 500, %[2]d * 18 / 40,
			CASE WHEN i %% 5 = 0 THEN 'USD' ELSE 'EUR' END, %[2]d / 2, %[2]d / 20,
			%[2]d::bigint / 2 * 4500, %[2]d::bigint / 20 * 4500
		FROM generate_series(1, %[1]d) i, generate_series(1, 4) s`, nEvents, per),
		// 90 sale days per event.
		fmt.Sprintf(`INSERT INTO event_daily (gen, event_id, day, currency, bookings, cancellations, seats_booked,
			seats_cancelled, gross, refunds)
		SELECT 1, md5('e' || i)::uuid, (now() - interval '3 years')::date + i + d,
			CASE WHEN i %% 5 = 0 THEN 'USD' ELSE 'EUR' END,
			%[2]d / 90, %[2]d / 900, %[2]d / 45, %[2]d / 450, %[2]d::bigint / 45 * 4500, %[2]d::bigint / 900 * 7000
		FROM generate_series(1, %[1]d) i, generate_series(0, 89) d`, nEvents, per),
		`INSERT INTO event_monthly (gen, event_id, month, currency, bookings, cancellations, seats_booked, seats_cancelled, gross, refunds)
		SELECT gen, event_id, date_trunc('month', day)::date, currency, sum(bookings), sum(cancellations), sum(seats_booked),
			sum(seats_cancelled), sum(gross), sum(refunds) FROM event_daily GROUP BY 1, 2, 3, 4`,
		`INSERT INTO daily (gen, day, currency, bookings, cancellations, seats_booked, seats_cancelled, gross, refunds)
		SELECT gen, day, currency, sum(bookings), sum(cancellations), sum(seats_booked), sum(seats_cancelled),
			sum(gross), sum(refunds) FROM event_daily GROUP BY gen, day, currency`,
		// One hourly row per hour with sales: at most one per booking.
		fmt.Sprintf(`INSERT INTO event_hourly (gen, event_id, bucket, currency, bookings, seats_booked, gross)
		SELECT 1, md5('e' || i)::uuid,
			date_trunc('hour', now() - interval '3 years') + (i * interval '1 day') + (h * interval '2 hours'),
			CASE WHEN i %% 5 = 0 THEN 'USD' ELSE 'EUR' END, 1, 2, 9000
		FROM generate_series(1, %[1]d) i, generate_series(0, %[2]d - 1) h`, nEvents, min(per, 1080)),
		`INSERT INTO live_minutes (gen, minute, bookings, cancellations, seats_booked, seats_cancelled, holds_created)
		SELECT 1, date_trunc('minute', now()) - m * interval '1 minute', 20, 2, 40, 4, 60
		FROM generate_series(0, 1439) m`,
		// Holds: 50 per event, one in ten still live.
		fmt.Sprintf(`INSERT INTO holds (gen, hold_id, event_id, seats, purpose, status, created_at, expires_at)
		SELECT 1, md5('h' || i || '-' || k), md5('e' || i)::uuid, 2, 'USER',
			CASE WHEN k %% 10 = 0 THEN 'ACTIVE' ELSE 'CONVERTED' END, now(), now() + interval '10 minutes'
		FROM generate_series(1, %[1]d) i, generate_series(1, 50) k`, nEvents),
		`ANALYZE`,
	}
	for _, q := range stmts {
		if _, err := db.ExecContext(ctx, strings.TrimSpace(q)); err != nil {
			return fmt.Errorf("%s…: %w", strings.TrimSpace(q)[:60], err)
		}
	}
	return nil
}
