package consumer_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/uptrace/bun"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/trace"

	"evently.dev/libs/consumer"
	"evently.dev/libs/kafka"
	"evently.dev/libs/kafka/kafkatest"
	"evently.dev/libs/migrate"
	"evently.dev/libs/testkit"
)

const (
	schema = "svc"
	topic  = "things.v1"
)

func setup(t *testing.T) (*bun.DB, kafka.Config) {
	t.Helper()
	db := testkit.DB(t, schema)
	ctx := context.Background()
	if _, err := migrate.Up(ctx, db, schema, consumer.Migrations); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	// No unique key: a second application of an event would show as a second row.
	if _, err := db.ExecContext(ctx, `CREATE TABLE effects (event_id text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())`); err != nil {
		t.Fatal(err)
	}
	cfg := kafkatest.Config(t)
	kafkatest.Topics(t, cfg, topic)
	return db, cfg
}

func applyEffect(ctx context.Context, tx bun.Tx, e kafka.Event) error {
	_, err := tx.ExecContext(ctx, "INSERT INTO effects (event_id) VALUES (?)", e.ID)
	return err
}

func count(t *testing.T, db *bun.DB, q string) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(context.Background(), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// publish sends events straight to Kafka, as another service's relay would.
func publish(t *testing.T, p sarama.SyncProducer, events ...kafka.Event) {
	t.Helper()
	for _, e := range events {
		if _, _, err := p.SendMessage(e.ProducerMessage()); err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
}

func event(t *testing.T, cfg kafka.Config, key, typ string) kafka.Event {
	t.Helper()
	e, err := kafka.NewEvent(cfg.Topic(topic), key, typ, "/test", map[string]string{"key": key})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// start runs r until the returned stop is called or the test ends; stop waits for Run.
func start(t *testing.T, r *consumer.Runner) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("runner Run: %v", err)
				}
			case <-time.After(15 * time.Second):
				t.Errorf("runner did not stop")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// outcomes reads the runner's consumer.messages counter by outcome.
func outcomes(t *testing.T, reader *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if sum, ok := m.Data.(metricdata.Sum[int64]); ok && m.Name == "consumer.messages" {
				for _, p := range sum.DataPoints {
					v, _ := p.Attributes.Value("outcome")
					out[v.AsString()] += p.Value
				}
			}
		}
	}
	return out
}

func TestIntegrationRunnerExactlyOnceAcrossRestartAndRedelivery(t *testing.T) {
	db, cfg := setup(t)
	p := kafkatest.Producer(t, cfg)
	const n = 120
	var events []kafka.Event
	for i := range n {
		e := event(t, cfg, fmt.Sprintf("show-%d", i%6), "evently.test.happened.v1")
		events = append(events, e)
		if i%10 == 0 {
			events = append(events, e) // the same ce_id delivered twice
		}
	}
	publish(t, p, events...)
	group := kafkatest.Group(t, cfg)

	var calls atomic.Int64
	handler := func(ctx context.Context, tx bun.Tx, e kafka.Event) error {
		calls.Add(1)
		time.Sleep(3 * time.Millisecond) // slow enough to stop the first runner mid-stream
		return applyEffect(ctx, tx, e)
	}
	newRunner := func(reader *sdkmetric.ManualReader) *consumer.Runner {
		r, err := consumer.New(cfg, db, consumer.Options{
			Group: group, Topics: []string{topic}, Handler: handler,
			MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
			MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)),
		})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	// 1. Stop a runner mid-stream.
	stop := start(t, newRunner(sdkmetric.NewManualReader()))
	testkit.Eventually(t, 30*time.Second, func() bool { return count(t, db, "SELECT count(*) FROM effects") >= n/4 }, "first runner makes progress")
	stop()
	mid := count(t, db, "SELECT count(*) FROM effects")
	t.Logf("first runner applied %d of %d events before it stopped", mid, n)

	// 2. A new runner of the same group resumes from the committed offsets.
	r2 := newRunner(sdkmetric.NewManualReader())
	stop = start(t, r2)
	testkit.Eventually(t, 30*time.Second, func() bool { return count(t, db, "SELECT count(*) FROM effects") >= n }, "all events applied")
	testkit.Eventually(t, 10*time.Second, r2.Ready, "runner ready")
	stop()
	if r2.Ready() {
		t.Error("runner still ready after it stopped")
	}

	// 3. Forget the group's offsets: everything is delivered again and nothing is applied again.
	resetOffsets(t, cfg, group)
	calls.Store(0)
	reader := sdkmetric.NewManualReader()
	start(t, newRunner(reader))
	testkit.Eventually(t, 30*time.Second, func() bool { return outcomes(t, reader)["duplicate"] >= int64(len(events)) }, "every message redelivered")
	if o := outcomes(t, reader); o["processed"] != 0 {
		t.Fatalf("replay applied events again: %v", o)
	}

	if got := count(t, db, "SELECT count(*) FROM effects"); got != n {
		t.Fatalf("%d effects, want exactly %d", got, n)
	}
	if got := count(t, db, "SELECT count(DISTINCT event_id) FROM effects"); got != n {
		t.Fatalf("%d distinct effects, want %d", got, n)
	}
	if got := count(t, db, "SELECT count(*) FROM inbox"); got != n {
		t.Fatalf("%d inbox rows, want %d", got, n)
	}
	if c := calls.Load(); c != 0 {
		t.Fatalf("handler called %d times during the replay, want 0 (duplicates must not reach it)", c)
	}
}

