package kafka_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/google/uuid"

	"evently.dev/libs/kafka"
)

// consumed turns a producer message into what a consumer would receive.
func consumed(m *sarama.ProducerMessage) *sarama.ConsumerMessage {
	c := &sarama.ConsumerMessage{Topic: m.Topic}
	if m.Key != nil {
		c.Key, _ = m.Key.Encode()
	}
	if m.Value != nil {
		c.Value, _ = m.Value.Encode()
	}
	for i := range m.Headers {
		c.Headers = append(c.Headers, &m.Headers[i])
	}
	return c
}

func TestEventMessageRoundTrip(t *testing.T) {
	e, err := kafka.NewEvent("booking.v1", "show-1", "evently.booking.confirmed.v1", "/services/booking",
		map[string]any{"booking_id": "b1", "amount": 1200})
	if err != nil {
		t.Fatal(err)
	}
	id, err := uuid.Parse(e.ID)
	if err != nil || id.Version() != 7 {
		t.Fatalf("id %q is not a UUIDv7 (%v)", e.ID, err)
	}
	e.Headers = map[string]string{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "ce_id": "ignored"}

	m := e.ProducerMessage()
	c := consumed(m)
	if got := kafka.ConsumerHeaders(c.Headers).Get(kafka.HeaderTime); !strings.HasSuffix(got, "Z") {
		t.Fatalf("ce_time %q is not UTC", got)
	}
	if got := kafka.ConsumerHeaders(c.Headers).Get(kafka.HeaderContentType); got != "application/json" {
		t.Fatalf("content-type %q", got)
	}
	back, err := kafka.EventFromMessage(c)
	if err != nil {
		t.Fatal(err)
	}
	if back.ID != e.ID || back.Type != e.Type || back.Source != e.Source || back.Key != e.Key ||
		back.Topic != e.Topic || !back.Time.Equal(e.Time) || string(back.Data) != string(e.Data) {
		t.Fatalf("round trip changed the event:\n got %+v\nwant %+v", back, e)
	}
	if back.Headers["traceparent"] != e.Headers["traceparent"] || len(back.Headers) != 1 {
		t.Fatalf("headers %v: want only traceparent (envelope headers are not extensions)", back.Headers)
	}
}

func TestKeylessEventHasNoKey(t *testing.T) {
	m := kafka.Event{ID: "1", Type: "t", Source: "/s", Topic: "x", Data: json.RawMessage(`{}`)}.ProducerMessage()
	if m.Key != nil {
		t.Fatalf("key = %v, want nil so keyless events spread over partitions", m.Key)
	}
}

func TestEventFromMessageRejectsInvalid(t *testing.T) {
	valid := func() []*sarama.RecordHeader {
		return []*sarama.RecordHeader{
			{Key: []byte("ce_id"), Value: []byte("id-1")},
			{Key: []byte("ce_type"), Value: []byte("evently.test.v1")},
			{Key: []byte("ce_source"), Value: []byte("/test")},
			{Key: []byte("ce_specversion"), Value: []byte("1.0")},
			{Key: []byte("ce_time"), Value: []byte(time.Now().UTC().Format(time.RFC3339))},
		}
	}
	without := func(key string) []*sarama.RecordHeader {
		var out []*sarama.RecordHeader
		for _, h := range valid() {
			if string(h.Key) != key {
				out = append(out, h)
			}
		}
		return out
	}
	with := func(key, value string) []*sarama.RecordHeader {
		out := without(key)
		return append(out, &sarama.RecordHeader{Key: []byte(key), Value: []byte(value)})
	}
	tests := []struct {
		name    string
		headers []*sarama.RecordHeader
		value   string
		wantErr bool
	}{
		{"valid", valid(), `{"a":1}`, false},
		{"no ce_id", without("ce_id"), `{}`, true},
		{"no ce_type", without("ce_type"), `{}`, true},
		{"no ce_source", without("ce_source"), `{}`, true},
		{"no specversion", without("ce_specversion"), `{}`, true},
		{"wrong specversion", with("ce_specversion", "0.3"), `{}`, true},
		{"bad time", with("ce_time", "yesterday"), `{}`, true},
		{"not json", valid(), `{"a":`, true},
		{"empty value", valid(), ``, true},
		{"no headers", nil, `{}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := kafka.EventFromMessage(&sarama.ConsumerMessage{Topic: "x", Headers: tt.headers, Value: []byte(tt.value)})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, kafka.ErrInvalidEvent) {
				t.Fatalf("err %v does not wrap ErrInvalidEvent", err)
			}
		})
	}
}

func FuzzEventFromMessage(f *testing.F) {
	f.Add("id", "evently.test.v1", "/s", "1.0", "2026-01-02T03:04:05Z", []byte(`{"a":1}`))
	f.Add("", "", "", "", "", []byte(`nope`))
	f.Fuzz(func(t *testing.T, id, typ, source, spec, tm string, value []byte) {
		hs := []*sarama.RecordHeader{
			{Key: []byte("ce_id"), Value: []byte(id)},
			{Key: []byte("ce_type"), Value: []byte(typ)},
			{Key: []byte("ce_source"), Value: []byte(source)},
			{Key: []byte("ce_specversion"), Value: []byte(spec)},
			{Key: []byte("ce_time"), Value: []byte(tm)},
		}
		e, err := kafka.EventFromMessage(&sarama.ConsumerMessage{Headers: hs, Value: value})
		if err == nil && (e.ID == "" || !json.Valid(e.Data)) {
			t.Fatalf("accepted an invalid event: %+v", e)
		}
	})
}
