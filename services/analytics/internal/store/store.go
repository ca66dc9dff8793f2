// Package store keeps analytics' read models in PostgreSQL: the projector that applies
// facts inside the consumer's transaction, the queries behind every report, and the
// generation row that lets a rebuild fill new tables beside the serving ones.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/uptrace/bun"

	"evently.dev/libs/pg"

	"evently.dev/services/analytics/internal/domain"
)

// Tables are the read-model tables, every one keyed by generation first.
var Tables = []string{"events", "event_sales", "event_sections", "event_hourly", "event_daily", "event_monthly", "daily",
	"live_minutes", "holds", "bookings", "waitlist_entries"}

// Store reads and maintains the read models.
type Store struct{ db *bun.DB }

// New wraps the service's database.
func New(db *bun.DB) *Store { return &Store{db: db} }

// DB exposes the pool for the consumer runner.
func (s *Store) DB() *bun.DB { return s.db }

// inTx runs fn in one transaction. The generation row has no repository of its own, so
// fn gets the transaction itself.
func (s *Store) inTx(ctx context.Context, fn func(ctx context.Context, tx bun.IDB) error) error {
	return pg.InTx(ctx, s.db, func(db bun.IDB) bun.IDB { return db }, fn)
}

// CurrentGeneration reads the generation row.
func (s *Store) CurrentGeneration(ctx context.Context) (domain.Generation, error) {
	var g domain.Generation
	var tz sql.NullString
	var building sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT serving, timezone, building FROM generation`).Scan(&g.Serving, &tz, &building)
	if err != nil {
		return g, fmt.Errorf("read generation: %w", err)
	}
	g.Timezone, g.Building = tz.String, int(building.Int64)
	return g, nil
}

// AdoptTimezone records tz as the serving generation's reporting zone if none is set yet
// (the first start), and returns the zone the serving generation was built with. A
// different configured zone takes effect only through a rebuild, so buckets never mix.
func (s *Store) AdoptTimezone(ctx context.Context, tz string) (string, error) {
	if _, err := s.db.ExecContext(ctx, `UPDATE generation SET timezone = ? WHERE timezone IS NULL`, tz); err != nil {
		return "", fmt.Errorf("set reporting time zone: %w", err)
	}
	g, err := s.CurrentGeneration(ctx)
	return g.Timezone, err
}

// ErrRebuildRaced means another rebuild took over the generation row.
var ErrRebuildRaced = errors.New("another rebuild started or finished meanwhile")

// StartBuild claims the next generation for a rebuild in zone tz: it discards what an
// abandoned rebuild left (every generation above the serving one) and records the new one
// as building.
func (s *Store) StartBuild(ctx context.Context, tz string) (int, error) {
	var next int
	err := s.inTx(ctx, func(ctx context.Context, tx bun.IDB) error {
		var serving int
		var building sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT serving, building FROM generation FOR UPDATE`).
			Scan(&serving, &building); err != nil {
			return err
		}
		next = max(serving, int(building.Int64)) + 1
		for _, t := range Tables {
			if _, err := tx.ExecContext(ctx, "DELETE FROM "+t+" WHERE gen > ?", serving); err != nil {
				return fmt.Errorf("clear %s: %w", t, err)
			}
		}
		_, err := tx.ExecContext(ctx, `UPDATE generation SET building = ?, building_timezone = ?,
			building_started_at = now()`, next, tz)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("start rebuild: %w", err)
	}
	return next, nil
}

// SwitchTo makes gen, a finished rebuild, the serving generation, atomically.
func (s *Store) SwitchTo(ctx context.Context, gen int) error {
	return s.inTx(ctx, func(ctx context.Context, tx bun.IDB) error {
		res, err := tx.ExecContext(ctx, `UPDATE generation SET serving = building, timezone = building_timezone,
			building = NULL, building_timezone = NULL, building_started_at = NULL, switched_at = now()
			WHERE building = ?`, gen)
		if err != nil {
			return fmt.Errorf("switch generation: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrRebuildRaced
		}
		return nil
	})
}

// AbandonBuild forgets gen as building (a failed or interrupted rebuild); its rows are
// cleared by the next StartBuild.
func (s *Store) AbandonBuild(ctx context.Context, gen int) error {
	_, err := s.db.ExecContext(ctx, `UPDATE generation SET building = NULL, building_timezone = NULL,
		building_started_at = NULL WHERE building = ?`, gen)
	return err
}

// DropBefore deletes the rows of generations older than serving and the inbox entries of
// their consumer groups (named by groupOf), which nothing reads any more.
func (s *Store) DropBefore(ctx context.Context, serving int, groupOf func(int) string) error {
	for _, t := range Tables {
		if _, err := s.db.ExecContext(ctx, "DELETE FROM "+t+" WHERE gen < ?", serving); err != nil {
			return fmt.Errorf("drop old %s: %w", t, err)
		}
	}
	groups := make([]string, 0, serving)
	for g := 1; g < serving; g++ {
		groups = append(groups, groupOf(g))
	}
	if len(groups) > 0 {
		if _, err := s.db.ExecContext(ctx, "DELETE FROM inbox WHERE consumer IN (?)", bun.List(groups)); err != nil {
			return fmt.Errorf("drop old inbox rows: %w", err)
		}
	}
	return nil
}

// counters are the six sales columns shared by event_sales, event_hourly, event_daily and daily.
var counters = []string{"bookings", "cancellations", "seats_booked", "seats_cancelled", "gross", "refunds"}