func resetOffsets(t *testing.T, cfg kafka.Config, group string) {
	t.Helper()
	sc, err := kafka.NewSaramaConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := sarama.NewClusterAdmin(cfg.Brokers, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = admin.Close() }()
	for p := range cfg.Partitions {
		if err := admin.DeleteConsumerGroupOffset(cfg.Topic(group), cfg.Topic(topic), p); err != nil {
			t.Fatalf("delete offset of partition %d: %v", p, err)
		}
	}
}

func TestIntegrationRunnerDeadLettersPoison(t *testing.T) {
	db, cfg := setup(t)
	p := kafkatest.Producer(t, cfg)
	const (
		good      = "evently.test.good.v1"
		poison    = "evently.test.poison.v1"
		permanent = "evently.test.unknown.v1"
	)
	// One key: one partition, so the good events after each bad one prove the partition
	// keeps flowing.
	traced := event(t, cfg, "k", good)
	traced.Headers = map[string]string{"traceparent": "00-0102030405060708090a0b0c0d0e0f10-0102030405060708-01"}
	bad, perm := event(t, cfg, "k", poison), event(t, cfg, "k", permanent)
	goods := []kafka.Event{traced, event(t, cfg, "k", good), event(t, cfg, "k", good)}
	publish(t, p, goods[0], bad, goods[1])
	malformed := &sarama.ProducerMessage{Topic: cfg.Topic(topic), Key: sarama.StringEncoder("k"), Value: sarama.StringEncoder(`{"no":"envelope"}`)}
	if _, _, err := p.SendMessage(malformed); err != nil {
		t.Fatal(err)
	}
	publish(t, p, perm, goods[2])

	var mu sync.Mutex
	attempts := map[string]int{}
	var traceID trace.TraceID
	handler := func(ctx context.Context, tx bun.Tx, e kafka.Event) error {
		mu.Lock()
		attempts[e.ID]++
		if e.ID == traced.ID {
			traceID = trace.SpanContextFromContext(ctx).TraceID()
		}
		mu.Unlock()
		switch e.Type {
		case poison:
			if err := applyEffect(ctx, tx, e); err != nil { // rolled back with the failure
				return err
			}
			return errors.New("boom")
		case permanent:
			return consumer.Permanent(errors.New("unknown event type"))
		}
		return applyEffect(ctx, tx, e)
	}
	r, err := consumer.New(cfg, db, consumer.Options{
		Group: kafkatest.Group(t, cfg), Topics: []string{topic}, Handler: handler,
		MaxAttempts: 3, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	start(t, r)

	dead := kafkatest.ReadN(t, cfg, cfg.DLQTopic(topic), 3, 30*time.Second)
	testkit.Eventually(t, 10*time.Second, func() bool { return count(t, db, "SELECT count(*) FROM effects") >= 3 }, "good events applied")

	wantDead := []struct {
		id, errPart string
		offset      int64
	}{{bad.ID, "boom", 1}, {"", "missing ce_id", 3}, {perm.ID, "unknown event type", 4}}
	for i, w := range wantDead {
		m := dead[i]
		if id := kafkatest.Header(m, "ce_id"); id != w.id {
			t.Errorf("dead letter %d: ce_id %q, want %q", i, id, w.id)
		}
		if e := kafkatest.Header(m, consumer.HeaderDLQError); !strings.Contains(e, w.errPart) {
			t.Errorf("dead letter %d: %s = %q, want it to mention %q", i, consumer.HeaderDLQError, e, w.errPart)
		}
		if got := kafkatest.Header(m, consumer.HeaderDLQOriginalTopic); got != cfg.Topic(topic) {
			t.Errorf("dead letter %d: original topic %q", i, got)
		}
		if got := kafkatest.Header(m, consumer.HeaderDLQOffset); got != strconv.FormatInt(w.offset, 10) {
			t.Errorf("dead letter %d: offset %q, want %d", i, got, w.offset)
		}
		if kafkatest.Header(m, consumer.HeaderDLQPartition) == "" || kafkatest.Header(m, consumer.HeaderDLQConsumer) == "" {
			t.Errorf("dead letter %d: partition or consumer header missing", i)
		}
		if string(m.Key) != "k" {
			t.Errorf("dead letter %d: key %q", i, m.Key)
		}
	}

	mu.Lock()
	defer mu.Unlock()
	if attempts[bad.ID] != 3 {
		t.Errorf("poison tried %d times, want MaxAttempts=3", attempts[bad.ID])
	}
	if attempts[perm.ID] != 1 {
		t.Errorf("permanent failure tried %d times, want 1", attempts[perm.ID])
	}
	if traceID.String() != "0102030405060708090a0b0c0d0e0f10" {
		t.Errorf("handler span trace id %s, want the producer's", traceID)
	}
	if n := count(t, db, "SELECT count(*) FROM effects"); n != 3 {
		t.Errorf("%d effects, want 3: a failed attempt's writes must roll back", n)
	}
	if n := count(t, db, fmt.Sprintf("SELECT count(*) FROM inbox WHERE event_id IN ('%s', '%s')", bad.ID, perm.ID)); n != 0 {
		t.Errorf("dead-lettered events recorded in the inbox")
	}
}

func TestIntegrationRunnerStartsWithoutBroker(t *testing.T) {
	db := testkit.DB(t, schema)
	cfg := kafkatest.Config(t)
	cfg.Brokers = []string{"127.0.0.1:1"}
	r, err := consumer.New(cfg, db, consumer.Options{
		Group: "g", Topics: []string{topic}, Handler: applyEffect,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := r.Run(ctx); err != nil {
		t.Fatalf("Run without a broker = %v, want it to retry until shutdown and return nil", err)
	}
	if r.Ready() {
		t.Fatal("ready without a broker")
	}
}

// Events of types the handler did not ask for are acknowledged without touching the
// database: no inbox row, no effect — and the ones it asked for still apply once.
func TestIntegrationRunnerSkipsUnwantedTypes(t *testing.T) {
	db, cfg := setup(t)
	group := kafkatest.Group(t, cfg)
	var seen atomic.Int64
	r, err := consumer.New(cfg, db, consumer.Options{Group: group, Topics: []string{topic},
		Types: []string{"evently.test.wanted.v1"},
		Handler: func(ctx context.Context, tx bun.Tx, e kafka.Event) error {
			if e.Type != "evently.test.wanted.v1" {
				return consumer.Permanent(fmt.Errorf("handler got unwanted type %s", e.Type))
			}
			seen.Add(1)
			return applyEffect(ctx, tx, e)
		}})
	if err != nil {
		t.Fatal(err)
	}
	p := kafkatest.Producer(t, cfg)
	var events []kafka.Event
	for i := range 20 {
		typ := "evently.test.noise.v1"
		if i%4 == 0 {
			typ = "evently.test.wanted.v1"
		}
		events = append(events, event(t, cfg, "k"+strconv.Itoa(i%3), typ))
	}
	publish(t, p, events...)
	start(t, r)
	testkit.Eventually(t, 30*time.Second, func() bool { return count(t, db, "SELECT count(*) FROM effects") == 5 }, "wanted events applied")
	// Settle: the noise after the last wanted event must be consumed too, without rows.
	publish(t, p, event(t, cfg, "k0", "evently.test.wanted.v1"))
	testkit.Eventually(t, 30*time.Second, func() bool { return count(t, db, "SELECT count(*) FROM effects") == 6 }, "last wanted event applied")
	if n := count(t, db, "SELECT count(*) FROM inbox"); n != 6 {
		t.Fatalf("inbox has %d rows, want 6 (skipped types must not be recorded)", n)
	}
	if seen.Load() != 6 {
		t.Fatalf("handler saw %d events, want 6", seen.Load())
	}
}

// TestIntegrationRunnerSerializesTransactions checks Options.Serialize: while one of the
// group's transactions runs, it holds the group's advisory lock, so no other transaction
// of the group (another partition or replica) can apply at the same time.
func TestIntegrationRunnerSerializesTransactions(t *testing.T) {
	db, cfg := setup(t)
	group := kafkatest.Group(t, cfg)
	inside := make(chan struct{}, 1)
	release := make(chan struct{})
	r, err := consumer.New(cfg, db, consumer.Options{Group: group, Topics: []string{topic}, Serialize: group,
		Handler: func(ctx context.Context, tx bun.Tx, e kafka.Event) error {
			select {
			case inside <- struct{}{}:
				<-release
			default:
			}
			return applyEffect(ctx, tx, e)
		}})
	if err != nil {
		t.Fatal(err)
	}
	publish(t, kafkatest.Producer(t, cfg), event(t, cfg, "k1", "evently.test.wanted.v1"))
	start(t, r)
	select {
	case <-inside:
	case <-time.After(30 * time.Second):
		t.Fatal("the handler never ran")
	}
	// Another session asking for the same lock must not get it while the batch runs.
	var got bool
	if err := db.QueryRowContext(context.Background(), "SELECT pg_try_advisory_lock(hashtext(?))", "consumer:"+group).Scan(&got); err != nil {
		t.Fatal(err)
	}
	close(release)
	if got {
		t.Fatal("the group's lock was free while one of its transactions applied an event")
	}
	testkit.Eventually(t, 30*time.Second, func() bool { return count(t, db, "SELECT count(*) FROM effects") == 1 }, "event applied")
}
