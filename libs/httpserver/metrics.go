package httpserver

import (
	"context"
	"net/http"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
)

// requestMetrics records http.server.request.duration, the metric the dashboards and
// alerts read, when spans are not exported and otelhttp is left out (see Handler): with
// nothing recording spans, otelhttp's span, attribute and response-wrapping work per
// request was about a tenth of a service's CPU in a rush. The attributes are the ones the
// dashboards select on (method, route, status), one set built per combination.
type requestMetrics struct {
	duration metric.Float64Histogram
	sets     sync.Map // requestLabels → metric.MeasurementOption
}

type requestLabels struct {
	method, route string
	status        int
}

// durationBuckets are OpenTelemetry's advised boundaries for HTTP durations, in seconds,
// the ones otelhttp uses, so the histogram keeps its shape whichever path records it.
var durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

func newRequestMetrics() *requestMetrics {
	h, err := otel.Meter("evently.dev/libs/httpserver").Float64Histogram("http.server.request.duration",
		metric.WithUnit("s"), metric.WithDescription("Duration of HTTP server requests."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	if err != nil {
		otel.Handle(err)
	}
	return &requestMetrics{duration: h}
}

// record adds one request; route is Echo's route pattern ("" when nothing matched).
func (m *requestMetrics) record(ctx context.Context, method, route string, status int, d time.Duration) {
	if m == nil || m.duration == nil {
		return
	}
	k := requestLabels{method, route, status}
	opt, ok := m.sets.Load(k)
	if !ok {
		attrs := []attribute.KeyValue{attribute.String("http.request.method", method),
			attribute.Int("http.response.status_code", status)}
		if route != "" {
			attrs = append(attrs, attribute.String("http.route", route))
		}
		opt, _ = m.sets.LoadOrStore(k, metric.WithAttributeSet(attribute.NewSet(attrs...)))
	}
	m.duration.Record(ctx, d.Seconds(), opt.(metric.MeasurementOption))
}

// propagated carries the caller's trace context (W3C traceparent, baggage) into the
// request's context, as otelhttp does, so trace ids still reach logs, outgoing calls and
// Kafka headers when this process exports no spans of its own.
func propagated(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("traceparent") != "" || r.Header.Get("baggage") != "" {
			r = r.WithContext(otel.GetTextMapPropagator().Extract(r.Context(), propagation.HeaderCarrier(r.Header)))
		}
		next.ServeHTTP(w, r)
	})
}
