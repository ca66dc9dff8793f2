package outbox

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"evently.dev/libs/kafka"
	"evently.dev/libs/retry"
)

// lockClass is the first key of the relay's two-key advisory lock; the second is a hash of
// the schema. Two-key locks live apart from the one-key (bigint) locks of libs/migrate.
const lockClass = 0x0eb0

// Per-key order and several replicas
//
// Consumers rely on one key's events (one show's) arriving in the order they were
// written. SKIP LOCKED alone would not keep that with several relays: replica A could
// claim a key's first row and replica B its second, and B could publish first. So only
// one relay per schema is active at a time: it holds a session-level advisory lock on a
// dedicated connection for as long as it works, and the other replicas stand by, trying
// the lock every StandbyInterval. If the active relay dies, PostgreSQL drops its session
// and its lock, and a stand-by takes over within about a second. The active relay
// publishes its batch, oldest first, through an idempotent producer with one in-flight
// request per broker, so a batch keeps created_at order within each partition.
//
// The relay still claims with FOR UPDATE SKIP LOCKED rather than remembering "the last id
// sent": rows whose transactions commit out of order become visible late, and a scan of
// all unsent rows never skips them.
//
// One exception is logged and counted, not prevented: a message the producer rejects on
// its own (larger than the broker accepts) fails while later rows of its key succeed, so
// that one row is retried after them. It is a poison row; it shows in outbox.lag.

// RelayOptions tunes a Relay. Zero values select the defaults in brackets.
type RelayOptions struct {
	// NewProducer creates the producer the relay publishes with [kafka.NewSyncProducer of
	// the relay's Config]. The relay calls it lazily and again after a failed batch, with
	// backoff, so a service starts and keeps its outbox while Kafka is unreachable.
	NewProducer func() (sarama.SyncProducer, error)
	// BatchSize is how many rows one transaction claims and publishes [100].
	BatchSize int
	// PollInterval is the longest the relay sleeps between scans when no NOTIFY arrives
	// [100ms]; NOTIFY (at most one per NotifyInterval per process) usually wakes it sooner.
	PollInterval time.Duration
	// MinBackoff and MaxBackoff bound the exponential wait after a failure [100ms, 5s].
	MinBackoff, MaxBackoff time.Duration
	// StandbyInterval is how often a stand-by replica tries to become active [1s].
	StandbyInterval time.Duration
	// Retention is how long sent rows are kept for inspection [7 days]; negative keeps
	// them forever.
	Retention time.Duration
	// CleanupInterval is how often sent rows older than Retention are deleted [1h].
	CleanupInterval time.Duration
	// Logger receives the relay's warnings [slog.Default()].
	Logger *slog.Logger
	// MeterProvider records the relay's metrics [otel.GetMeterProvider()].
	MeterProvider metric.MeterProvider
}

