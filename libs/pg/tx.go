package pg

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/uptrace/bun"
)

// InTx runs fn in one transaction with a repository built by wrap over that transaction.
// When db is already a transaction (a consumer's or an outer use case's), fn joins it
// instead of opening a savepoint, so a use case reads the same whether it starts the
// transaction or is called inside one. This is the one transaction shape every service's
// store uses.
func InTx[R any](ctx context.Context, db bun.IDB, wrap func(bun.IDB) R, fn func(ctx context.Context, r R) error) error {
	if tx, ok := db.(bun.Tx); ok {
		return fn(ctx, wrap(tx))
	}
	return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		return fn(ctx, wrap(tx))
	})
}

// ConstraintName returns the name of the unique constraint err violated ("unknown" when the
// server did not say), or "" when err is not a unique violation. Stores use it to map a
// violation to the domain error of that constraint.
func ConstraintName(err error) string {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23505" {
		return ""
	}
	if pgErr.ConstraintName == "" {
		return "unknown"
	}
	return pgErr.ConstraintName
}
