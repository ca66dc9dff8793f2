package platform

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"evently.dev/libs/httpserver"
)

// TestShutdownDrainsInFlightRequestsBeforeWorkers starts a real server with a slow
// route and a worker, cancels the run (what SIGTERM does) while a request is in
// flight, and checks the shutdown order: readiness fails at once, the in-flight request
// still completes with 200, the worker is cancelled only after it, new connections are
// refused afterwards and serve returns cleanly.
func TestShutdownDrainsInFlightRequestsBeforeWorkers(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	cfg := httpserver.Config{AdminAddr: "off", DrainDelay: time.Second, ShutdownTimeout: 5 * time.Second}
	rt := &Runtime{Service: "test", Log: log}
	rt.Server = httpserver.New(httpserver.Options{Service: "test", Config: cfg, Logger: log})
	rt.Echo = rt.Server.Echo

	entered := make(chan struct{})
	var requestDone, workerStopped atomic.Int64
	rt.Echo.GET("/slow", func(c echo.Context) error {
		close(entered)
		time.Sleep(2 * time.Second)
		requestDone.Store(time.Now().UnixNano())
		return c.String(http.StatusOK, "done")
	})
	rt.Go("recorder", func(ctx context.Context) error {
		<-ctx.Done()
		workerStopped.Store(time.Now().UnixNano())
		return ctx.Err()
	})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- rt.serve(ctx, ln, cfg.ShutdownTimeout) }()

	client := &http.Client{Timeout: 10 * time.Second}
	if code := get(t, client, base+"/readyz"); code != http.StatusOK {
		t.Fatalf("readyz before shutdown: %d", code)
	}
	slow := make(chan int, 1)
	go func() {
		resp, err := client.Get(base + "/slow")
		if err != nil {
			t.Errorf("in-flight request failed: %v", err)
			slow <- 0
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		slow <- resp.StatusCode
	}()
	<-entered
	cancel() // what the SIGTERM handler does

	// A fresh connection (no keep-alive reuse), as a balancer's probe would make.
	// It must see 503 while the listener still accepts (the drain delay).
	probe := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	code := 0
	for deadline := time.Now().Add(800 * time.Millisecond); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if code = get(t, probe, base+"/readyz"); code == http.StatusServiceUnavailable {
			break
		}
	}
	if code != http.StatusServiceUnavailable {
		t.Fatalf("readyz while draining: %d, want 503", code)
	}
	if code := <-slow; code != http.StatusOK {
		t.Fatalf("in-flight request: %d, want 200", code)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not return")
	}
	if workerStopped.Load() == 0 || workerStopped.Load() < requestDone.Load() {
		t.Fatalf("worker stopped before the in-flight request finished (worker %d, request %d)",
			workerStopped.Load(), requestDone.Load())
	}
	if _, err := probe.Get(base + "/healthz"); err == nil {
		t.Fatal("listener still accepts after shutdown")
	}
}

func get(t *testing.T, c *http.Client, url string) int {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode
}