func (o RelayOptions) withDefaults(cfg kafka.Config) RelayOptions {
	if o.NewProducer == nil {
		o.NewProducer = func() (sarama.SyncProducer, error) { return kafka.NewSyncProducer(cfg) }
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 100
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 100 * time.Millisecond
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 100 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 5 * time.Second
	}
	if o.StandbyInterval <= 0 {
		o.StandbyInterval = time.Second
	}
	if o.Retention == 0 {
		o.Retention = 7 * 24 * time.Hour
	}
	if o.CleanupInterval <= 0 {
		o.CleanupInterval = time.Hour
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MeterProvider == nil {
		o.MeterProvider = otel.GetMeterProvider()
	}
	return o
}

// Relay publishes committed outbox rows to Kafka and marks them sent. Run one per service
// replica; they elect one active relay per schema among themselves (see above).
type Relay struct {
	db   *bun.DB
	cfg  kafka.Config
	opts RelayOptions
	log  *slog.Logger

	producer    sarama.SyncProducer
	lastCleanup time.Time
	active      atomic.Bool

	mu     sync.Mutex // guards schema, read by the metrics callback
	schema string

	published metric.Int64Counter
	failures  metric.Int64Counter
}

// NewRelay prepares a relay for the outbox reachable through db (its search_path selects
// the schema). cfg supplies the brokers and the topic prefix added to every row's topic.
func NewRelay(db *bun.DB, cfg kafka.Config, opts RelayOptions) *Relay {
	opts = opts.withDefaults(cfg)
	return &Relay{db: db, cfg: cfg.WithDefaults(), opts: opts, log: opts.Logger.With("component", "outbox.relay")}
}

// Active reports whether this replica currently holds the relay lock and publishes.
func (r *Relay) Active() bool { return r.active.Load() }

// batchTimeout bounds one claim-publish-mark transaction. It covers the producer's own
// retries (Producer.Timeout and Retry settings in kafka.NewSaramaConfig) with room to spare.
const batchTimeout = 2 * time.Minute

// errStandby means another replica holds the relay lock.
var errStandby = errors.New("another relay is active")

// Run publishes until ctx is done and then returns nil. Database and Kafka failures are
// logged and retried with backoff, never returned: the outbox keeps the events meanwhile.
func (r *Relay) Run(ctx context.Context) error {
	unregister, err := r.registerMetrics()
	if err != nil {
		return err
	}
	defer unregister()
	defer r.dropProducer()

	failures := 0
	standingBy := false
	for {
		err := r.lead(ctx)
		if ctx.Err() != nil {
			return nil
		}
		wait := r.opts.StandbyInterval
		if errors.Is(err, errStandby) {
			if !standingBy {
				r.log.InfoContext(ctx, "outbox relay standing by: another replica is active")
			}
			standingBy, failures = true, 0
		} else {
			standingBy = false
			failures++
			wait = retry.Backoff(r.opts.MinBackoff, r.opts.MaxBackoff, failures)
			r.log.WarnContext(ctx, "outbox relay interrupted", "error", err, "retry_in", wait)
		}
		if !retry.Sleep(ctx, wait) {
			return nil
		}
	}
}

// lead becomes the active relay if no other replica is, and publishes until ctx is done or
// the dedicated connection fails.
func (r *Relay) lead(ctx context.Context) error {
	conn, err := r.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("outbox relay: connection: %w", err)
	}
	var schema string
	var locked bool
	err = conn.QueryRowContext(ctx,
		"SELECT current_schema(), pg_try_advisory_lock(?, hashtext(current_schema()))", lockClass).
		Scan(&schema, &locked)
	if err != nil || !locked {
		_ = conn.Close()
		if err != nil {
			return fmt.Errorf("outbox relay: try lock: %w", err)
		}
		return errStandby
	}
	// The lock and the LISTEN belong to this session: never hand the connection back to
	// the pool, close it, which also releases both.
	defer func() {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		_ = conn.Close()
	}()
	r.mu.Lock()
	r.schema = schema
	r.mu.Unlock()
	r.active.Store(true)
	defer r.active.Store(false)
	r.log.InfoContext(ctx, "outbox relay active", "schema", schema)

	listening := r.listen(ctx, conn, channelPrefix+schema)
	failures := 0
	for {
		if ctx.Err() != nil {
			return nil
		}
		r.cleanup(ctx, conn)
		n, err := r.publishBatch(ctx, conn)
		if err != nil {
			var pe *publishError
			if !errors.As(err, &pe) {
				return err
			}
			failures++
			wait := retry.Backoff(r.opts.MinBackoff, r.opts.MaxBackoff, failures)
			r.log.WarnContext(ctx, "outbox publish failed", "error", err, "retry_in", wait)
			if !retry.Sleep(ctx, wait) {
				return nil
			}
			continue
		}
		failures = 0
		if n == r.opts.BatchSize {
			continue // more may be waiting
		}
		if err := r.wait(ctx, conn, listening); err != nil {
			return err
		}
	}
}

