// Package baseline measures what the machine can do without Evently, in the same run, so
// every figure is read as a share of a ceiling: pgbench with the least database work of a
// 2-seat sale, redis-benchmark with a hold-like Lua script, and a bare reverse proxy with
// the gateway's JWT check in front of the same services.
package baseline

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// PgbenchResult is the database ceiling of the minimal sale.
type PgbenchResult struct {
	Binary       string  `json:"binary"`
	Clients      int     `json:"clients"`
	Seconds      int     `json:"seconds"`
	TPS          float64 `json:"tps"`
	SeatsPerSec  float64 `json:"seats_per_s"`
	LatencyAvgMs float64 `json:"latency_avg_ms"`
	Transaction  string  `json:"transaction"`
}

// saleTxn is one minimal 2-seat sale: a conditional AVAILABLE → SOLD update of two seat
// rows and one booking insert, committed once (synchronous_commit as the server has it).
const saleTxn = `\set p random(1, :pairs)
\set u random(1, 9223372036854775807)
BEGIN;
UPDATE pgb_seats SET status = 'SOLD', booking_id = md5(:u::text)::uuid, version = version + 1
  WHERE event_id = '00000000-0000-4000-8000-00000000be4c' AND seat_id IN ('S' || (2 * :p - 1), 'S' || (2 * :p))
  AND status = 'AVAILABLE';
INSERT INTO pgb_bookings (id, event_id, seats, status, total_amount)
  VALUES (md5(:u::text)::uuid, '00000000-0000-4000-8000-00000000be4c',
          jsonb_build_array('S' || (2 * :p - 1), 'S' || (2 * :p)), 'CONFIRMED', 10000)
  ON CONFLICT DO NOTHING;
COMMIT;
`

// FindPgbench locates pgbench: $PG_BIN, then the PostgreSQL 15 server package's directory,
// then PATH.
func FindPgbench() (string, error) {
	var candidates []string
	if d := os.Getenv("PG_BIN"); d != "" {
		candidates = append(candidates, filepath.Join(d, "pgbench"))
	}
	candidates = append(candidates, "/usr/lib/postgresql/15/bin/pgbench")
	for _, c := range candidates {
		if st, err := os.Stat(c); err == nil && !st.IsDir() { //nolint:gosec // G703: PG_BIN is the operator's own setting
			return c, nil
		}
	}
	if p, err := exec.LookPath("pgbench"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("pgbench not found (it comes with the postgresql-15 package; or set PG_BIN)")
}

// Pgbench runs the minimal sale transaction against a scratch database (created and
// dropped here) with seats seat rows.
func Pgbench(ctx context.Context, adminURL string, seats, clients, seconds int, workDir string) (PgbenchResult, error) {
	bin, err := FindPgbench()
	if err != nil {
		return PgbenchResult{}, err
	}
	res := PgbenchResult{Binary: bin, Clients: clients, Seconds: seconds, Transaction: saleTxn}
	name := "bench_pgb_" + randHex(4)
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return res, err
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return res, err
	}
	defer func() {
		c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = admin.Exec(c, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	}()
	u, err := url.Parse(adminURL)
	if err != nil {
		return res, err
	}
	u.Path = "/" + name
	db, err := pgx.Connect(ctx, u.String())
	if err != nil {
		return res, err
	}
	// Shaped like inventory.seats and booking.bookings, with the same keys.
	_, err = db.Exec(ctx, fmt.Sprintf(`
CREATE TABLE pgb_seats (
    event_id uuid NOT NULL, seat_id text NOT NULL, status text NOT NULL DEFAULT 'AVAILABLE',
    booking_id uuid, version integer NOT NULL DEFAULT 0, updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, seat_id));
CREATE TABLE pgb_bookings (
    id uuid PRIMARY KEY, event_id uuid NOT NULL, seats jsonb NOT NULL, status text NOT NULL,
    total_amount bigint NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
INSERT INTO pgb_seats (event_id, seat_id)
  SELECT '00000000-0000-4000-8000-00000000be4c', 'S' || g FROM generate_series(1, %d) g;`, seats))
	if err == nil {
		// VACUUM may not share the multi-statement (implicitly transactional) batch above.
		_, err = db.Exec(ctx, "VACUUM ANALYZE pgb_seats")
	}
	_ = db.Close(ctx)
	if err != nil {
		return res, fmt.Errorf("pgbench setup: %w", err)
	}
	script := filepath.Join(workDir, "pgbench-sale.sql")
	if err := os.WriteFile(script, []byte(saleTxn), 0o600); err != nil {
		return res, err
	}
	defer os.Remove(script)
	pw, _ := u.User.Password()
	//nolint:gosec // G204: pgbench found by FindPgbench, arguments built here from numbers and the admin URL
	cmd := exec.CommandContext(ctx, bin, "-n", "-c", strconv.Itoa(clients), "-j", "2", "-T", strconv.Itoa(seconds),
		"-D", "pairs="+strconv.Itoa(seats/2), "-f", script,
		"-h", u.Hostname(), "-p", u.Port(), "-U", u.User.Username(), name)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+pw)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return res, fmt.Errorf("pgbench: %w: %s", err, out)
	}
	res.TPS = floatAfter(string(out), `tps = ([0-9.]+)`)
	res.LatencyAvgMs = floatAfter(string(out), `latency average = ([0-9.]+) ms`)
	res.SeatsPerSec = 2 * res.TPS
	if res.TPS == 0 {
		return res, fmt.Errorf("pgbench printed no tps: %s", out)
	}
	return res, nil
}

func floatAfter(s, pattern string) float64 {
	m := regexp.MustCompile(pattern).FindStringSubmatch(s)
	if len(m) < 2 {
		return 0
	}
	v, _ := strconv.ParseFloat(strings.TrimSpace(m[1]), 64)
	return v
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
