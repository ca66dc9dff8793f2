// Package outbox implements the transactional outbox of DESIGN §10: a service inserts its
// events into an outbox table in the same transaction as the state change they announce,
// and a Relay publishes them to Kafka afterwards. No event leaves for a rolled-back change,
// and none is lost while Kafka is down: it waits in the table.
package outbox

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"evently.dev/libs/kafka"
)

// channelPrefix plus the schema name is the NOTIFY channel. One channel per schema keeps a
// service's relay from waking up for every other service's writes in a shared database.
const channelPrefix = "outbox_"

// DefaultNotifyInterval is the least time between two NOTIFYs from one Writer unless its
// options say otherwise. A transaction that notifies takes PostgreSQL's global
// notification-queue lock from pre-commit until its commit record is flushed, so notifying
// on every write serialises every writer's commit across the whole database; measured on
// the booking path it capped sales at tens per second. Writes within the interval skip the
// NOTIFY: the relay, already woken or busy draining, finds them in its next scan
// (RelayOptions.PollInterval at worst).
const DefaultNotifyInterval = 25 * time.Millisecond

// WriterOptions tunes a Writer. Zero values select the defaults in brackets.
type WriterOptions struct {
	// NotifyInterval is the least time between two NOTIFYs of this writer
	// [DefaultNotifyInterval]; negative notifies on every write (tests of the wake-up path).
	NotifyInterval time.Duration
}

// Writer adds events to the outbox and wakes the relay, at most once per NotifyInterval.
// The package-level Add, AddMany and AddJSON use one process-wide Writer with the default
// options; a Writer of its own is for callers (tests) that need another interval without
// changing anyone else's.
type Writer struct {
	interval   time.Duration
	lastNotify atomic.Int64
}

// NewWriter returns a Writer with opts.
func NewWriter(opts WriterOptions) *Writer {
	if opts.NotifyInterval == 0 {
		opts.NotifyInterval = DefaultNotifyInterval
	}
	return &Writer{interval: opts.NotifyInterval}
}

// defaultWriter serves the package-level functions.
var defaultWriter = NewWriter(WriterOptions{})

// shouldNotify reports whether this write should wake the relay, claiming the slot.
func (w *Writer) shouldNotify() bool {
	if w.interval < 0 {
		return true
	}
	now := time.Now().UnixNano()
	last := w.lastNotify.Load()
	if now-last < int64(w.interval) {
		return false
	}
	return w.lastNotify.CompareAndSwap(last, now)
}

// Add records e in the outbox inside the caller's transaction db, so e is published if and
// only if that transaction commits. It fills a missing ID (UUIDv7) and Time, stores the
// trace context of ctx so consumers continue the caller's trace, and notifies the relay
// (at most once per the writer's NOTIFY interval), which PostgreSQL delivers only at commit.
// e.Topic is the logical topic name; the relay adds the environment's prefix.
func (w *Writer) Add(ctx context.Context, db bun.IDB, e kafka.Event) error {
	return w.AddMany(ctx, db, []kafka.Event{e})
}

// AddMany records several events with one INSERT in the caller's transaction: the outbox
// side of a group commit, where one statement instead of one per event is what keeps
// PostgreSQL's cost per sale low. Each event is treated as by Add.
func AddMany(ctx context.Context, db bun.IDB, events []kafka.Event) error {
	return defaultWriter.AddMany(ctx, db, events)
}

// AddMany is the package-level AddMany with this writer's NOTIFY interval.
func (w *Writer) AddMany(ctx context.Context, db bun.IDB, events []kafka.Event) error {
	if len(events) == 0 {
		return nil
	}
	headers := kafka.TraceHeaders(ctx)
	var q strings.Builder
	q.WriteString(`INSERT INTO outbox (id, topic, key, type, source, event_time, payload, headers) VALUES `)
	args := make([]any, 0, len(events)*8)
	for i, e := range events {
		row, err := prepare(e, headers)
		if err != nil {
			return err
		}
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?)")
		args = append(args, row...)
	}
	if w.shouldNotify() {
		// The wake-up travels in the INSERT's message (the simple protocol takes several
		// statements at once): one round trip less for every writing transaction.
		// PostgreSQL folds identical notifications of one transaction into one, so a
		// transaction adding many events still wakes the relay once.
		q.WriteString("; SELECT pg_notify(? || current_schema(), '')")
		args = append(args, channelPrefix)
	}
	if _, err := db.ExecContext(ctx, q.String(), args...); err != nil {
		return fmt.Errorf("outbox add %d events (first %s): %w", len(events), events[0].Type, err)
	}
	return nil
}

// prepare fills e's defaults, validates it and returns its column values. traced holds the
// trace headers of the writing context; an event's own headers win over them, so a group
// commit can keep each buyer's trace on the event that buyer caused.
func prepare(e kafka.Event, traced map[string]string) ([]any, error) {
	if e.ID == "" {
		id, err := uuid.NewV7()
		if err != nil {
			return nil, fmt.Errorf("outbox add %s: new id: %w", e.Type, err)
		}
		e.ID = id.String()
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	if e.Topic == "" {
		return nil, fmt.Errorf("outbox add %s: empty topic", e.Type)
	}
	if err := e.Validate(); err != nil {
		return nil, fmt.Errorf("outbox add %s: %w", e.Type, err)
	}
	headers := make(map[string]string, len(traced)+len(e.Headers))
	for k, v := range traced {
		headers[k] = v
	}
	for k, v := range e.Headers {
		headers[k] = v
	}
	hdr, err := json.Marshal(headers)
	if err != nil {
		return nil, fmt.Errorf("outbox add %s: marshal headers: %w", e.Type, err)
	}
	return []any{e.ID, e.Topic, e.Key, e.Type, e.Source, e.Time.UTC(), string(e.Data), string(hdr)}, nil
}

// AddJSON marshals payload and records it as a new event; see Add.
func AddJSON(ctx context.Context, db bun.IDB, topic, key, typ, source string, payload any) (kafka.Event, error) {
	return defaultWriter.AddJSON(ctx, db, topic, key, typ, source, payload)
}

// AddJSON is the package-level AddJSON with this writer's NOTIFY interval.
func (w *Writer) AddJSON(ctx context.Context, db bun.IDB, topic, key, typ, source string, payload any) (kafka.Event, error) {
	e, err := kafka.NewEvent(topic, key, typ, source, payload)
	if err != nil {
		return kafka.Event{}, fmt.Errorf("outbox add: %w", err)
	}
	if err := w.Add(ctx, db, e); err != nil {
		return kafka.Event{}, err
	}
	return e, nil
}
