package kafka_test

import (
	"context"
	"testing"

	"github.com/IBM/sarama"
	"go.opentelemetry.io/otel/trace"

	"evently.dev/libs/kafka"
)

func remoteSpan(t *testing.T) trace.SpanContext {
	t.Helper()
	ts, err := trace.ParseTraceState("vendor=abc")
	if err != nil {
		t.Fatal(err)
	}
	return trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:     trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
		TraceFlags: trace.FlagsSampled,
		TraceState: ts,
		Remote:     true,
	})
}

func TestTraceHeadersRoundTrip(t *testing.T) {
	sc := remoteSpan(t)
	ctx := trace.ContextWithSpanContext(context.Background(), sc)

	headers := []sarama.RecordHeader{{Key: []byte("ce_id"), Value: []byte("x")}}
	kafka.InjectTrace(ctx, &headers)
	kafka.InjectTrace(ctx, &headers) // injecting twice must not duplicate headers

	carrier := kafka.ProducerHeaders{Headers: &headers}
	if got, want := carrier.Get("traceparent"), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"; got != want {
		t.Fatalf("traceparent = %q, want %q", got, want)
	}
	if got := carrier.Get("tracestate"); got != "vendor=abc" {
		t.Fatalf("tracestate = %q", got)
	}
	if n := len(headers); n != 3 {
		t.Fatalf("got %d headers %v, want ce_id, traceparent, tracestate", n, carrier.Keys())
	}

	// What a consumer sees: the same headers as pointers.
	consumed := make([]*sarama.RecordHeader, len(headers))
	for i := range headers {
		consumed[i] = &headers[i]
	}
	got := trace.SpanContextFromContext(kafka.ExtractTrace(context.Background(), consumed))
	if !got.Equal(sc) {
		t.Fatalf("extracted %+v, want %+v", got, sc)
	}
}

func TestExtractTraceWithoutHeaders(t *testing.T) {
	got := trace.SpanContextFromContext(kafka.ExtractTrace(context.Background(), nil))
	if got.IsValid() {
		t.Fatalf("extracted a span context from no headers: %+v", got)
	}
}

func TestTraceHeadersMap(t *testing.T) {
	ctx := trace.ContextWithSpanContext(context.Background(), remoteSpan(t))
	m := kafka.TraceHeaders(ctx)
	if m["traceparent"] == "" || m["tracestate"] != "vendor=abc" {
		t.Fatalf("TraceHeaders = %v", m)
	}
	if len(kafka.TraceHeaders(context.Background())) != 0 {
		t.Fatal("TraceHeaders of an untraced context is not empty")
	}
}
