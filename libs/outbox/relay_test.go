package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/uptrace/bun"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/trace"

	"evently.dev/libs/kafka"
	"evently.dev/libs/kafka/kafkatest"
	"evently.dev/libs/migrate"
	"evently.dev/libs/outbox"
	"evently.dev/libs/testkit"
)

const (
	schema = "svc"
	topic  = "things.v1" // logical; the relay adds the test's prefix
)

func setup(t *testing.T) (*bun.DB, kafka.Config) {
	t.Helper()
	db := testkit.DB(t, schema)
	if _, err := migrate.Up(context.Background(), db, schema, outbox.Migrations); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	cfg := kafkatest.Config(t)
	kafkatest.Topics(t, cfg, topic)
	return db, cfg
}

// startRelay runs r until the test ends and waits for Run to return.
func startRelay(t *testing.T, r *outbox.Relay) context.CancelFunc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	stop := func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("relay Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("relay did not stop")
		}
	}
	var once atomic.Bool
	t.Cleanup(func() {
		if once.CompareAndSwap(false, true) {
			stop()
		}
	})
	return func() {
		if once.CompareAndSwap(false, true) {
			stop()
		}
	}
}

func tracedContext() (context.Context, trace.SpanContext) {
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
		SpanID:     trace.SpanID{1, 2, 3, 4, 5, 6, 7, 8},
		TraceFlags: trace.FlagsSampled,
	})
	return trace.ContextWithSpanContext(context.Background(), sc), sc
}

// write adds one event per key in keys, each in its own committed transaction, and returns
// the event ids in write order.
func write(t *testing.T, ctx context.Context, db *bun.DB, keys ...string) []string {
	t.Helper()
	return writeWith(t, ctx, defaultWriter, db, keys...)
}

// defaultWriter notifies as the package-level functions do.
var defaultWriter = outbox.NewWriter(outbox.WriterOptions{})

// writeWith is write through w.
func writeWith(t *testing.T, ctx context.Context, w *outbox.Writer, db *bun.DB, keys ...string) []string {
	t.Helper()
	ids := make([]string, 0, len(keys))
	for i, k := range keys {
		err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			e, err := w.AddJSON(ctx, tx, topic, k, "evently.test.happened.v1", "/test", map[string]int{"n": i})
			ids = append(ids, e.ID)
			return err
		})
		if err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	return ids
}

func unsent(t *testing.T, db *bun.DB) int {
	t.Helper()
	n, err := db.NewSelect().Table("outbox").Where("sent_at IS NULL").Count(context.Background())
	if err != nil {
		t.Fatalf("count unsent: %v", err)
	}
	return int(n)
}

func TestIntegrationRelayPublishesCommittedOnly(t *testing.T) {
	db, cfg := setup(t)
	ctx, sc := tracedContext()

	keys := make([]string, 30)
	for i := range keys {
		keys[i] = fmt.Sprintf("show-%d", i%4)
	}
	ids := write(t, ctx, db, keys...)

	var rolledBack string
	errRollback := errors.New("rollback")
	err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		e, err := outbox.AddJSON(ctx, tx, topic, "show-0", "evently.test.happened.v1", "/test", map[string]int{"n": -1})
		if err != nil {
			return err
		}
		rolledBack = e.ID
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("rollback: %v", err)
	}

	startRelay(t, outbox.NewRelay(db, cfg, outbox.RelayOptions{BatchSize: 7}))
	got := kafkatest.ReadN(t, cfg, cfg.Topic(topic), len(ids), 15*time.Second)
	// Once every committed row is marked sent, the relay has sent all it ever will for
	// them: the topic's end offsets then count exactly what was published.
	testkit.Eventually(t, 5*time.Second, func() bool { return unsent(t, db) == 0 }, "all rows marked sent")
	if n := published(t, cfg, cfg.Topic(topic)); n != int64(len(ids)) {
		t.Fatalf("%d messages on the topic, want %d (the committed rows only)", n, len(ids))
	}

	byKey := map[string][]string{}
	for _, m := range got {
		id := kafkatest.Header(m, "ce_id")
		if id == rolledBack {
			t.Fatalf("the rolled-back event %s was published", id)
		}
		if typ := kafkatest.Header(m, "ce_type"); typ != "evently.test.happened.v1" {
			t.Errorf("ce_type = %q", typ)
		}
		if src := kafkatest.Header(m, "ce_source"); src != "/test" {
			t.Errorf("ce_source = %q", src)
		}
		if tp := kafkatest.Header(m, "traceparent"); tp != fmt.Sprintf("00-%s-%s-01", sc.TraceID(), sc.SpanID()) {
			t.Errorf("traceparent = %q, want the writer's span", tp)
		}
		if _, err := kafka.EventFromMessage(m); err != nil {
			t.Errorf("not a valid event: %v", err)
		}
		byKey[string(m.Key)] = append(byKey[string(m.Key)], id)
	}
	// Per key, Kafka order is write order.
	for k, gotIDs := range byKey {
		var want []string
		for i, key := range keys {
			if key == k {
				want = append(want, ids[i])
			}
		}
		if !slices.Equal(gotIDs, want) {
			t.Errorf("key %s: published order %v, want %v", k, gotIDs, want)
		}
	}
}

