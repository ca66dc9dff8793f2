// Package pg opens the service's PostgreSQL connection pool through bun, pinned to the
// service's own schema, so services never touch each other's tables by accident.
package pg

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/extra/bunotel"
)

// Config holds the database settings every service shares.
type Config struct {
	URL             string        `envconfig:"DATABASE_URL" required:"true" mask:"true"`
	Schema          string        `envconfig:"DB_SCHEMA"`
	MaxOpenConns    int           `envconfig:"DB_MAX_OPEN_CONNS" default:"20"`
	MaxIdleConns    int           `envconfig:"DB_MAX_IDLE_CONNS" default:"20"`
	ConnMaxLifetime time.Duration `envconfig:"DB_CONN_MAX_LIFETIME" default:"30m"`
	MigrateOnStart  bool          `envconfig:"MIGRATE_ON_START" default:"true"`
}

var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// ValidSchema reports whether s is safe to splice into SQL as an identifier.
func ValidSchema(s string) bool { return schemaName.MatchString(s) }

// Open connects, pins search_path to cfg.Schema (creating the schema if missing) and
// checks the connection. The schema is the only one the service's SQL names implicitly.
func Open(ctx context.Context, cfg Config) (*bun.DB, error) {
	if !ValidSchema(cfg.Schema) {
		return nil, fmt.Errorf("database schema %q is not a valid identifier", cfg.Schema)
	}
	pcfg, err := pgx.ParseConfig(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("parse DATABASE_URL: %w", err)
	}
	pcfg.RuntimeParams["search_path"] = cfg.Schema
	pcfg.RuntimeParams["timezone"] = "UTC"
	// bun writes every argument into the SQL text itself, so nearly every statement's
	// text is new to the server. pgx's default (cache a prepared statement per text)
	// then spent a Parse/Describe round trip on each of them and evicted a cached one
	// per statement: twice the round trips and server parses of the same work, measured
	// on the booking path. The simple protocol sends such a statement in one message.
	pcfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	// Only statements run through QueryPrepared are prepared, and they are written for a
	// generic plan (their inputs are arrays). PostgreSQL's default would plan their first
	// five calls afresh and then keep doing so whenever an array is short enough to look
	// cheaper planned with its values, which is every call in a rush.
	pcfg.RuntimeParams["plan_cache_mode"] = "force_generic_plan"
	if err := ensureSchema(ctx, pcfg, cfg.Schema); err != nil {
		return nil, err
	}
	sqldb := stdlib.OpenDB(*pcfg)
	sqldb.SetMaxOpenConns(cfg.MaxOpenConns)
	sqldb.SetMaxIdleConns(cfg.MaxIdleConns)
	sqldb.SetConnMaxLifetime(cfg.ConnMaxLifetime)
	db := bun.NewDB(sqldb, pgdialect.New())
	db = db.WithQueryHook(bunotel.NewQueryHook(bunotel.WithDBName(cfg.Schema)))
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	return db, nil
}

func ensureSchema(ctx context.Context, pcfg *pgx.ConnConfig, schema string) error {
	conn, err := pgx.ConnectConfig(ctx, pcfg)
	if err != nil {
		return fmt.Errorf("connect to postgres: %w", err)
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+schema)
	var pgErr *pgconn.PgError
	// Two processes racing to create the schema: the loser sees a unique violation.
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		err = nil
	}
	if err != nil {
		return fmt.Errorf("create schema %s: %w", schema, err)
	}
	return nil
}

// Check is a readiness probe for the pool.
func Check(db *bun.DB) func(ctx context.Context) error {
	return func(ctx context.Context) error { return db.PingContext(ctx) }
}

// IsUniqueViolation reports whether err is a PostgreSQL unique-constraint violation.
func IsUniqueViolation(err error) bool { return hasCode(err, "23505") }

// IsForeignKeyViolation reports whether err is a PostgreSQL foreign-key violation.
func IsForeignKeyViolation(err error) bool { return hasCode(err, "23503") }

func hasCode(err error, code string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == code
}

// IsUnavailable reports an error of reaching the server rather than of the statement: no
// connection, a connection lost, or a database shutting down, starting up or in recovery.
// Such an error says nothing about the request: callers wait it out (consumers) or answer
// 503 with Retry-After (HTTP), never 500. A deadline or cancellation is not one: it is
// the caller's own.
func IsUnavailable(err error) bool {
	var connErr *pgconn.ConnectError
	var netErr net.Error
	var pgErr *pgconn.PgError
	switch {
	case err == nil, errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return false
	case errors.As(err, &connErr), errors.As(err, &netErr), errors.Is(err, driver.ErrBadConn):
		return true
	case errors.As(err, &pgErr):
		// Class 08 is connection exceptions; 57P01-57P03 are admin or crash shutdown and
		// "cannot connect now" (starting up or in recovery).
		return strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03"
	}
	return false
}

// IsNoRows reports whether err means the query matched nothing.
func IsNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
