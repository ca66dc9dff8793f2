package pg_test

import (
	"context"
	"testing"

	"github.com/uptrace/bun"

	"evently.dev/libs/pg"
	"evently.dev/libs/testkit"
)

// sumQuery is a statement of constant text whose input is an array, like the sale's.
const sumQuery = `SELECT count(*), COALESCE(sum(x), 0) FROM unnest($1::integer[]) AS x`

func sum(t *testing.T, ctx context.Context, db bun.IDB, xs []int32) (n, total int) {
	t.Helper()
	rows, err := pg.QueryPrepared(ctx, db, sumQuery, xs)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	if !rows.Next() {
		t.Fatalf("no row: %v", rows.Err())
	}
	if err := rows.Scan(&n, &total); err != nil {
		t.Fatal(err)
	}
	return n, total
}

// TestIntegrationQueryPreparedPlansOnce runs one text many times on one connection with
// arrays of different lengths: the server keeps one prepared statement for it, every call
// after the first reuses its generic plan, and none is planned with its values. It works
// on the pool, a connection and a transaction alike.
func TestIntegrationQueryPreparedPlansOnce(t *testing.T) {
	db := testkit.DB(t, "pgprep")
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	for i := range 12 {
		xs := make([]int32, i+1)
		for j := range xs {
			xs[j] = int32(j + 1)
		}
		want := (i + 1) * (i + 2) / 2
		if n, total := sum(t, ctx, conn, xs); n != i+1 || total != want {
			t.Fatalf("call %d: count %d sum %d, want %d and %d", i, n, total, i+1, want)
		}
	}
	var statements, generic, custom int
	if err := conn.QueryRowContext(ctx, `SELECT count(*), COALESCE(sum(generic_plans), 0), COALESCE(sum(custom_plans), 0)
		FROM pg_prepared_statements WHERE statement = ?`, sumQuery).Scan(&statements, &generic, &custom); err != nil {
		t.Fatal(err)
	}
	if statements != 1 || generic != 12 || custom != 0 {
		t.Fatalf("%d prepared statements with %d generic and %d custom plans, want 1, 12, 0", statements, generic, custom)
	}

	if n, total := sum(t, ctx, db, []int32{4, 5}); n != 2 || total != 9 {
		t.Fatalf("on the pool: count %d sum %d", n, total)
	}
	err = db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if n, total := sum(t, ctx, tx, nil); n != 0 || total != 0 {
			t.Fatalf("in a transaction, no values: count %d sum %d", n, total)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestQueryPreparedRefusesOtherHandles checks that a handle that is not bun's pool,
// connection or transaction is an error, not a statement run somewhere unexpected.
func TestQueryPreparedRefusesOtherHandles(t *testing.T) {
	var db bun.IDB = otherIDB{}
	rows, err := pg.QueryPrepared(context.Background(), db, sumQuery, []int32{1})
	if err == nil {
		_ = rows.Close()
		t.Fatal("no error for an unknown handle")
	}
}

// otherIDB is a bun.IDB that is none of bun's own handles.
type otherIDB struct{ bun.IDB }
