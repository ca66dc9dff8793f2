package pg_test

import (
	"context"
	"errors"
	"testing"

	"github.com/uptrace/bun"

	"evently.dev/libs/pg"
	"evently.dev/libs/testkit"
)

type repo struct{ db bun.IDB }

func wrap(db bun.IDB) repo { return repo{db: db} }

func (r repo) insert(ctx context.Context, id int) error {
	_, err := r.db.NewRaw("INSERT INTO t (id) VALUES (?)", id).Exec(ctx)
	return err
}

func count(t *testing.T, db *bun.DB) int {
	t.Helper()
	var n int
	if err := db.NewRaw("SELECT count(*) FROM t").Scan(context.Background(), &n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestIntegrationInTxCommitsRollsBackAndJoins(t *testing.T) {
	db := testkit.DB(t, "pgtx")
	ctx := context.Background()
	if _, err := db.NewRaw("CREATE TABLE t (id int PRIMARY KEY)").Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if err := pg.InTx(ctx, db, wrap, func(ctx context.Context, r repo) error { return r.insert(ctx, 1) }); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := pg.InTx(ctx, db, wrap, func(ctx context.Context, r repo) error {
		if err := r.insert(ctx, 2); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) || count(t, db) != 1 {
		t.Fatalf("rollback: err %v, rows %d (want boom, 1)", err, count(t, db))
	}
	// Inside an outer transaction the inner use case joins it: the outer rollback undoes both.
	_ = db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := pg.InTx(ctx, tx, wrap, func(ctx context.Context, r repo) error { return r.insert(ctx, 3) }); err != nil {
			t.Fatal(err)
		}
		return boom
	})
	if n := count(t, db); n != 1 {
		t.Fatalf("joined transaction left %d rows, want 1", n)
	}
	err = pg.InTx(ctx, db, wrap, func(ctx context.Context, r repo) error { return r.insert(ctx, 1) })
	if got := pg.ConstraintName(err); got != "t_pkey" {
		t.Fatalf("ConstraintName = %q, want t_pkey (err %v)", got, err)
	}
	if pg.ConstraintName(boom) != "" {
		t.Fatal("ConstraintName of a non-database error must be empty")
	}
}
