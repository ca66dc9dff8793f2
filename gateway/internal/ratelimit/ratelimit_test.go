package ratelimit

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"evently.dev/libs/assertion"
	"evently.dev/libs/httpserver"
	"evently.dev/libs/testkit"
)

func TestPathRules(t *testing.T) {
	tests := []struct {
		method, path  string
		auth, booking bool
	}{
		{"POST", "/api/v1/auth/login", true, false},
		{"GET", "/api/v1/auth/me", true, false},
		{"GET", "/api/v1/authors", false, false},
		{"POST", "/api/v1/seats/hold", false, true},
		{"DELETE", "/api/v1/seats/hold/abc", false, true},
		{"GET", "/api/v1/seats/hold/abc/validate", false, false},
		{"POST", "/api/v1/bookings/confirm", false, true},
		{"POST", "/api/v1/bookings/abc/cancel", false, true},
		{"GET", "/api/v1/bookings/abc", false, false},
		{"POST", "/api/v1/waitlist", false, false},
	}
	for _, tc := range tests {
		if got := isAuthPath(tc.path); got != tc.auth {
			t.Errorf("isAuthPath(%s) = %v", tc.path, got)
		}
		if got := isBookingWrite(tc.method, tc.path); got != tc.booking {
			t.Errorf("isBookingWrite(%s %s) = %v", tc.method, tc.path, got)
		}
	}
}

func TestSeconds(t *testing.T) {
	for d, want := range map[time.Duration]int{0: 0, -1: 0, time.Millisecond: 1, time.Second: 1, 1500 * time.Millisecond: 2, time.Minute: 60} {
		if got := seconds(d); got != want {
			t.Errorf("seconds(%s) = %d, want %d", d, got, want)
		}
	}
}

func TestIntegrationLimiterSharesBudgetUnderPrefix(t *testing.T) {
	t.Parallel()
	rdb, prefix := testkit.Redis(t)
	ctx := context.Background()
	// Two limiters stand for two gateway replicas: they share one budget.
	a := New(rdb, prefix, time.Second, slog.Default())
	b := New(rdb, prefix, time.Second, slog.Default())
	p := PerMinute("auth", 3)
	for i := 0; i < 3; i++ {
		l := a
		if i%2 == 1 {
			l = b
		}
		d, ok := l.Allow(ctx, p, "10.0.0.1")
		if !ok || !d.Allowed || d.Remaining != 2-i {
			t.Fatalf("request %d: %+v ok=%v", i, d, ok)
		}
	}
	d, ok := b.Allow(ctx, p, "10.0.0.1")
	if !ok || d.Allowed || d.RetryAfter <= 0 || d.RetryAfter > 20*time.Second {
		t.Fatalf("4th request: %+v ok=%v", d, ok)
	}
	if d, _ := a.Allow(ctx, p, "10.0.0.2"); !d.Allowed {
		t.Fatal("another key shares the budget")
	}
	keys, err := rdb.Keys(ctx, prefix+"*").Result()
	if err != nil || len(keys) != 2 {
		t.Fatalf("keys under prefix: %v %v", keys, err)
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, prefix+"rate:auth:") {
			t.Errorf("key %q outside the prefix scheme", k)
		}
	}
}

func TestIntegrationLimiterFailsOpen(t *testing.T) {
	t.Parallel()
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 100 * time.Millisecond, MaxRetries: -1})
	defer dead.Close()
	asked := &countingHook{}
	dead.AddHook(asked)
	l := New(dead, "x:", 200*time.Millisecond, slog.Default())
	d, ok := l.Allow(context.Background(), PerMinute("global", 1), "ip")
	if ok || !d.Allowed {
		t.Fatalf("with redis down: %+v ok=%v, want allowed unchecked", d, ok)
	}
	if asked.n.Load() == 0 {
		t.Fatal("the first request did not try Redis")
	}
	// While marked down, Redis is not even asked: no command, no dial.
	asked.n.Store(0)
	if d, ok := l.Allow(context.Background(), PerMinute("global", 1), "ip"); ok || !d.Allowed {
		t.Fatal("second request not let through")
	}
	if n := asked.n.Load(); n != 0 {
		t.Fatalf("while marked down the limiter still asked Redis %d times", n)
	}
}

// countingHook counts what a client sends to (or dials) its server.
type countingHook struct{ n atomic.Int64 }

func (h *countingHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		h.n.Add(1)
		return next(ctx, network, addr)
	}
}

func (h *countingHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}

func (h *countingHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmds)
	}
}

func TestIntegrationMiddleware429(t *testing.T) {
	t.Parallel()
	rdb, prefix := testkit.Redis(t)
	l := New(rdb, prefix, time.Second, slog.Default())
	lim := Limits{Global: PerMinute("global", 100), Auth: PerMinute("auth", 2), Booking: PerMinute("booking", 1)}
	e := echo.New()
	e.HTTPErrorHandler = httpserver.ErrorHandler(slog.Default())
	ok := func(c echo.Context) error { return c.NoContent(http.StatusNoContent) }
	withUser := func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.SetRequest(c.Request().WithContext(assertion.WithIdentity(c.Request().Context(), assertion.Identity{UserID: "u1", Role: "USER"})))
			return next(c)
		}
	}
	e.Any("/*", ok, IPMiddleware(l, lim), withUser, UserMiddleware(l, lim))
	do := func(method, path string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, nil)
		req.RemoteAddr = "192.0.2.7:5555"
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		return rec
	}
	for i := 0; i < 2; i++ {
		if rec := do("POST", "/api/v1/auth/login"); rec.Code != 204 || rec.Header().Get("RateLimit-Limit") != "2" {
			t.Fatalf("auth %d: %d %v", i, rec.Code, rec.Header())
		}
	}
	rec := do("POST", "/api/v1/auth/login")
	if rec.Code != 429 || rec.Header().Get("Retry-After") == "" || rec.Header().Get("RateLimit-Remaining") != "0" ||
		rec.Header().Get("RateLimit-Reset") == "" || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/problem+json") {
		t.Fatalf("3rd auth: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	// One answer to "when may I try again": both headers name the same wait.
	if rec.Header().Get("Retry-After") != rec.Header().Get("RateLimit-Reset") {
		t.Fatalf("Retry-After %q but RateLimit-Reset %q", rec.Header().Get("Retry-After"), rec.Header().Get("RateLimit-Reset"))
	}
	// Other paths still pass for this IP; the per-user limit applies to booking writes.
	if rec := do("GET", "/api/v1/events"); rec.Code != 204 || rec.Header().Get("RateLimit-Limit") != "100" {
		t.Fatalf("events: %d %v", rec.Code, rec.Header())
	}
	if rec := do("POST", "/api/v1/bookings/confirm"); rec.Code != 204 {
		t.Fatalf("first booking: %d", rec.Code)
	}
	if rec := do("POST", "/api/v1/seats/hold"); rec.Code != 429 {
		t.Fatalf("second booking write: %d", rec.Code)
	}
	if rec := do("GET", "/api/v1/bookings/x"); rec.Code != 204 {
		t.Fatalf("booking read is limited: %d", rec.Code)
	}
}
