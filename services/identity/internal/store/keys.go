package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"evently.dev/libs/pg"

	"evently.dev/services/identity/internal/token"
)

// signingKeyLock is the advisory-lock id that serialises key generation across replicas.
const signingKeyLock = 0x1d_e7_17_01

type keyRow struct {
	bun.BaseModel `bun:"table:signing_keys"`

	Kid           string    `bun:"kid,pk"`
	Algorithm     string    `bun:"algorithm"`
	PrivateKeyPEM string    `bun:"private_key_pem"` // sealed with the KEK (token.KEK)
	CreatedAt     time.Time `bun:"created_at"`
}

// SigningKeys implements token.KeyStore: under an advisory lock, it creates the first key
// when there is none, so replicas starting together agree on one.
func (s *Store) SigningKeys(ctx context.Context, create func() (token.StoredKey, error)) ([]token.StoredKey, error) {
	var out []token.StoredKey
	// The advisory lock is transaction-scoped, so the whole read-or-create runs in one.
	err := pg.InTx(ctx, s.db, func(db bun.IDB) bun.IDB { return db }, func(ctx context.Context, tx bun.IDB) error {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(?)", signingKeyLock); err != nil {
			return fmt.Errorf("lock signing keys: %w", err)
		}
		var rows []keyRow
		if err := tx.NewSelect().Model(&rows).Order("created_at DESC", "kid").Scan(ctx); err != nil {
			return fmt.Errorf("select signing keys: %w", err)
		}
		if len(rows) == 0 {
			k, err := create()
			if err != nil {
				return err
			}
			row := keyRow{Kid: k.ID, Algorithm: k.Alg, PrivateKeyPEM: k.PEM, CreatedAt: time.Now().UTC()}
			if _, err := tx.NewInsert().Model(&row).Exec(ctx); err != nil {
				return fmt.Errorf("insert signing key: %w", err)
			}
			rows = append(rows, row)
		}
		for _, r := range rows {
			out = append(out, token.StoredKey{ID: r.Kid, Alg: r.Algorithm, PEM: r.PrivateKeyPEM})
		}
		return nil
	})
	return out, err
}

// AddSigningKey stores a new generated key; it becomes the signing key at the next start
// of each replica, while the JWKS keeps the previous one.
func (s *Store) AddSigningKey(ctx context.Context, k token.StoredKey) error {
	row := keyRow{Kid: k.ID, Algorithm: k.Alg, PrivateKeyPEM: k.PEM, CreatedAt: time.Now().UTC()}
	if _, err := s.db.NewInsert().Model(&row).Exec(ctx); err != nil {
		return fmt.Errorf("insert signing key: %w", err)
	}
	return nil
}

// ReplaceSigningKeyPEM implements token.KeyStore (sealing rows stored in clear).
func (s *Store) ReplaceSigningKeyPEM(ctx context.Context, kid, stored string) error {
	_, err := s.db.NewUpdate().Model((*keyRow)(nil)).Set("private_key_pem = ?", stored).Where("kid = ?", kid).Exec(ctx)
	if err != nil {
		return fmt.Errorf("update signing key %s: %w", kid, err)
	}
	return nil
}
