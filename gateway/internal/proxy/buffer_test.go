package proxy

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"evently.dev/libs/httpserver"
)

// TestPooledBuffersKeepBodiesApart sends many concurrent requests whose answers are several
// copy buffers long and differ per request: a buffer handed back while still in use, or
// shared by two copies, would mix one answer's bytes into another's.
func TestPooledBuffersKeepBodiesApart(t *testing.T) {
	body := func(n int) []byte {
		return bytes.Repeat([]byte(fmt.Sprintf("%07d|", n)), 3*copyBufferSize/8+n)
	}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n int
		if _, err := fmt.Sscanf(r.URL.Query().Get("n"), "%d", &n); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		_, _ = w.Write(body(n))
	}))
	defer up.Close()

	ups := map[string]string{}
	for _, n := range []string{"identity", "catalog", "inventory", "booking", "waitlist", "analytics"} {
		ups[n] = up.URL
	}
	log := slog.New(slog.DiscardHandler)
	p, err := New(Options{Upstreams: ups, Secret: "s", Timeout: 5 * time.Second, MaxIdlePerHost: 8, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	s := httpserver.New(httpserver.Options{Service: "gateway", Logger: log})
	s.Echo.Any("/api/*", p.Handler)
	gw := httptest.NewServer(s.Handler())
	defer gw.Close()

	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for n := range 64 {
		wg.Go(func() {
			resp, err := http.Get(fmt.Sprintf("%s/api/v1/events?n=%d", gw.URL, n))
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			got, err := io.ReadAll(resp.Body)
			if err != nil {
				errs <- err
				return
			}
			if resp.StatusCode != http.StatusOK || !bytes.Equal(got, body(n)) {
				errs <- fmt.Errorf("request %d: status %d, %d bytes, want %d bytes of its own answer", n, resp.StatusCode, len(got), len(body(n)))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestBufferPoolLendsFullBuffers checks that a returned buffer comes back at full length
// and that buffers of another size are not kept.
func TestBufferPoolLendsFullBuffers(t *testing.T) {
	var bp bufferPool
	b := bp.Get()
	if len(b) != copyBufferSize {
		t.Fatalf("len %d, want %d", len(b), copyBufferSize)
	}
	bp.Put(b[:10])
	if got := bp.Get(); len(got) != copyBufferSize {
		t.Fatalf("after Put of a shortened buffer: len %d, want %d", len(got), copyBufferSize)
	}
	bp.Put(make([]byte, 100))
	if got := bp.Get(); len(got) != copyBufferSize {
		t.Fatalf("a foreign buffer was lent: len %d", len(got))
	}
}
