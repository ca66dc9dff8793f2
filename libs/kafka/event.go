package kafka

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/IBM/sarama"
	"github.com/google/uuid"
)

// CloudEvents binary-mode header names and values (DESIGN §10).
const (
	HeaderID          = "ce_id"
	HeaderType        = "ce_type"
	HeaderSource      = "ce_source"
	HeaderTime        = "ce_time"
	HeaderSpecVersion = "ce_specversion"
	HeaderContentType = "content-type"

	SpecVersion = "1.0"
	ContentType = "application/json"
)

// ErrInvalidEvent marks a consumed message that is not a well-formed event: a required
// CloudEvents header is missing or the value is not JSON. Retrying cannot fix it.
var ErrInvalidEvent = errors.New("invalid event")

// Event is one fact on Kafka: a CloudEvents 1.0 envelope in headers and a JSON value.
type Event struct {
	// ID is unique per event (a UUIDv7); consumers deduplicate on it.
	ID string
	// Type names the fact and its schema version, e.g. "evently.booking.confirmed.v1".
	Type string
	// Source names the producer, e.g. "/services/booking".
	Source string
	// Time is when the fact happened, sent as RFC 3339 UTC.
	Time time.Time
	// Topic is where the event goes or came from (physical name when consumed).
	Topic string
	// Key is the partitioning key, e.g. the show id, so one show's events stay in order.
	Key string
	// Data is the JSON payload.
	Data json.RawMessage
	// Headers carries the other headers verbatim: traceparent, tracestate, baggage.
	Headers map[string]string
}

// NewEvent builds an event with a fresh UUIDv7 id, the current time and data marshalled
// to JSON.
func NewEvent(topic, key, typ, source string, data any) (Event, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return Event{}, fmt.Errorf("event %s: marshal data: %w", typ, err)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Event{}, fmt.Errorf("event %s: new id: %w", typ, err)
	}
	return Event{
		ID: id.String(), Type: typ, Source: source, Time: time.Now().UTC(),
		Topic: topic, Key: key, Data: raw,
	}, nil
}

// Validate reports whether e has every attribute CloudEvents requires and a JSON payload.
func (e Event) Validate() error {
	switch {
	case e.ID == "":
		return fmt.Errorf("%w: missing %s", ErrInvalidEvent, HeaderID)
	case e.Type == "":
		return fmt.Errorf("%w: missing %s", ErrInvalidEvent, HeaderType)
	case e.Source == "":
		return fmt.Errorf("%w: missing %s", ErrInvalidEvent, HeaderSource)
	case !json.Valid(e.Data):
		return fmt.Errorf("%w: data is not JSON", ErrInvalidEvent)
	}
	return nil
}

// ProducerMessage renders e in CloudEvents binary mode. Keys are sent only when set, so
// keyless events spread over partitions.
func (e Event) ProducerMessage() *sarama.ProducerMessage {
	t := e.Time
	if t.IsZero() {
		t = time.Now()
	}
	headers := []sarama.RecordHeader{
		header(HeaderID, e.ID),
		header(HeaderType, e.Type),
		header(HeaderSource, e.Source),
		header(HeaderTime, t.UTC().Format(time.RFC3339Nano)),
		header(HeaderSpecVersion, SpecVersion),
		header(HeaderContentType, ContentType),
	}
	for _, k := range slices.Sorted(maps.Keys(e.Headers)) {
		if isEnvelopeHeader(k) {
			continue
		}
		headers = append(headers, header(k, e.Headers[k]))
	}
	m := &sarama.ProducerMessage{
		Topic:   e.Topic,
		Value:   sarama.ByteEncoder(e.Data),
		Headers: headers,
	}
	if e.Key != "" {
		m.Key = sarama.StringEncoder(e.Key)
	}
	return m
}

// EventFromMessage reads an event back from a consumed message. It fails with
// ErrInvalidEvent when the envelope is incomplete or the value is not JSON.
func EventFromMessage(m *sarama.ConsumerMessage) (Event, error) {
	e := Event{Topic: m.Topic, Key: string(m.Key), Data: json.RawMessage(m.Value)}
	var spec string
	for _, h := range m.Headers {
		if h == nil {
			continue
		}
		k, v := string(h.Key), string(h.Value)
		switch k {
		case HeaderID:
			e.ID = v
		case HeaderType:
			e.Type = v
		case HeaderSource:
			e.Source = v
		case HeaderSpecVersion:
			spec = v
		case HeaderTime:
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return e, fmt.Errorf("%w: %s %q: %w", ErrInvalidEvent, HeaderTime, v, err)
			}
			e.Time = t.UTC()
		case HeaderContentType:
			// The value itself is checked below with json.Valid, which is what matters
			// to a consumer; a "; charset=utf-8" parameter is not worth a dead letter.
		default:
			if e.Headers == nil {
				e.Headers = map[string]string{}
			}
			e.Headers[k] = v
		}
	}
	if err := e.Validate(); err != nil {
		return e, err
	}
	if spec != SpecVersion {
		return e, fmt.Errorf("%w: %s %q, want %s", ErrInvalidEvent, HeaderSpecVersion, spec, SpecVersion)
	}
	return e, nil
}

func header(k, v string) sarama.RecordHeader {
	return sarama.RecordHeader{Key: []byte(k), Value: []byte(v)}
}

func isEnvelopeHeader(k string) bool {
	switch k {
	case HeaderID, HeaderType, HeaderSource, HeaderTime, HeaderSpecVersion, HeaderContentType:
		return true
	}
	return false
}
