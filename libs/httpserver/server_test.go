package httpserver

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// TestSpanNamedByRoute checks that a request's span carries the route, not the raw path
// with its ids, so span names stay few.
func TestSpanNamedByRoute(t *testing.T) {
	// Spans are made only when they are exported.
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.1:4318")
	rec := tracetest.NewSpanRecorder()
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	t.Cleanup(func() { otel.SetTracerProvider(prev) })

	s := New(Options{Service: "test", Logger: slog.New(slog.DiscardHandler)})
	s.Echo.GET("/things/:id", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
	for _, path := range []string{"/things/0192a5d2-0000-7000-8000-000000000001", "/nothing/here"} {
		s.Handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
	}
	ended := rec.Ended()
	if len(ended) != 2 {
		t.Fatalf("%d spans, want 2", len(ended))
	}
	if got := ended[0].Name(); got != "GET /things/:id" {
		t.Errorf("routed span %q, want %q", got, "GET /things/:id")
	}
	if got := ended[1].Name(); got == "GET /nothing/here" {
		t.Errorf("unrouted span named by its raw path %q", got)
	}
}

// TestQueryTextPostgresCanStore checks that a NUL byte or invalid UTF-8 anywhere in the
// query is a 400 problem before any handler (PostgreSQL would refuse it as a 500), while
// ordinary and escaped UTF-8 queries pass.
func TestQueryTextPostgresCanStore(t *testing.T) {
	s := New(Options{Service: "test", Logger: slog.New(slog.DiscardHandler)})
	s.Echo.GET("/things", func(c echo.Context) error { return c.String(http.StatusOK, c.QueryParam("q")) })
	for query, want := range map[string]int{
		"q=plain": 200, "q=caf%C3%A9+%E2%9C%93": 200, "": 200, "q=%zz": 200,
		"q=a%00b": 400, "user_id=%F3%BD%91%9CV%00u": 400, "q=%FF%FE": 400, "%00=x": 400,
	} {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/things?"+query, nil))
		if rec.Code != want {
			t.Errorf("%q: %d, want %d (%s)", query, rec.Code, want, rec.Body)
		}
		if want == 400 && rec.Header().Get("Content-Type") != ProblemContentType {
			t.Errorf("%q: content type %q", query, rec.Header().Get("Content-Type"))
		}
	}
}
