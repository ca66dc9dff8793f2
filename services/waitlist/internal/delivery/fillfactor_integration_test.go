package delivery_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"evently.dev/libs/testkit"

	"evently.dev/services/waitlist/internal/delivery"
	"evently.dev/services/waitlist/internal/domain"
	"evently.dev/services/waitlist/internal/store"
	"evently.dev/services/waitlist/internal/waitlisttest"
)

// notificationPages returns the heap page of every notification, by id.
func notificationPages(t *testing.T, db *bun.DB) map[string]int64 {
	t.Helper()
	var rows []struct {
		ID   string `bun:"id"`
		Page int64  `bun:"page"`
	}
	if err := db.NewRaw(`SELECT id::text AS id, (ctid::text::point)[0]::bigint AS page FROM notifications`).
		Scan(context.Background(), &rows); err != nil {
		t.Fatalf("read row pages: %v", err)
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.ID] = r.Page
	}
	return out
}

// TestIntegrationSendingKeepsEmailsOnTheirPage: the lease and the outcome rewrite an
// e-mail's row on its own page, where PostgreSQL's WAL record carries only the changed
// tail of the row; on another page it would carry the subject and both bodies again, twice
// per e-mail.
func TestIntegrationSendingKeepsEmailsOnTheirPage(t *testing.T) {
	ctx := context.Background()
	db := waitlisttest.DB(t)
	addr := testkit.Name(t, "pages") + "@example.test"
	if err := store.New(db).UpsertUser(ctx, domain.UserInfo{ID: "user-pages", Email: addr, FirstName: "P"}); err != nil {
		t.Fatal(err)
	}
	const n = 60
	queue(t, db, "user-pages", n)
	before := notificationPages(t, db)
	distinct := map[int64]bool{}
	for _, p := range before {
		distinct[p] = true
	}
	if len(distinct) < 4 {
		t.Fatalf("%d e-mails on %d pages: the test needs them spread over several pages", n, len(distinct))
	}

	m := newGateMailer()
	close(m.release)
	opts := delivery.Options{Batch: 20, MaxAttempts: 5, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, Lease: time.Minute}
	sender := delivery.New(db, m, opts, slog.New(slog.DiscardHandler))
	testkit.Eventually(t, 10*time.Second, func() bool {
		if _, err := sender.SendOnce(ctx); err != nil {
			t.Fatal(err)
		}
		return statusCounts(t, db)["SENT"] == n
	}, "every e-mail sent")

	moved := 0
	for id, p := range notificationPages(t, db) {
		if before[id] != p {
			moved++
		}
	}
	if moved > 0 {
		t.Errorf("%d of %d e-mails moved to another page when leased and sent; want every update on the row's own page", moved, n)
	}
}
