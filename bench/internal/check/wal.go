package check

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// WALPosition is the server's current write-ahead log position, to measure how much WAL a
// sale wrote (the copy is the only writer while it runs, so the difference is the sale's,
// its consumers' and its relays').
func WALPosition(ctx context.Context, databaseURL string) (string, error) {
	db, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return "", err
	}
	defer db.Close(ctx)
	var lsn string
	err = db.QueryRow(ctx, `SELECT pg_current_wal_lsn()::text`).Scan(&lsn)
	return lsn, err
}

// WALSince is the number of WAL bytes written since the position from.
func WALSince(ctx context.Context, databaseURL, from string) (int64, error) {
	db, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return 0, err
	}
	defer db.Close(ctx)
	var n int64
	err = db.QueryRow(ctx, `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::bigint`, from).Scan(&n)
	return n, err
}
