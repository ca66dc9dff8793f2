package ratelimit

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"evently.dev/libs/httpserver"
)

// TestStreamCaps checks that open availability streams are capped per client (429 with
// Retry-After) and in total (503), that other paths are not counted, and that a closed
// stream frees its slot.
func TestStreamCaps(t *testing.T) {
	s := NewStreams(2, 3)
	release := make(chan struct{})
	e := echo.New()
	e.HTTPErrorHandler = httpserver.ErrorHandler(slog.Default())
	e.GET("/*", func(c echo.Context) error {
		if IsStream(c.Request().Method, c.Request().URL.Path) {
			<-release
		}
		return c.NoContent(http.StatusNoContent)
	}, s.Middleware)
	do := func(ip, path string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.RemoteAddr = ip + ":1234"
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		return rec
	}
	const stream = "/api/v1/events/0192a5d2-0000-7000-8000-000000000001/availability/stream"
	var wg sync.WaitGroup
	open := func(ip string) {
		wg.Add(1)
		go func() { defer wg.Done(); do(ip, stream) }()
	}
	open("192.0.2.1")
	open("192.0.2.1")
	waitOpen(t, s, 2)
	if rec := do("192.0.2.1", stream); rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("third stream of one client: %d %v", rec.Code, rec.Header())
	}
	if rec := do("192.0.2.1", "/api/v1/events"); rec.Code != http.StatusNoContent {
		t.Fatalf("ordinary request refused: %d", rec.Code)
	}
	open("192.0.2.2")
	waitOpen(t, s, 3)
	if rec := do("192.0.2.3", stream); rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("stream past the total: %d", rec.Code)
	}
	close(release)
	wg.Wait()
	if s.Open() != 0 {
		t.Fatalf("%d streams still counted after they ended", s.Open())
	}
	if rec := do("192.0.2.1", "/api/v1/events/x/availability/stream"); rec.Code != http.StatusNoContent {
		t.Fatalf("after the others closed: %d", rec.Code)
	}
}

func waitOpen(t *testing.T, s *Streams, n int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for s.Open() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d streams open, want %d", s.Open(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