// listen subscribes the session to the schema's NOTIFY channel. It needs the pgx driver;
// with any other driver the relay falls back to polling, which is correct, only slower.
func (r *Relay) listen(ctx context.Context, conn bun.Conn, channel string) bool {
	ok := false
	_ = conn.Raw(func(dc any) error {
		_, ok = dc.(interface{ Conn() *pgx.Conn })
		return nil
	})
	if !ok {
		r.log.InfoContext(ctx, "outbox relay polls: driver is not pgx")
		return false
	}
	// LISTEN takes no bind parameter; the channel is quoted as an identifier.
	if _, err := conn.ExecContext(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil { //nolint:gosec // quoted identifier
		r.log.WarnContext(ctx, "outbox relay polls: listen failed", "error", err)
		return false
	}
	return true
}

// wait returns after a notification, after PollInterval, or when ctx is done.
func (r *Relay) wait(ctx context.Context, conn bun.Conn, listening bool) error {
	if !listening {
		retry.Sleep(ctx, r.opts.PollInterval)
		return nil
	}
	return conn.Raw(func(dc any) error {
		pc, ok := dc.(interface{ Conn() *pgx.Conn })
		if !ok {
			return errors.New("outbox relay: driver is not pgx")
		}
		wctx, cancel := context.WithTimeout(ctx, r.opts.PollInterval)
		defer cancel()
		_, err := pc.Conn().WaitForNotification(wctx)
		if err != nil && wctx.Err() == nil {
			// Not our timeout: the session is broken. Raw discards the connection.
			return fmt.Errorf("outbox relay: wait for notification: %w: %w", driver.ErrBadConn, err)
		}
		return nil
	})
}

type outboxRow struct {
	ID        string    `bun:"id"`
	Topic     string    `bun:"topic"`
	Key       string    `bun:"key"`
	Type      string    `bun:"type"`
	Source    string    `bun:"source"`
	EventTime time.Time `bun:"event_time"`
	Payload   string    `bun:"payload"`
	Headers   string    `bun:"headers"`
}

// publishError is a Kafka failure: the rows stay unsent and are retried after a backoff,
// on the same connection.
type publishError struct {
	failed, total int
	err           error
}

func (e *publishError) Error() string {
	if e.total == 0 {
		return e.err.Error()
	}
	return fmt.Sprintf("%d of %d messages not published: %v", e.failed, e.total, e.err)
}

func (e *publishError) Unwrap() error { return e.err }

// publishBatch claims, publishes and marks up to BatchSize rows in one transaction and
// returns how many rows it claimed.
func (r *Relay) publishBatch(ctx context.Context, conn bun.Conn) (int, error) {
	if r.producer == nil {
		p, err := r.opts.NewProducer()
		if err != nil {
			return 0, &publishError{err: fmt.Errorf("create producer: %w", err)}
		}
		r.producer = p
	}

	// A batch runs to its end even when ctx is cancelled (shutdown, losing the lead):
	// cancelling between sending and marking would roll the mark back and publish the
	// batch a second time. database/sql rolls a transaction back when its context ends,
	// hence a detached context, bounded so a hung server cannot keep the relay forever.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), batchTimeout)
	defer cancel()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("outbox relay: begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()

	var rows []outboxRow
	const claim = `SELECT id::text AS id, topic, key, type, source, event_time,
			payload::text AS payload, headers::text AS headers
		FROM outbox WHERE sent_at IS NULL
		ORDER BY created_at, id
		LIMIT ? FOR UPDATE SKIP LOCKED`
	if err := tx.NewRaw(claim, r.opts.BatchSize).Scan(ctx, &rows); err != nil {
		return 0, fmt.Errorf("outbox relay: claim: %w", err)
	}
	if len(rows) == 0 {
		return 0, tx.Commit()
	}

	msgs := make([]*sarama.ProducerMessage, len(rows))
	for i, row := range rows {
		e := kafka.Event{
			ID: row.ID, Type: row.Type, Source: row.Source, Time: row.EventTime,
			Topic: r.cfg.Topic(row.Topic), Key: row.Key, Data: json.RawMessage(row.Payload),
		}
		if err := json.Unmarshal([]byte(row.Headers), &e.Headers); err != nil {
			r.log.WarnContext(ctx, "outbox row has unreadable headers", "id", row.ID, "error", err)
		}
		msgs[i] = e.ProducerMessage()
		msgs[i].Metadata = i
	}

	// The claim transaction stays open while the batch is sent. That is bounded (dial
	// timeout, producer retries and Producer.Timeout, seconds) and it is what makes the
	// claim and the "sent" mark one step: a relay that dies here leaves the rows unsent,
	// to be sent again, never marked without having been sent.
	failed := map[int]error{}
	if err := r.producer.SendMessages(msgs); err != nil {
		var perrs sarama.ProducerErrors
		if errors.As(err, &perrs) {
			for _, pe := range perrs {
				if i, ok := pe.Msg.Metadata.(int); ok {
					failed[i] = pe.Err
				}
			}
		}
		if len(failed) == 0 { // not per message: assume none went out
			for i := range rows {
				failed[i] = err
			}
		}
	}

	var sent []string
	byErr := map[string][]string{}
	for i, row := range rows {
		if ferr, ok := failed[i]; ok {
			byErr[ferr.Error()] = append(byErr[ferr.Error()], row.ID)
			continue
		}
		sent = append(sent, row.ID)
	}
	if len(sent) > 0 {
		if _, err := tx.ExecContext(ctx, `UPDATE outbox
			SET sent_at = clock_timestamp(), attempts = attempts + 1, last_error = NULL
			WHERE id IN (?)`, bun.List(sent)); err != nil {
			return 0, fmt.Errorf("outbox relay: mark sent: %w", err)
		}
	}
	for msg, ids := range byErr {
		if _, err := tx.ExecContext(ctx, `UPDATE outbox
			SET attempts = attempts + 1, last_error = ?
			WHERE id IN (?)`, msg, bun.List(ids)); err != nil {
			return 0, fmt.Errorf("outbox relay: record failure: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		// The messages went out but stay unsent here: they will be sent again, and the
		// consumers' inbox drops the duplicates.
		return 0, fmt.Errorf("outbox relay: commit: %w", err)
	}

	perTopic := map[string]int64{}
	for i, m := range msgs {
		if _, ok := failed[i]; !ok {
			perTopic[m.Topic]++
		}
	}
	for topic, n := range perTopic {
		r.published.Add(ctx, n, metric.WithAttributes(attribute.String("topic", topic)))
	}
	if len(failed) > 0 {
		r.failures.Add(ctx, int64(len(failed)))
		if len(failed) == len(rows) {
			// Nothing went through: start over with a fresh client rather than trusting
			// one whose connections may be stuck.
			r.dropProducer()
		}
		var first error
		for _, e := range failed {
			first = e
			break
		}
		return len(rows), &publishError{failed: len(failed), total: len(rows), err: first}
	}
	return len(rows), nil
}

func (r *Relay) dropProducer() {
	if r.producer != nil {
		if err := r.producer.Close(); err != nil {
			r.log.Warn("outbox relay: close producer", "error", err)
		}
		r.producer = nil
	}
}

// cleanup deletes sent rows older than Retention, at most once per CleanupInterval, in
// small statements so it never holds many locks or a long transaction.
func (r *Relay) cleanup(ctx context.Context, conn bun.Conn) {
	if r.opts.Retention < 0 || time.Since(r.lastCleanup) < r.opts.CleanupInterval {
		return
	}
	r.lastCleanup = time.Now()
	const chunk = 5000
	cutoff := time.Now().Add(-r.opts.Retention)
	total := int64(0)
	for ctx.Err() == nil {
		res, err := conn.ExecContext(ctx, `DELETE FROM outbox WHERE id IN (
			SELECT id FROM outbox WHERE sent_at < ? LIMIT ?)`, cutoff, chunk)
		if err != nil {
			r.log.WarnContext(ctx, "outbox cleanup failed", "error", err)
			return
		}
		n, _ := res.RowsAffected()
		total += n
		if n < chunk {
			break
		}
	}
	if total > 0 {
		r.log.InfoContext(ctx, "outbox cleanup", "deleted", total)
	}
}

// registerMetrics creates the relay's instruments. The unsent-rows gauges are observed
// only by the active replica, so a dashboard does not add up copies from stand-bys.
func (r *Relay) registerMetrics() (func(), error) {
	meter := r.opts.MeterProvider.Meter("evently.dev/libs/outbox")
	var err error
	if r.published, err = meter.Int64Counter("outbox.published",
		metric.WithDescription("Outbox events published to Kafka."), metric.WithUnit("{event}")); err != nil {
		return nil, fmt.Errorf("outbox metrics: %w", err)
	}
	if r.failures, err = meter.Int64Counter("outbox.publish.failures",
		metric.WithDescription("Outbox events whose publishing failed and will be retried."), metric.WithUnit("{event}")); err != nil {
		return nil, fmt.Errorf("outbox metrics: %w", err)
	}
	unsent, err := meter.Int64ObservableGauge("outbox.unsent",
		metric.WithDescription("Outbox rows not yet published."), metric.WithUnit("{event}"))
	if err != nil {
		return nil, fmt.Errorf("outbox metrics: %w", err)
	}
	lag, err := meter.Float64ObservableGauge("outbox.lag",
		metric.WithDescription("Age of the oldest unpublished outbox row."), metric.WithUnit("s"))
	if err != nil {
		return nil, fmt.Errorf("outbox metrics: %w", err)
	}
	reg, err := meter.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		if !r.Active() {
			return nil
		}
		r.mu.Lock()
		attrs := metric.WithAttributes(attribute.String("schema", r.schema))
		r.mu.Unlock()
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		var n int64
		var age float64
		err := r.db.QueryRowContext(ctx, `SELECT count(*),
			coalesce(extract(epoch FROM clock_timestamp() - min(created_at)), 0)::float8
			FROM outbox WHERE sent_at IS NULL`).Scan(&n, &age)
		if err != nil {
			return fmt.Errorf("outbox lag: %w", err)
		}
		o.ObserveInt64(unsent, n, attrs)
		o.ObserveFloat64(lag, age, attrs)
		return nil
	}, unsent, lag)
	if err != nil {
		return nil, fmt.Errorf("outbox metrics: %w", err)
	}
	return func() { _ = reg.Unregister() }, nil
}
