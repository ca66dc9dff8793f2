package proxy

import (
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"evently.dev/libs/httpserver"
)

// TestUnreachableUpstreamIsProblem checks that a dead upstream answers 503 problem+json
// carrying the request id, like every other error.
func TestUnreachableUpstreamIsProblem(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there now

	names := []string{"identity", "catalog", "inventory", "booking", "waitlist", "analytics"}
	ups := map[string]string{}
	for _, n := range names {
		ups[n] = "http://" + addr
	}
	log := slog.New(slog.DiscardHandler)
	p, err := New(Options{Upstreams: ups, Secret: "s", Timeout: time.Second, MaxIdlePerHost: 1, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	s := httpserver.New(httpserver.Options{Service: "gateway", Logger: log})
	s.Echo.Any("/api/*", p.Handler)

	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/events", nil))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("status %d (Retry-After %q), want 503 with Retry-After: %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	if ct := rec.Header().Get(echo.HeaderContentType); ct != httpserver.ProblemContentType {
		t.Fatalf("content type %q", ct)
	}
	var prob httpserver.Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &prob); err != nil {
		t.Fatal(err)
	}
	if prob.Code != "upstream_unreachable" || prob.Status != 503 || prob.Instance != "/api/v1/events" ||
		prob.RequestID == "" || prob.RequestID != rec.Header().Get(echo.HeaderXRequestID) {
		t.Fatalf("problem %+v", prob)
	}
}
