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
	before := testkit.RowPages(t, db, "outbox")
	if used := testkit.PagesUsed(before); used < 4 {
		t.Fatalf("%d rows on %d pages: the test needs rows spread over several pages", n, used)
	}

	startRelay(t, outbox.NewRelay(db, cfg, outbox.RelayOptions{BatchSize: 25}))
	testkit.Eventually(t, 10*time.Second, func() bool { return unsent(t, db) == 0 }, "all rows marked sent")

	if moved := testkit.RowsMoved(before, testkit.RowPages(t, db, "outbox")); moved > 0 {
		t.Errorf("%d of %d rows moved to another page when marked sent; want every update on the row's own page", moved, n)
	}
}
