package httpserver

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/trace"
)

// Without a span exporter the server leaves otelhttp out, yet still records the request
// duration histogram by method, route and status (what the dashboards read) and carries
// the caller's trace id into the handler's context.
func TestRequestMetricsAndTraceContextWithoutTracing(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	reader := sdkmetric.NewManualReader()
	prev := otel.GetMeterProvider()
	otel.SetMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
	prevProp := otel.GetTextMapPropagator()
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() { otel.SetMeterProvider(prev); otel.SetTextMapPropagator(prevProp) })

	s := New(Options{Service: "test", Logger: slog.New(slog.DiscardHandler)})
	var seen trace.TraceID
	s.Echo.GET("/things/:id", func(c echo.Context) error {
		seen = trace.SpanContextFromContext(c.Request().Context()).TraceID()
		return c.NoContent(http.StatusNoContent)
	})
	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	for range 3 {
		r := httptest.NewRequest(http.MethodGet, "/things/0192a5d2-0000-7000-8000-000000000001", nil)
		r.Header.Set("traceparent", parent)
		s.Handler().ServeHTTP(httptest.NewRecorder(), r)
	}
	s.Handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/nothing/here", nil))
	if seen.String() != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("trace id in the handler %s, want the caller's", seen)
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	counts := map[string]uint64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "http.server.request.duration" {
				continue
			}
			for _, dp := range m.Data.(metricdata.Histogram[float64]).DataPoints {
				route, _ := dp.Attributes.Value(attribute.Key("http.route"))
				status, _ := dp.Attributes.Value(attribute.Key("http.response.status_code"))
				counts[route.AsString()+" "+status.String()] += dp.Count
			}
		}
	}
	if counts["/things/:id 204"] != 3 || counts[" 404"] != 1 {
		t.Errorf("request counts by route and status %v, want 3 × /things/:id 204 and 1 unrouted 404", counts)
	}
}
