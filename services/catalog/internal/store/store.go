// Package store keeps the catalog in PostgreSQL through bun: row structs, queries, and
// transactions that carry outbox writes.
package store

import (
	"context"

	"github.com/uptrace/bun"

	"evently.dev/libs/contracts"
	"evently.dev/libs/outbox"
	"evently.dev/libs/pg"

	"evently.dev/services/catalog/internal/domain"
)

// Source is the CloudEvents source of everything the catalog publishes.
const Source = "/services/catalog"

// Store is the PostgreSQL implementation of domain.Store.
type Store struct {
	queries
	db bun.IDB
}

// New wraps db, whose search_path selects the catalog schema: the pool, or a transaction
// someone else opened, which InTx then joins.
func New(db bun.IDB) *Store { return &Store{queries: queries{db: db}, db: db} }

// InTx runs fn in one transaction; fn's error rolls everything back, outbox rows included.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context, tx domain.Tx) error) error {
	return pg.InTx(ctx, s.db, wrapTx, fn)
}

// WrapTx gives domain access to a transaction someone else opened (a consumer's inbox tx).
func WrapTx(tx bun.Tx) domain.Tx { return wrapTx(tx) }

// wrapTx binds the writes to tx, which pg.InTx guarantees is a transaction.
func wrapTx(tx bun.IDB) domain.Tx { return &txStore{queries: queries{db: tx}, tx: tx} }

// queries holds the reads, shared by the pool and transactions.
type queries struct{ db bun.IDB }

// txStore adds the writes, which only run inside a transaction.
type txStore struct {
	queries
	tx bun.IDB
}

// Publish records the event in the outbox of this transaction.
func (t *txStore) Publish(ctx context.Context, ceType, key string, payload any) error {
	_, err := outbox.AddJSON(ctx, t.tx, contracts.TopicCatalogEvents, key, ceType, Source, payload)
	return err
}

// notFound turns "no rows" into the domain's sentinel for the missing thing.
func notFound(err error, sentinel error) error {
	if pg.IsNoRows(err) {
		return sentinel
	}
	return err
}
