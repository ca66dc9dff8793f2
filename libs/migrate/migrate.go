// Package migrate applies a service's embedded SQL migrations to its own schema. A
// migration is recorded as applied in the same transaction that runs it, so a failure
// leaves it unapplied, and runners coordinate through a PostgreSQL advisory lock so any
// number of replicas can start at once.
package migrate

import (
	"context"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"sort"
	"strings"

	"github.com/uptrace/bun"
)

// Migration is one versioned SQL file pair.
type Migration struct {
	Version string
	Name    string
	Up      string
	Down    string
}

// Load collects "VERSION_name.up.sql" (and optional ".down.sql") files from the root of
// each source, ordered by version. Library migrations (outbox, inbox) are sources too.
func Load(sources ...fs.FS) ([]Migration, error) {
	byVersion := map[string]*Migration{}
	for _, src := range sources {
		entries, err := fs.ReadDir(src, ".")
		if err != nil {
			return nil, fmt.Errorf("read migrations: %w", err)
		}
		for _, e := range entries {
			name := e.Name()
			var up bool
			switch {
			case strings.HasSuffix(name, ".up.sql"):
				up = true
			case strings.HasSuffix(name, ".down.sql"):
			default:
				continue
			}
			base := strings.TrimSuffix(strings.TrimSuffix(name, ".up.sql"), ".down.sql")
			base = strings.TrimSuffix(base, ".tx")
			version, label, ok := strings.Cut(base, "_")
			if !ok || version == "" {
				return nil, fmt.Errorf("migration %s: name must be VERSION_name.up.sql", name)
			}
			body, err := fs.ReadFile(src, name)
			if err != nil {
				return nil, fmt.Errorf("read migration %s: %w", name, err)
			}
			m := byVersion[version]
			if m == nil {
				m = &Migration{Version: version, Name: label}
				byVersion[version] = m
			} else if m.Name != label {
				return nil, fmt.Errorf("migration version %s used twice (%s, %s)", version, m.Name, label)
			}
			if up {
				m.Up = string(body)
			} else {
				m.Down = string(body)
			}
		}
	}
	out := make([]Migration, 0, len(byVersion))
	for _, m := range byVersion {
		if m.Up == "" {
			return nil, fmt.Errorf("migration %s_%s has no .up.sql", m.Version, m.Name)
		}
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

func lockKey(schema string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte("evently-migrate:" + schema))
	return int64(h.Sum64())
}

// Up applies every pending migration from sources to schema and returns how many ran.
func Up(ctx context.Context, db *bun.DB, schema string, sources ...fs.FS) (int, error) {
	migs, err := Load(sources...)
	if err != nil {
		return 0, err
	}
	applied := 0
	err = withLock(ctx, db, schema, func(conn bun.Conn) error {
		done, err := appliedVersions(ctx, conn)
		if err != nil {
			return err
		}
		for _, m := range migs {
			if done[m.Version] {
				continue
			}
			err := conn.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				if _, err := tx.ExecContext(ctx, m.Up); err != nil {
					return err
				}
				_, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name) VALUES (?, ?)", m.Version, m.Name)
				return err
			})
			if err != nil {
				return fmt.Errorf("migration %s_%s: %w", m.Version, m.Name, err)
			}
			slog.InfoContext(ctx, "migration applied", "schema", schema, "version", m.Version, "name", m.Name)
			applied++
		}
		return nil
	})
	return applied, err
}

// Down reverts the newest steps applied migrations that have a .down.sql.
func Down(ctx context.Context, db *bun.DB, schema string, steps int, sources ...fs.FS) (int, error) {
	migs, err := Load(sources...)
	if err != nil {
		return 0, err
	}
	reverted := 0
	err = withLock(ctx, db, schema, func(conn bun.Conn) error {
		done, err := appliedVersions(ctx, conn)
		if err != nil {
			return err
		}
		for i := len(migs) - 1; i >= 0 && reverted < steps; i-- {
			m := migs[i]
			if !done[m.Version] {
				continue
			}
			if m.Down == "" {
				return fmt.Errorf("migration %s_%s has no .down.sql", m.Version, m.Name)
			}
			err := conn.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				if _, err := tx.ExecContext(ctx, m.Down); err != nil {
					return err
				}
				_, err := tx.ExecContext(ctx, "DELETE FROM schema_migrations WHERE version = ?", m.Version)
				return err
			})
			if err != nil {
				return fmt.Errorf("revert %s_%s: %w", m.Version, m.Name, err)
			}
			reverted++
		}
		return nil
	})
	return reverted, err
}

// withLock holds a session advisory lock on one dedicated connection for the whole run,
// so concurrent runners queue instead of applying the same migration twice.
func withLock(ctx context.Context, db *bun.DB, schema string, fn func(conn bun.Conn) error) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate: get connection: %w", err)
	}
	defer conn.Close()
	key := lockKey(schema)
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(?)", key); err != nil {
		return fmt.Errorf("migrate: advisory lock: %w", err)
	}
	defer func() { _, _ = conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock(?)", key) }()
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version text PRIMARY KEY,
		name text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	return fn(conn)
}

func appliedVersions(ctx context.Context, conn bun.Conn) (map[string]bool, error) {
	rows, err := conn.QueryContext(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("migrate: read applied: %w", err)
	}
	defer rows.Close()
	done := map[string]bool{}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		done[v] = true
	}
	return done, rows.Err()
}
