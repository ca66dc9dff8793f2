package httpserver

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// freeAddr reserves a loopback port and releases it for the server under test.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestAdminListenerKeepsInternalsOffThePublicPort checks the split: metrics, check details
// and the profiler answer on the admin address only, while the public port gives probes a
// bare verdict.
func TestAdminListenerKeepsInternalsOffThePublicPort(t *testing.T) {
	adminAddr := freeAddr(t)
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "evently_up 1\n") })
	s := New(Options{Service: "test", Logger: slog.New(slog.DiscardHandler), Metrics: metrics,
		Config: Config{AdminAddr: adminAddr, Pprof: true}})
	s.AddCheck("postgres", func(context.Context) error { return errors.New("dial tcp 10.0.0.7:5432: refused") })

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	public := "http://" + ln.Addr().String()
	admin := "http://" + adminAddr
	deadline := time.Now().Add(5 * time.Second)
	for {
		if c, err := net.Dial("tcp", adminAddr); err == nil {
			_ = c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("admin listener did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}

	if code, _ := get(t, public+"/metrics"); code != http.StatusNotFound {
		t.Errorf("public /metrics: HTTP %d, want 404", code)
	}
	code, body := get(t, public+"/readyz")
	if code != http.StatusServiceUnavailable || strings.Contains(body, "10.0.0.7") || strings.Contains(body, "postgres") {
		t.Errorf("public /readyz: HTTP %d %s, want 503 without details", code, body)
	}
	if code, _ := get(t, public+"/healthz"); code != http.StatusOK {
		t.Errorf("public /healthz: HTTP %d", code)
	}
	if code, _ := get(t, public+"/debug/pprof/"); code != http.StatusNotFound {
		t.Errorf("public pprof: HTTP %d, want 404", code)
	}

	if code, body := get(t, admin+"/metrics"); code != http.StatusOK || !strings.Contains(body, "evently_up 1") {
		t.Errorf("admin /metrics: HTTP %d %q", code, body)
	}
	code, body = get(t, admin+"/readyz")
	var ready struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	if err := json.Unmarshal([]byte(body), &ready); err != nil || code != http.StatusServiceUnavailable ||
		ready.Status != "not_ready" || !strings.Contains(ready.Checks["postgres"], "refused") {
		t.Errorf("admin /readyz: HTTP %d %s", code, body)
	}
	if code, _ := get(t, admin+"/healthz"); code != http.StatusOK {
		t.Errorf("admin /healthz: HTTP %d", code)
	}
	if code, _ := get(t, admin+"/debug/pprof/"); code != http.StatusOK {
		t.Errorf("admin pprof: HTTP %d", code)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := net.Dial("tcp", adminAddr); err == nil {
		t.Error("admin listener still open after shutdown")
	}
}

// TestAdminPprofOffByDefault keeps the profiler dark unless asked for.
func TestAdminPprofOffByDefault(t *testing.T) {
	s := New(Options{Service: "test", Logger: slog.New(slog.DiscardHandler)})
	rec := httptest.NewRecorder()
	s.AdminHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/debug/pprof/", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("pprof without PPROF_ENABLED: HTTP %d, want 404", rec.Code)
	}
}

// TestAdminAddrFor pins the default port scheme the deployment files rely on.
func TestAdminAddrFor(t *testing.T) {
	for in, want := range map[string]string{":8083": ":9083", "127.0.0.1:8080": "127.0.0.1:9080", "bad": "", ":0": ""} {
		if got := AdminAddrFor(in); got != want {
			t.Errorf("AdminAddrFor(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestAdminAddrClashFailsStart makes a taken admin port an error, not silent darkness.
func TestAdminAddrClashFailsStart(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	s := New(Options{Service: "test", Logger: slog.New(slog.DiscardHandler), Config: Config{AdminAddr: taken.Addr().String()}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Serve(context.Background(), ln); err == nil || !strings.Contains(err.Error(), "listen admin") {
		t.Fatalf("Serve with a taken admin port: %v", err)
	}
}

// TestProbe is the container healthcheck: green only on a 200 from /readyz.
func TestProbe(t *testing.T) {
	s := New(Options{Service: "test", Logger: slog.New(slog.DiscardHandler)})
	var down atomic.Bool
	s.AddCheck("dep", func(context.Context) error {
		if !down.Load() {
			return nil
		}
		return errors.New("down")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = s.Serve(ctx, ln) }()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	addr := ":" + port // as configured in containers: no host means this machine
	if err := Probe(ctx, addr); err != nil {
		t.Fatalf("ready process: %v", err)
	}
	down.Store(true)
	if err := Probe(ctx, addr); err == nil {
		t.Fatal("unready process passed the healthcheck")
	}
	if err := Probe(ctx, freeAddr(t)); err == nil {
		t.Fatal("nothing listening passed the healthcheck")
	}
}

// TestMetricsLabelledByRoute checks that request metrics carry the route template, which
// the Grafana dashboard's hold and confirm latency panels select on.
func TestMetricsLabelledByRoute(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	prev := otel.GetMeterProvider()
	otel.SetMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
	t.Cleanup(func() { otel.SetMeterProvider(prev) })

	s := New(Options{Service: "test", Logger: slog.New(slog.DiscardHandler)})
	s.Echo.POST("/api/v1/seats/hold", func(c echo.Context) error { return c.NoContent(http.StatusCreated) })
	s.Handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/api/v1/seats/hold", nil))

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			h, ok := m.Data.(metricdata.Histogram[float64])
			if m.Name != "http.server.request.duration" || !ok {
				continue
			}
			for _, dp := range h.DataPoints {
				if v, ok := dp.Attributes.Value("http.route"); ok && v.AsString() == "/api/v1/seats/hold" {
					return
				}
			}
		}
	}
	t.Fatal("no http.server.request.duration point labelled http.route=/api/v1/seats/hold")
}

// A route mounted with HandleAdmin answers on the admin listener and not on the public one.
func TestHandleAdminMountsOnTheAdminListenerOnly(t *testing.T) {
	s := New(Options{Service: "test", Logger: slog.New(slog.DiscardHandler)})
	s.HandleAdmin("/things/", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "operator only")
	}))
	admin := httptest.NewServer(s.AdminHandler())
	defer admin.Close()
	public := httptest.NewServer(s.Handler())
	defer public.Close()
	if code, body := get(t, admin.URL+"/things/x"); code != http.StatusOK || body != "operator only" {
		t.Fatalf("admin /things/x: %d %q", code, body)
	}
	if code, _ := get(t, public.URL+"/things/x"); code != http.StatusNotFound {
		t.Fatalf("public /things/x: HTTP %d, want 404", code)
	}
}