// published is how many messages the physical topic holds: the sum of its partitions'
// end offsets (the topic is the test's own and the producer writes no control records).
func published(t *testing.T, cfg kafka.Config, topic string) int64 {
	t.Helper()
	sc, err := kafka.NewSaramaConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c, err := sarama.NewClient(cfg.Brokers, sc)
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	defer func() { _ = c.Close() }()
	parts, err := c.Partitions(topic)
	if err != nil {
		t.Fatalf("partitions of %s: %v", topic, err)
	}
	var n int64
	for _, p := range parts {
		off, err := c.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			t.Fatalf("end offset of %s/%d: %v", topic, p, err)
		}
		n += off
	}
	return n
}

func TestIntegrationRelayWakesOnNotify(t *testing.T) {
	w := outbox.NewWriter(outbox.WriterOptions{NotifyInterval: -1}) // every write notifies
	db, cfg := setup(t)
	// With a one-minute poll, only NOTIFY can explain delivery within the wait below.
	r := outbox.NewRelay(db, cfg, outbox.RelayOptions{PollInterval: time.Minute})
	startRelay(t, r)
	testkit.Eventually(t, 10*time.Second, r.Active, "relay active")
	writeWith(t, context.Background(), w, db, "warm-up") // the first batch also connects the producer
	testkit.Eventually(t, 20*time.Second, func() bool { return unsent(t, db) == 0 }, "warm-up sent")
	for i := range 5 {
		start := time.Now()
		writeWith(t, context.Background(), w, db, "k")
		testkit.Eventually(t, 20*time.Second, func() bool { return unsent(t, db) == 0 }, "event %d sent", i)
		t.Logf("commit to sent: %s", time.Since(start))
	}
}

// A write that skips its NOTIFY (inside NotifyInterval) is still delivered by the poll.
func TestIntegrationRelayPollsWhenNotifyIsSkipped(t *testing.T) {
	w := outbox.NewWriter(outbox.WriterOptions{NotifyInterval: time.Hour}) // only the first write notifies
	db, cfg := setup(t)
	r := outbox.NewRelay(db, cfg, outbox.RelayOptions{PollInterval: 100 * time.Millisecond})
	startRelay(t, r)
	testkit.Eventually(t, 10*time.Second, r.Active, "relay active")
	for range 10 {
		writeWith(t, context.Background(), w, db, "k")
	}
	testkit.Eventually(t, 20*time.Second, func() bool { return unsent(t, db) == 0 }, "all sent by polling")
}

