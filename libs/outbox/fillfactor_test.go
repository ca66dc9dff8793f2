package outbox_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"evently.dev/libs/outbox"
	"evently.dev/libs/testkit"
)

// pages returns the heap page of every outbox row, by id.
func pages(t *testing.T, db *bun.DB) map[string]int64 {
	t.Helper()
	var rows []struct {
		ID   string `bun:"id"`
		Page int64  `bun:"page"`
	}
	if err := db.NewRaw(`SELECT id::text AS id, (ctid::text::point)[0]::bigint AS page FROM outbox`).
		Scan(context.Background(), &rows); err != nil {
		t.Fatalf("read row pages: %v", err)
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.ID] = r.Page
	}
	return out
}

// Marking a row sent must rewrite it on its own page: there PostgreSQL's WAL record carries
// only the changed tail of the row, elsewhere it carries the whole row, payload included,
// a second time. Rows the size of a seats.sold event fill several pages here, so on full
// pages most of them would move.
func TestIntegrationMarkingSentKeepsRowsOnTheirPage(t *testing.T) {
	db, cfg := setup(t)
	ctx := context.Background()
	payload := map[string]string{"filler": strings.Repeat("x", 900)}
	const n = 120
	err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		for range n {
			if _, err := outbox.AddJSON(ctx, tx, topic, "show-1", "evently.test.happened.v1", "/test", payload); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("write: %v", err)
	}
	before := pages(t, db)
	distinct := map[int64]bool{}
	for _, p := range before {
		distinct[p] = true
	}
	if len(distinct) < 4 {
		t.Fatalf("%d rows on %d pages: the test needs rows spread over several pages", n, len(distinct))
	}

	startRelay(t, outbox.NewRelay(db, cfg, outbox.RelayOptions{BatchSize: 25}))
	testkit.Eventually(t, 10*time.Second, func() bool { return unsent(t, db) == 0 }, "all rows marked sent")

	moved := 0
	for id, p := range pages(t, db) {
		if before[id] != p {
			moved++
		}
	}
	if moved > 0 {
		t.Errorf("%d of %d rows moved to another page when marked sent; want every update on the row's own page", moved, n)
	}
}
