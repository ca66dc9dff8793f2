package proxy

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"evently.dev/libs/httpserver"
)

// restartingUpstream reserves an address with nothing listening on it and starts a real
// server there after delay, as a restarting service would come back; it counts requests.
func restartingUpstream(t *testing.T, delay time.Duration) (addr string, hits *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = ln.Addr().String()
	_ = ln.Close()
	hits = &atomic.Int64{}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte(r.Method + " " + string(body)))
	})}
	go func() {
		time.Sleep(delay)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("relisten: %v", err)
			return
		}
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() { _ = srv.Close() })
	return addr, hits
}

func gatewayTo(t *testing.T, addr string, retries int) http.Handler {
	t.Helper()
	ups := map[string]string{}
	for _, n := range []string{"identity", "catalog", "inventory", "booking", "waitlist", "analytics"} {
		ups[n] = "http://" + addr
	}
	log := slog.New(slog.DiscardHandler)
	p, err := New(Options{Upstreams: ups, Secret: "s", Timeout: 2 * time.Second, MaxIdlePerHost: 1, Logger: log,
		Retries: retries, RetryBackoff: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s := httpserver.New(httpserver.Options{Service: "gateway", Logger: log})
	s.Echo.Any("/api/*", p.Handler)
	return s.Handler()
}

// TestIdempotentRequestsSurviveUpstreamRestart sends requests while the upstream is down
// (connections refused) and comes back 300 ms later: nothing reached it, so GETs and
// writes, with or without an Idempotency-Key, are resent (body intact) and answered 200.
func TestIdempotentRequestsSurviveUpstreamRestart(t *testing.T) {
	cases := []struct {
		name, method, key, body string
		want                    int
	}{
		{"get", http.MethodGet, "", "", http.StatusOK},
		{"post with idempotency key", http.MethodPost, "k-1", `{"hold_id":"h"}`, http.StatusOK},
		{"post without key", http.MethodPost, "", `{"hold_id":"h"}`, http.StatusOK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr, hits := restartingUpstream(t, 300*time.Millisecond)
			h := gatewayTo(t, addr, 4)
			req := httptest.NewRequest(tc.method, "/api/v1/bookings", strings.NewReader(tc.body))
			if tc.body == "" {
				req = httptest.NewRequest(tc.method, "/api/v1/events", nil)
			}
			if tc.key != "" {
				req.Header.Set("Idempotency-Key", tc.key)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.want, rec.Body)
			}
			if tc.want == http.StatusOK {
				if got := rec.Body.String(); got != tc.method+" "+tc.body {
					t.Fatalf("upstream saw %q, want %q", got, tc.method+" "+tc.body)
				}
				if hits.Load() != 1 {
					t.Fatalf("upstream answered %d times, want 1", hits.Load())
				}
			}
		})
	}
}

// TestRetriesAreBounded checks that an upstream that stays down still yields 503 after the
// configured attempts, within their backoff, not an endless wait.
func TestRetriesAreBounded(t *testing.T) {
	addr, _ := restartingUpstream(t, time.Hour)
	h := gatewayTo(t, addr, 2)
	start := time.Now()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/events", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", rec.Code)
	}
	if d := time.Since(start); d < 300*time.Millisecond || d > 3*time.Second {
		t.Fatalf("gave up after %v, want about 300ms (100+200)", d)
	}
}

// resettingUpstream accepts connections, reads the request and closes without an answer:
// the upstream died after it got the request. It counts the requests it saw.
func resettingUpstream(t *testing.T) (string, *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	seen := &atomic.Int32{}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 4096)
			if n, _ := c.Read(buf); n > 0 {
				seen.Add(1)
			}
			_ = c.Close()
		}
	}()
	return ln.Addr().String(), seen
}

// TestResetIsRetriedOnlyWhenIdempotent: an upstream that took the request and dropped the
// connection may have acted on it, so a POST without a key is not sent again (503), while
// a DELETE (idempotent) is.
func TestResetIsRetriedOnlyWhenIdempotent(t *testing.T) {
	for _, tc := range []struct {
		method string
		tries  int32
	}{{http.MethodPost, 1}, {http.MethodDelete, 3}} {
		t.Run(tc.method, func(t *testing.T) {
			addr, seen := resettingUpstream(t)
			h := gatewayTo(t, addr, 2)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, "/api/v1/bookings", strings.NewReader(`{"hold_id":"h"}`)))
			if rec.Code != http.StatusServiceUnavailable {
				t.Fatalf("status %d, want 503: %s", rec.Code, rec.Body)
			}
			if got := seen.Load(); got != tc.tries {
				t.Fatalf("upstream saw the request %d times, want %d", got, tc.tries)
			}
		})
	}
}
