package delivery_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"evently.dev/libs/testkit"

	"evently.dev/services/waitlist/internal/delivery"
	"evently.dev/services/waitlist/internal/domain"
	"evently.dev/services/waitlist/internal/store"
	"evently.dev/services/waitlist/internal/waitlisttest"
)

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
	before := testkit.RowPages(t, db, "notifications")
	if used := testkit.PagesUsed(before); used < 4 {
		t.Fatalf("%d e-mails on %d pages: the test needs them spread over several pages", n, used)
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

	if moved := testkit.RowsMoved(before, testkit.RowPages(t, db, "notifications")); moved > 0 {
		t.Errorf("%d of %d e-mails moved to another page when leased and sent; want every update on the row's own page", moved, n)
	}
}
