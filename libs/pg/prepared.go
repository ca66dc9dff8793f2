package pg

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"
)

// QueryPrepared runs query, written with $1, $2… placeholders, as a server-side prepared
// statement on db (the pool, a connection or a transaction), with args sent as parameters
// rather than written into the text as bun does. pgx prepares each text once per
// connection and keeps it, and Open sets plan_cache_mode so that PostgreSQL plans it once
// as well: for a hot statement of constant text that saves the planning of every call.
//
// It is meant for the few statements run on every sale; the rest go through bun. Such a
// statement bypasses bun's query hooks, so it is missing from the per-query telemetry.
func QueryPrepared(ctx context.Context, db bun.IDB, query string, args ...any) (*sql.Rows, error) {
	all := make([]any, 0, len(args)+1)
	all = append(all, pgx.QueryExecModeCacheStatement)
	all = append(all, args...)
	switch d := db.(type) {
	case bun.Tx:
		return d.Tx.QueryContext(ctx, query, all...)
	case *bun.DB:
		return d.DB.QueryContext(ctx, query, all...)
	case bun.Conn:
		return d.Conn.QueryContext(ctx, query, all...)
	}
	return nil, fmt.Errorf("prepared statement on %T: not a bun pool, connection or transaction", db)
}
