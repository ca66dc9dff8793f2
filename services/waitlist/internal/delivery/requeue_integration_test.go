package delivery_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"

	"evently.dev/libs/assertion"
	"evently.dev/libs/httpserver"
	"evently.dev/libs/testkit"

	"evently.dev/services/waitlist/internal/app"
	"evently.dev/services/waitlist/internal/delivery"
	"evently.dev/services/waitlist/internal/domain"
	waitlisthttp "evently.dev/services/waitlist/internal/http"
	"evently.dev/services/waitlist/internal/mail"
	"evently.dev/services/waitlist/internal/store"
	"evently.dev/services/waitlist/internal/waitlisttest"
)

const secret = "requeue-test-secret"

// TestIntegrationFailedEmailsRequeuedByAdmin lets e-mails run out of attempts while the
// mail server is down (FAILED), then an admin re-queues them through the HTTP API — one
// event's first, then the rest — and the sender delivers each exactly once once the
// server is back. Only an ADMIN may do it, and a malformed event_id is a 400 problem.
func TestIntegrationFailedEmailsRequeuedByAdmin(t *testing.T) {
	ctx := context.Background()
	db := waitlisttest.DB(t)
	r := store.New(db)
	log := slog.New(slog.DiscardHandler)
	suffix := testkit.Name(t, "requeue")
	evA, evB := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	addr := suffix + "@example.test"
	if err := r.UpsertUser(ctx, domain.UserInfo{ID: "user-rq", Email: addr, FirstName: "R"}); err != nil {
		t.Fatal(err)
	}
	for i, ev := range []uuid.UUID{evA, evA, evB} {
		m, err := mail.Render(mail.KindJoined, mail.Data{EventName: "Requeue test", Quantity: 1, Position: i + 1})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.AddNotification(ctx, domain.Notification{DedupeKey: fmt.Sprintf("rq:%s:%d", suffix, i), UserID: "user-rq",
			EventID: &ev, Kind: mail.KindJoined, Subject: m.Subject, Text: m.Text, HTML: m.HTML}); err != nil {
			t.Fatal(err)
		}
	}
	// The mail server is down and one attempt is all an e-mail gets: every one FAILS.
	down := delivery.New(db, smtpTo(closedPort(t)), delivery.Options{Batch: 10, MaxAttempts: 1}, log)
	if _, err := down.SendOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if c := statusCounts(t, db); c["FAILED"] != 3 {
		t.Fatalf("after the outage: %v, want 3 FAILED", c)
	}

	svc := app.New(&store.Store{DB: db}, nil, app.Options{}, log)
	srv := httpserver.New(httpserver.Options{Service: "waitlist", Logger: log})
	srv.Echo.Use(assertion.Middleware(secret))
	(&waitlisthttp.Handler{App: svc}).Register(srv.Echo)
	call := func(role, query string) (int, map[string]any) {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/admin/waitlist/notifications/requeue"+query, nil)
		reqID := uuid.NewString()
		req.Header.Set(assertion.HeaderRequestID, reqID)
		assertion.Sign(req.Header, secret, assertion.Identity{UserID: uuid.NewString(), Role: role}, reqID, time.Now())
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		var body map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		return rec.Code, body
	}
	if code, _ := call("USER", ""); code != http.StatusForbidden {
		t.Fatalf("USER: %d, want 403", code)
	}
	if code, body := call("ADMIN", "?event_id=nope"); code != http.StatusBadRequest || body["code"] == nil {
		t.Fatalf("bad event_id: %d %v", code, body)
	}
	if code, body := call("ADMIN", "?event_id="+evA.String()); code != http.StatusOK || body["requeued"] != 2.0 {
		t.Fatalf("requeue event A: %d %v", code, body)
	}
	if c := statusCounts(t, db); c["PENDING"] != 2 || c["FAILED"] != 1 {
		t.Fatalf("after requeueing event A: %v", c)
	}
	if code, body := call("ADMIN", ""); code != http.StatusOK || body["requeued"] != 1.0 {
		t.Fatalf("requeue the rest: %d %v", code, body)
	}
	if code, body := call("ADMIN", ""); code != http.StatusOK || body["requeued"] != 0.0 {
		t.Fatalf("nothing left to requeue: %d %v", code, body)
	}

	port := 1025
	if p := os.Getenv("SMTP_PORT"); p != "" {
		_, _ = fmt.Sscan(p, &port)
	}
	up := delivery.New(db, smtpTo(port), delivery.Options{Batch: 10, MaxAttempts: 1}, log)
	if _, err := up.SendOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if c := statusCounts(t, db); c["SENT"] != 3 {
		t.Fatalf("after the server came back: %v, want 3 SENT", c)
	}
	testkit.Eventually(t, 10*time.Second, func() bool { return mailpitCount(t, addr) >= 3 }, "3 emails for %s", addr)
	if n := mailpitCount(t, addr); n != 3 {
		t.Fatalf("%s received %d emails, want exactly 3", addr, n)
	}
}
