package kafka

import (
	"context"

	"github.com/IBM/sarama"
	"go.opentelemetry.io/otel/propagation"
)

// propagator writes and reads trace context in message headers. It is fixed to W3C Trace
// Context and Baggage instead of the global propagator because traceparent is part of the
// event contract (DESIGN §10) and must not disappear when a process skips telemetry setup.
var propagator propagation.TextMapPropagator = propagation.NewCompositeTextMapPropagator(
	propagation.TraceContext{}, propagation.Baggage{})

// ProducerHeaders adapts a producer message's headers to OTel's TextMapCarrier. The
// contrib otelsarama instrumentation that used to provide this is retired.
type ProducerHeaders struct{ Headers *[]sarama.RecordHeader }

var _ propagation.TextMapCarrier = ProducerHeaders{}

// Get returns the value of the first header named key.
func (c ProducerHeaders) Get(key string) string {
	for _, h := range *c.Headers {
		if string(h.Key) == key {
			return string(h.Value)
		}
	}
	return ""
}

// Set replaces the header named key, so injecting twice never yields two traceparents.
func (c ProducerHeaders) Set(key, value string) {
	for i, h := range *c.Headers {
		if string(h.Key) == key {
			(*c.Headers)[i].Value = []byte(value)
			return
		}
	}
	*c.Headers = append(*c.Headers, sarama.RecordHeader{Key: []byte(key), Value: []byte(value)})
}

// Keys lists the header names.
func (c ProducerHeaders) Keys() []string {
	keys := make([]string, 0, len(*c.Headers))
	for _, h := range *c.Headers {
		keys = append(keys, string(h.Key))
	}
	return keys
}

// ConsumerHeaders adapts a consumed message's headers to OTel's TextMapCarrier.
type ConsumerHeaders []*sarama.RecordHeader

var _ propagation.TextMapCarrier = ConsumerHeaders(nil)

// Get returns the value of the first header named key.
func (c ConsumerHeaders) Get(key string) string {
	for _, h := range c {
		if h != nil && string(h.Key) == key {
			return string(h.Value)
		}
	}
	return ""
}

// Set is a no-op: consumed messages are read-only, extraction never writes.
func (c ConsumerHeaders) Set(string, string) {}

// Keys lists the header names.
func (c ConsumerHeaders) Keys() []string {
	keys := make([]string, 0, len(c))
	for _, h := range c {
		if h != nil {
			keys = append(keys, string(h.Key))
		}
	}
	return keys
}

// InjectTrace writes the span context of ctx into producer headers as traceparent and
// tracestate (and baggage), so the consumer's spans join the producer's trace.
func InjectTrace(ctx context.Context, headers *[]sarama.RecordHeader) {
	propagator.Inject(ctx, ProducerHeaders{Headers: headers})
}

// ExtractTrace returns ctx carrying the remote span context found in consumed headers.
func ExtractTrace(ctx context.Context, headers []*sarama.RecordHeader) context.Context {
	return propagator.Extract(ctx, ConsumerHeaders(headers))
}

// TraceHeaders returns the trace headers of ctx as a map, for storing them beside an event
// that is published later (the outbox) while keeping the originating request's trace.
func TraceHeaders(ctx context.Context) map[string]string {
	m := propagation.MapCarrier{}
	propagator.Inject(ctx, m)
	return m
}
