package delivery_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"evently.dev/libs/testkit"

	"evently.dev/services/waitlist/internal/delivery"
	"evently.dev/services/waitlist/internal/domain"
	"evently.dev/services/waitlist/internal/mail"
	"evently.dev/services/waitlist/internal/store"
	"evently.dev/services/waitlist/internal/waitlisttest"
)

// gateMailer stands in for a slow mail server: SendAll reports that it started and waits
// for release; it counts what it was given per address.
type gateMailer struct {
	started chan struct{}
	release chan struct{}
	mu      sync.Mutex
	got     map[string]int
}

func newGateMailer() *gateMailer {
	return &gateMailer{started: make(chan struct{}, 16), release: make(chan struct{}), got: map[string]int{}}
}

func (m *gateMailer) SendAll(_ context.Context, envs []mail.Envelope) []error {
	m.started <- struct{}{}
	<-m.release
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range envs {
		m.got[e.To]++
	}
	return make([]error, len(envs))
}

func (m *gateMailer) count(to string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.got[to]
}

// openTransactions counts the database's sessions inside a transaction, other than the
// asking one.
func openTransactions(t *testing.T, db *bun.DB) int {
	t.Helper()
	var n int
	if err := db.NewRaw(`SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL`).Scan(context.Background(), &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestIntegrationSenderLeasesInsteadOfHoldingATransaction: while a sender waits on a slow
// mail server, no transaction of it is open and its notifications are not row-locked,
// yet a second sender does not take them (the lease); every e-mail goes out once. A
// sender that dies after its claim leaves the lease to run out, and the e-mails are then
// mailed by another sender.
func TestIntegrationSenderLeasesInsteadOfHoldingATransaction(t *testing.T) {
	ctx := context.Background()
	db := waitlisttest.DB(t)
	addr := testkit.Name(t, "lease") + "@example.test"
	if err := store.New(db).UpsertUser(ctx, domain.UserInfo{ID: "user-lease", Email: addr, FirstName: "L"}); err != nil {
		t.Fatal(err)
	}
	queue(t, db, "user-lease", 3)
	log := slog.New(slog.DiscardHandler)
	opts := delivery.Options{Batch: 10, MaxAttempts: 5, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, Lease: time.Minute}

	slow := newGateMailer()
	done := make(chan error, 1)
	go func() {
		n, err := delivery.New(db, slow, opts, log).SendOnce(ctx)
		if err == nil && n != 3 {
			t.Errorf("the first sender claimed %d, want 3", n)
		}
		done <- err
	}()
	<-slow.started

	if n := openTransactions(t, db); n != 0 {
		t.Fatalf("%d transactions open while the sender waits on the mail server", n)
	}
	err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.ExecContext(ctx, `SELECT id FROM notifications FOR UPDATE NOWAIT`)
		return err
	})
	if err != nil {
		t.Fatalf("the notifications being mailed are row-locked: %v", err)
	}
	other := newGateMailer()
	close(other.release)
	if n, err := delivery.New(db, other, opts, log).SendOnce(ctx); err != nil || n != 0 {
		t.Fatalf("a second sender claimed %d (err %v) of the leased notifications, want 0", n, err)
	}

	close(slow.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if c := statusCounts(t, db); c["SENT"] != 3 || slow.count(addr) != 3 || other.count(addr) != 0 {
		t.Fatalf("statuses %v, mailed %d + %d, want 3 SENT mailed once each", c, slow.count(addr), other.count(addr))
	}

	// A sender claims and dies before mailing: nobody else takes its e-mails until the lease
	// runs out, then they go out once.
	addr2 := testkit.Name(t, "lease2") + "@example.test"
	if err := store.New(db).UpsertUser(ctx, domain.UserInfo{ID: "user-lease-2", Email: addr2, FirstName: "M"}); err != nil {
		t.Fatal(err)
	}
	queue(t, db, "user-lease-2", 2)
	const lease = 300 * time.Millisecond
	if got, err := store.ClaimNotifications(ctx, db, 10, lease); err != nil || len(got) != 2 {
		t.Fatalf("the dying sender claimed %d (err %v), want 2", len(got), err)
	}
	next := newGateMailer()
	close(next.release)
	survivor := delivery.New(db, next, opts, log)
	if n, err := survivor.SendOnce(ctx); err != nil || n != 0 {
		t.Fatalf("claimed %d (err %v) while the dead sender's lease stood, want 0", n, err)
	}
	testkit.Eventually(t, 10*time.Second, func() bool {
		_, _ = survivor.SendOnce(ctx)
		return statusCounts(t, db)["SENT"] == 5
	}, "the dead sender's e-mails sent after its lease")
	if n := next.count(addr2); n != 2 {
		t.Fatalf("%s was mailed %d times, want 2", addr2, n)
	}
}