func TestIntegrationRelayStartsWithoutBroker(t *testing.T) {
	db, cfg := setup(t)
	var reachable atomic.Bool
	var creations atomic.Int32
	newProducer := func() (sarama.SyncProducer, error) {
		creations.Add(1)
		c := cfg
		if !reachable.Load() {
			c.Brokers = []string{"127.0.0.1:1"} // nothing listens there
		}
		return kafka.NewSyncProducer(c)
	}
	reader := sdkmetric.NewManualReader()
	r := outbox.NewRelay(db, cfg, outbox.RelayOptions{
		NewProducer: newProducer, MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
		MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)),
	})
	startRelay(t, r)

	ids := write(t, context.Background(), db, "a", "b", "a", "c", "a")
	testkit.Eventually(t, 10*time.Second, func() bool { return creations.Load() >= 3 }, "producer creation retried")
	if n := unsent(t, db); n != len(ids) {
		t.Fatalf("%d rows unsent while Kafka is unreachable, want %d", n, len(ids))
	}
	m := collect(t, reader)
	if m["outbox.unsent"] != float64(len(ids)) || m["outbox.lag"] <= 0 {
		t.Fatalf("metrics while Kafka is down: %v", m)
	}

	reachable.Store(true)
	got := kafkatest.ReadN(t, cfg, cfg.Topic(topic), len(ids), 15*time.Second)
	seen := map[string]bool{}
	for _, m := range got {
		seen[kafkatest.Header(m, "ce_id")] = true
	}
	for _, id := range ids {
		if !seen[id] {
			t.Errorf("event %s was not delivered", id)
		}
	}
	testkit.Eventually(t, 5*time.Second, func() bool { return unsent(t, db) == 0 }, "all rows marked sent")
	m = collect(t, reader)
	if m["outbox.unsent"] != 0 || m["outbox.lag"] != 0 || m["outbox.published"] != float64(len(ids)) {
		t.Fatalf("metrics after delivery: %v", m)
	}
}

// collect reads the relay's metrics as name -> value (summed over attributes).
func collect(t *testing.T, reader *sdkmetric.ManualReader) map[string]float64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatalf("collect metrics: %v", err)
	}
	out := map[string]float64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					out[m.Name] += float64(p.Value)
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					out[m.Name] += float64(p.Value)
				}
			case metricdata.Gauge[float64]:
				for _, p := range d.DataPoints {
					out[m.Name] += p.Value
				}
			}
		}
	}
	return out
}

