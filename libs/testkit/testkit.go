// Package testkit gives integration tests isolated use of the real local servers: a fresh
// PostgreSQL database per test, unique Kafka topic and Redis key-prefix names, and polling
// helpers. Nothing here mocks a server. Every helper that needs a server skips its test
// under -short (so `make test-unit` runs without servers) and otherwise fails with a
// message naming `make infra-up` when the server does not answer.
package testkit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"

	"evently.dev/libs/migrate"
	"evently.dev/libs/pg"
)

// DefaultDatabaseURL is the local server the project's infra script starts.
//
//nolint:gosec // the local test server's well-known credentials, not a secret
const DefaultDatabaseURL = "postgres://evently:evently@127.0.0.1:5432/evently?sslmode=disable"

// AdminDatabaseURL is the database tests connect to in order to create their own.
func AdminDatabaseURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultDatabaseURL
}

// KafkaBrokers lists the brokers tests use.
func KafkaBrokers() []string {
	if b := os.Getenv("KAFKA_BROKERS"); b != "" {
		return strings.Split(b, ",")
	}
	return []string{"127.0.0.1:9092"}
}

// RedisAddr is the Redis server tests use.
func RedisAddr() string {
	if a := os.Getenv("REDIS_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:6379"
}

// NeedsServer skips t under -short, naming the server it needs; integration tests call it
// (the helpers below do) before touching a server, so the unit run never waits on one.
func NeedsServer(t testing.TB, server string) {
	t.Helper()
	if testing.Short() {
		t.Skipf("testkit: needs %s (started by `make infra-up`); skipped under -short", server)
	}
}

var nonName = regexp.MustCompile(`[^a-z0-9]+`)

// Name returns base plus a random suffix, lower-case, for topics, groups and prefixes.
func Name(t testing.TB, base string) string {
	t.Helper()
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return base + "-" + hex.EncodeToString(b)
}

// DatabaseURL creates a brand-new database for this test, drops it in t.Cleanup, and
// returns its URL (services under test connect to it like to any other).
func DatabaseURL(t testing.TB) string {
	t.Helper()
	NeedsServer(t, "PostgreSQL")
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, AdminDatabaseURL())
	if err != nil {
		t.Fatalf("testkit: PostgreSQL at %s is not answering (start it with `make infra-up`): %v", redact(AdminDatabaseURL()), err)
	}
	defer admin.Close(ctx)
	name := "t_" + nonName.ReplaceAllString(strings.ToLower(Name(t, shortName(t.Name()))), "_")
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("testkit: create database: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), AdminDatabaseURL())
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	u, err := url.Parse(AdminDatabaseURL())
	if err != nil {
		t.Fatalf("testkit: parse database url: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

func shortName(s string) string {
	s = nonName.ReplaceAllString(strings.ToLower(s), "_")
	if len(s) > 30 {
		s = s[len(s)-30:]
	}
	return strings.Trim(s, "_")
}

// DB opens a fresh database (see DatabaseURL) with its search_path pinned to schema.
func DB(t testing.TB, schema string) *bun.DB {
	t.Helper()
	db, err := pg.Open(context.Background(), pg.Config{URL: DatabaseURL(t), Schema: schema,
		MaxOpenConns: 20, MaxIdleConns: 20, ConnMaxLifetime: time.Hour})
	if err != nil {
		t.Fatalf("testkit: open database: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// RowPages returns the heap page of every row of table, by id: tests that a write rewrites
// rows in place (see the outbox's and the waitlist's fillfactor) compare it before and after.
func RowPages(t testing.TB, db *bun.DB, table string) map[string]int64 {
	t.Helper()
	var rows []struct {
		ID   string `bun:"id"`
		Page int64  `bun:"page"`
	}
	if err := db.NewRaw(`SELECT id::text AS id, (ctid::text::point)[0]::bigint AS page FROM ?`, bun.Ident(table)).
		Scan(context.Background(), &rows); err != nil {
		t.Fatalf("testkit: read the row pages of %s: %v", table, err)
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.ID] = r.Page
	}
	return out
}

// PagesUsed counts the distinct pages in pages (from RowPages).
func PagesUsed(pages map[string]int64) int {
	seen := map[int64]bool{}
	for _, p := range pages {
		seen[p] = true
	}
	return len(seen)
}

// RowsMoved counts the rows of before that are on another page in after (both from RowPages).
func RowsMoved(before, after map[string]int64) int {
	moved := 0
	for id, p := range after {
		if b, ok := before[id]; ok && b != p {
			moved++
		}
	}
	return moved
}

// MigratedDB opens a fresh database (see DB) and applies sources to schema. A service's
// tests pass what the platform applies at its start: outbox.Migrations,
// consumer.Migrations, then the service's own (testkit does not import those packages,
// so tests that need neither do not link the Kafka client).
func MigratedDB(t testing.TB, schema string, sources ...fs.FS) *bun.DB {
	t.Helper()
	db := DB(t, schema)
	if _, err := migrate.Up(context.Background(), db, schema, sources...); err != nil {
		t.Fatalf("testkit: migrate %s: %v", schema, err)
	}
	return db
}

// redact hides the password of a database URL in messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the configured URL"
	}
	return u.Redacted()
}

// Redis returns a client and a unique key prefix; keys under the prefix are deleted at cleanup.
func Redis(t testing.TB) (*redis.Client, string) {
	t.Helper()
	NeedsServer(t, "Redis")
	c := redis.NewClient(&redis.Options{Addr: RedisAddr()})
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("testkit: Redis at %s is not answering (start it with `make infra-up`): %v", RedisAddr(), err)
	}
	prefix := Name(t, "t") + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if len(keys) > 0 {
			_ = c.Del(ctx, keys...).Err()
		}
		_ = c.Close()
	})
	return c, prefix
}

// Eventually polls cond until it holds or timeout passes, then fails the test. It polls
// every 20 ms at first and backs off to every 250 ms, so a quick effect is seen at once
// while a slow one does not flood the system under test with requests. cond may itself
// fail the test (t.Fatalf) on an answer that no amount of waiting will change. format and
// args are formatted only on failure, so a Lazy argument reports the last value cond saw.
func Eventually(t testing.TB, timeout time.Duration, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	wait := 20 * time.Millisecond
	for {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("testkit: timed out after %s waiting for: %s", timeout, fmt.Sprintf(format, args...))
		}
		time.Sleep(wait)
		wait = min(wait*3/2, 250*time.Millisecond)
	}
}

// Lazy is a message argument computed when the message is formatted, such as the last
// state a poll saw.
type Lazy func() string

// String implements fmt.Stringer.
func (l Lazy) String() string { return l() }
