package delivery_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
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

func env(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// mailpitAPI is the local SMTP catcher's HTTP API (scripts/infra.sh starts it).
var mailpitAPI = env("MAILPIT_API", "http://127.0.0.1:8025")

func smtpTo(port int) *mail.SMTP {
	return mail.NewSMTP(mail.SMTPConfig{Host: "127.0.0.1", Port: port, TLS: "none", From: "Evently <no-reply@evently.local>", Timeout: 5 * time.Second})
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	return port
}

func mailpitCount(t *testing.T, to string) int {
	t.Helper()
	res, err := http.Get(mailpitAPI + "/api/v1/search?query=" + url.QueryEscape("to:"+to))
	if err != nil {
		t.Fatalf("mailpit (run scripts/infra.sh up): %v", err)
	}
	defer res.Body.Close()
	var body struct {
		MessagesCount int `json:"messages_count"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return body.MessagesCount
}

func queue(t *testing.T, db *bun.DB, userID string, n int) {
	t.Helper()
	r := store.New(db)
	for i := range n {
		m, err := mail.Render(mail.KindJoined, mail.Data{EventName: "Outage test", Quantity: 1, Position: i + 1})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.AddNotification(context.Background(), domain.Notification{DedupeKey: fmt.Sprintf("t:%s:%d", userID, i),
			UserID: userID, Kind: mail.KindJoined, Subject: m.Subject, Text: m.Text, HTML: m.HTML}); err != nil {
			t.Fatal(err)
		}
	}
}

func statusCounts(t *testing.T, db *bun.DB) map[string]int {
	t.Helper()
	var rows []struct {
		Status string
		N      int
	}
	if err := db.NewRaw("SELECT status, count(*) AS n FROM notifications GROUP BY status").Scan(context.Background(), &rows); err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, r := range rows {
		out[r.Status] = r.N
	}
	return out
}

// The mail server is down: every email stays PENDING with its error and a later attempt
// time. It comes back: two senders (two replicas) drain the table together, and every
// email reaches the inbox exactly once. An email for a user identity has not announced
// yet waits until the address is known.
func TestIntegrationMailOutageDeliversEveryEmailExactlyOnce(t *testing.T) {
	ctx := context.Background()
	db := waitlisttest.DB(t)
	r := store.New(db)
	suffix := testkit.Name(t, "outage")
	const users, perUser = 4, 3
	var addrs []string
	for i := range users {
		id := fmt.Sprintf("user-%d", i)
		addr := fmt.Sprintf("%s-%d@example.test", suffix, i)
		addrs = append(addrs, addr)
		if i < users-1 { // the last user's user.registered has not arrived yet
			if err := r.UpsertUser(ctx, domain.UserInfo{ID: id, Email: addr, FirstName: "U"}); err != nil {
				t.Fatal(err)
			}
		}
		queue(t, db, id, perUser)
	}
	total := users * perUser
	opts := delivery.Options{Batch: 5, MaxAttempts: 50, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}
	log := slog.New(slog.DiscardHandler)

	down := delivery.New(db, smtpTo(closedPort(t)), opts, log)
	for {
		n, err := down.SendOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	if c := statusCounts(t, db); c["PENDING"] != total || c["SENT"] != 0 {
		t.Fatalf("during the outage: %v, want all %d pending", c, total)
	}
	var withError int
	if err := db.NewRaw("SELECT count(*) FROM notifications WHERE attempts >= 1 AND last_error <> '' AND next_attempt_at > created_at").Scan(ctx, &withError); err != nil {
		t.Fatal(err)
	}
	if withError != total {
		t.Fatalf("%d of %d notifications record the failed attempt", withError, total)
	}

	// The mail server is back; two senders share the work.
	port := 1025
	if p := os.Getenv("SMTP_PORT"); p != "" {
		_, _ = fmt.Sscan(p, &port)
	}
	ctx2, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for range 2 {
		s := delivery.New(db, smtpTo(port), delivery.Options{PollInterval: 20 * time.Millisecond, Batch: 2, MaxAttempts: 50,
			MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}, log)
		wg.Add(1)
		go func() { defer wg.Done(); _ = s.Run(ctx2) }()
	}
	want := perUser * (users - 1)
	testkit.Eventually(t, 30*time.Second, func() bool { return statusCounts(t, db)["SENT"] == want },
		"%d emails of known users sent", want)
	// identity's user.registered arrives for the last user: their emails go out too.
	if err := r.UpsertUser(ctx, domain.UserInfo{ID: fmt.Sprintf("user-%d", users-1), Email: addrs[users-1]}); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 30*time.Second, func() bool { return statusCounts(t, db)["SENT"] == total }, "all %d sent", total)
	cancel()
	wg.Wait()

	for _, a := range addrs {
		testkit.Eventually(t, 10*time.Second, func() bool { return mailpitCount(t, a) >= perUser }, "%d emails for %s in mailpit", perUser, a)
		if n := mailpitCount(t, a); n != perUser {
			t.Fatalf("%s received %d emails, want exactly %d", a, n, perUser)
		}
	}
}