func TestIntegrationRelayRetriesFailedPublish(t *testing.T) {
	db, cfg := setup(t)
	// The rows name a topic that does not exist yet (auto-creation is off): publishing
	// fails, the failure is recorded, and the rows go out once the topic appears.
	const late = "late.v1"
	ctx := context.Background()
	err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		_, err := outbox.AddJSON(ctx, tx, late, "k", "evently.test.late.v1", "/test", map[string]int{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	startRelay(t, outbox.NewRelay(db, cfg, outbox.RelayOptions{MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}))
	testkit.Eventually(t, 20*time.Second, func() bool {
		var attempts int
		var lastErr *string
		err := db.NewSelect().Table("outbox").Column("attempts", "last_error").Limit(1).Scan(ctx, &attempts, &lastErr)
		return err == nil && attempts > 0 && lastErr != nil && *lastErr != ""
	}, "the failed attempt recorded")
	if n := unsent(t, db); n != 1 {
		t.Fatalf("%d unsent rows, want 1", n)
	}
	kafkatest.Topics(t, cfg, late)
	kafkatest.ReadN(t, cfg, cfg.Topic(late), 1, 20*time.Second)
	testkit.Eventually(t, 5*time.Second, func() bool { return unsent(t, db) == 0 }, "row marked sent")
}

func TestIntegrationRelayOneActiveReplica(t *testing.T) {
	db, cfg := setup(t)
	logs := &logRecorder{}
	opts := outbox.RelayOptions{StandbyInterval: 100 * time.Millisecond, Logger: slog.New(logs)}
	a, b := outbox.NewRelay(db, cfg, opts), outbox.NewRelay(db, cfg, opts)
	stop := map[*outbox.Relay]context.CancelFunc{a: startRelay(t, a), b: startRelay(t, b)}
	testkit.Eventually(t, 10*time.Second, func() bool { return a.Active() || b.Active() }, "one relay active")
	// The other one has tried the lock while the first held it, and stood by.
	testkit.Eventually(t, 10*time.Second, func() bool { return logs.count("outbox relay standing by: another replica is active") > 0 },
		"the other relay stands by")
	if a.Active() && b.Active() {
		t.Fatal("both relays are active")
	}
	first := write(t, context.Background(), db, "k", "k", "k")

	// Stop whichever is active; the other takes over and continues in order.
	active, standby := a, b
	if b.Active() {
		active, standby = b, a
	}
	stop[active]()
	testkit.Eventually(t, 10*time.Second, standby.Active, "stand-by takes over")
	second := write(t, context.Background(), db, "k", "k", "k")
	got := kafkatest.ReadN(t, cfg, cfg.Topic(topic), 6, 15*time.Second)
	var order []string
	for _, m := range got {
		order = append(order, kafkatest.Header(m, "ce_id"))
	}
	// A graceful hand-over finishes the batch in flight, so nothing is sent twice.
	if want := append(first, second...); !slices.Equal(order, want) {
		t.Fatalf("published %v, want %v", order, want)
	}
}

func TestIntegrationRelayDeletesOldSentRows(t *testing.T) {
	db, cfg := setup(t)
	write(t, context.Background(), db, "a", "b")
	startRelay(t, outbox.NewRelay(db, cfg, outbox.RelayOptions{
		Retention: time.Millisecond, CleanupInterval: 100 * time.Millisecond,
	}))
	kafkatest.ReadN(t, cfg, cfg.Topic(topic), 2, 15*time.Second)
	testkit.Eventually(t, 10*time.Second, func() bool {
		n, err := db.NewSelect().Table("outbox").Count(context.Background())
		return err == nil && n == 0
	}, "sent rows deleted")
}

func TestIntegrationRelayOutOfOrderCommits(t *testing.T) {
	db, cfg := setup(t)
	startRelay(t, outbox.NewRelay(db, cfg, outbox.RelayOptions{}))
	ctx := context.Background()

	// The first transaction writes first but commits last; its row must not be skipped.
	slow, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = slow.Rollback() }()
	early, err := outbox.AddJSON(ctx, slow, topic, "a", "evently.test.happened.v1", "/test", map[string]int{})
	if err != nil {
		t.Fatal(err)
	}
	late := write(t, ctx, db, "b")
	kafkatest.ReadN(t, cfg, cfg.Topic(topic), 1, 15*time.Second)
	if err := slow.Commit(); err != nil {
		t.Fatal(err)
	}
	got := kafkatest.ReadN(t, cfg, cfg.Topic(topic), 2, 15*time.Second)
	ids := map[string]bool{}
	for _, m := range got {
		ids[kafkatest.Header(m, "ce_id")] = true
	}
	if !ids[early.ID] || !ids[late[0]] {
		t.Fatalf("published %v, want %s and %s", ids, early.ID, late[0])
	}
}

// logRecorder is a slog.Handler that keeps every record, for tests that assert on logs.
type logRecorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	r = r.Clone()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, r)
	return nil
}

func (l *logRecorder) WithAttrs(attrs []slog.Attr) slog.Handler {
	// Records of derived loggers land in the same list.
	return &derivedRecorder{root: l, attrs: attrs}
}

func (l *logRecorder) WithGroup(string) slog.Handler { return l }

// count is how many records have message msg.
func (l *logRecorder) count(msg string) int {
	return len(l.find(msg))
}

// find returns the records with message msg, each as its attributes by key.
func (l *logRecorder) find(msg string) []map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]string
	for _, r := range l.records {
		if r.Message != msg {
			continue
		}
		m := map[string]string{"level": r.Level.String()}
		r.Attrs(func(a slog.Attr) bool {
			m[a.Key] = a.Value.String()
			return true
		})
		out = append(out, m)
	}
	return out
}

// derivedRecorder is a logRecorder's handler with attributes added.
type derivedRecorder struct {
	root  *logRecorder
	attrs []slog.Attr
}

func (d *derivedRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (d *derivedRecorder) Handle(ctx context.Context, r slog.Record) error {
	r = r.Clone()
	r.AddAttrs(d.attrs...)
	return d.root.Handle(ctx, r)
}

func (d *derivedRecorder) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &derivedRecorder{root: d.root, attrs: append(append([]slog.Attr(nil), d.attrs...), attrs...)}
}

func (d *derivedRecorder) WithGroup(string) slog.Handler { return d }
