package microcache

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"evently.dev/libs/assertion"
)

type upstream struct {
	calls  atomic.Int32
	status int
	body   string
	delay  time.Duration
}

func (u *upstream) handler(c echo.Context) error {
	u.calls.Add(1)
	time.Sleep(u.delay)
	return c.String(u.status, u.body+c.Request().URL.Path)
}

func setup(u *upstream, now *time.Time) (*echo.Echo, *Cache) {
	mc := New(Options{Rules: []Rule{{Pattern: regexp.MustCompile(`^/api/v1/events/[^/]+$`), TTL: time.Second}}})
	mc.now = func() time.Time { return *now }
	e := echo.New()
	e.GET("/*", u.handler, mc.Middleware())
	e.POST("/*", u.handler, mc.Middleware())
	return e, mc
}

func get(e *echo.Echo, path string, h map[string]string, role string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for k, v := range h {
		req.Header.Set(k, v)
	}
	if role != "" {
		req = req.WithContext(assertion.WithIdentity(context.Background(), assertion.Identity{UserID: "u", Role: role}))
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

func TestKeepsAnswersForTheirTTL(t *testing.T) {
	now := time.Unix(1_000, 0)
	u := &upstream{status: 200, body: "event "}
	e, _ := setup(u, &now)
	first := get(e, "/api/v1/events/a", nil, "USER")
	second := get(e, "/api/v1/events/a", nil, "USER")
	if u.calls.Load() != 1 || first.Body.String() != second.Body.String() || second.Header().Get("X-Cache") != "HIT" {
		t.Fatalf("calls=%d, second answer %q (%s)", u.calls.Load(), second.Body.String(), second.Header().Get("X-Cache"))
	}
	if got := get(e, "/api/v1/events/a", map[string]string{"If-None-Match": second.Header().Get("ETag")}, "USER"); got.Code != 304 || got.Body.Len() != 0 {
		t.Fatalf("revalidation: %d %q", got.Code, got.Body.String())
	}
	// Another role, another encoding, another path or an uncached path go upstream.
	get(e, "/api/v1/events/a", nil, "ADMIN")
	get(e, "/api/v1/events/a", map[string]string{"Accept-Encoding": "gzip"}, "USER")
	get(e, "/api/v1/events/b", nil, "USER")
	get(e, "/api/v1/events/a/sections", nil, "USER")
	get(e, "/api/v1/events/a/sections", nil, "USER")
	if n := u.calls.Load(); n != 6 {
		t.Fatalf("upstream calls = %d, want 6", n)
	}
	if get(e, "/api/v1/events/a", map[string]string{"Cache-Control": "no-cache"}, "USER"); u.calls.Load() != 7 {
		t.Fatal("Cache-Control: no-cache was answered from the cache")
	}
	now = now.Add(1500 * time.Millisecond)
	if get(e, "/api/v1/events/a", nil, "USER"); u.calls.Load() != 8 {
		t.Fatal("an expired answer was served")
	}
}

func TestKeepsOnlySuccessfulGets(t *testing.T) {
	now := time.Unix(1_000, 0)
	u := &upstream{status: 404, body: "missing "}
	e, _ := setup(u, &now)
	get(e, "/api/v1/events/x", nil, "")
	get(e, "/api/v1/events/x", nil, "")
	if u.calls.Load() != 2 {
		t.Fatalf("a 404 was kept: %d calls", u.calls.Load())
	}
	u.status = 200
	req := httptest.NewRequest(http.MethodPost, "/api/v1/events/x", nil)
	for range 2 {
		e.ServeHTTP(httptest.NewRecorder(), req)
	}
	if u.calls.Load() != 4 {
		t.Fatalf("a POST was answered from the cache: %d calls", u.calls.Load())
	}
}

func TestConcurrentMissesMakeOneCall(t *testing.T) {
	now := time.Unix(1_000, 0)
	u := &upstream{status: 200, body: "event ", delay: 50 * time.Millisecond}
	e, _ := setup(u, &now)
	var wg sync.WaitGroup
	bodies := make([]string, 20)
	for i := range bodies {
		wg.Go(func() { bodies[i] = get(e, "/api/v1/events/hot", nil, "").Body.String() })
	}
	wg.Wait()
	if n := u.calls.Load(); n != 1 {
		t.Fatalf("%d upstream calls for one hot key, want 1", n)
	}
	for _, b := range bodies {
		if b != "event /api/v1/events/hot" {
			t.Fatalf("waiter got %q", b)
		}
	}
}

// The bodies kept are bounded in bytes as well as in entries: the answer that would pass
// the budget starts the cache over, and an entry refreshed in place is counted once.
func TestBoundsTheBytesKept(t *testing.T) {
	now := time.Unix(1_000, 0)
	u := &upstream{status: 200, body: "0123456789"} // 10 bytes + the path
	mc := New(Options{Rules: []Rule{{Pattern: regexp.MustCompile(`^/e/.$`), TTL: time.Second}}, MaxBytes: 40})
	mc.now = func() time.Time { return now }
	e := echo.New()
	e.GET("/*", u.handler, mc.Middleware())
	get(e, "/e/a", nil, "USER") // 14 bytes
	get(e, "/e/b", nil, "USER") // 28
	now = now.Add(2 * time.Second)
	get(e, "/e/a", nil, "USER") // refreshed in place: still 28
	if len(mc.entries) != 2 || mc.bytes != 28 {
		t.Fatalf("%d entries, %d bytes; want 2, 28", len(mc.entries), mc.bytes)
	}
	get(e, "/e/c", nil, "USER") // 42 > 40: starts over with c alone
	if len(mc.entries) != 1 || mc.bytes != 14 {
		t.Fatalf("%d entries, %d bytes after the budget; want 1, 14", len(mc.entries), mc.bytes)
	}
	if got := get(e, "/e/c", nil, "USER"); got.Header().Get("X-Cache") != "HIT" {
		t.Fatal("the answer that started the cache over was not kept")
	}
}
