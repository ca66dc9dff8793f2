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
// Failing rows, parking and per-key order
//
// A send can fail for every row alike (the broker is down, the leader moves): that is an
// outage, nothing is wrong with the rows, and the whole relay backs off and tries the same
// rows again; an outage never counts against a row, however long it lasts. Or it fails for
// one row's own reason (rowFault: its topic does not exist or is invalid, it is larger
// than the producer or broker accepts): such a row gets a backoff of its own
// (next_attempt_at) and after MaxAttempts of these failures it is parked (parked_at set,
// an error logged, outbox.parked counts it) and no longer sent until an operator re-drives
// it (Redrive, the admin listener's /outbox/parked routes).
//
// Per-key order is kept for rows that flow, not around a failing one: the rows written
// after a failing row, including later rows of its key, are published while it backs off
// or is parked; holding its key back instead would stall a show's whole stream for a row
// that, by the errors counted, cannot be sent as it is. So a re-driven row arrives after
// its key's later events, and its consumers must accept it late (they apply by event id
// and check state, as they do for any redelivery) or the operator drops it instead.

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
	// Linger is how long the relay lets rows gather after a batch that was not full before
	// it claims again [20ms]; negative claims at once. Each claim is a transaction and a
	// produce request: in a rush the relay claimed every few milliseconds, a dozen rows at
	// a time. Events reach Kafka up to Linger later.
	Linger time.Duration
	// MinBackoff and MaxBackoff bound the exponential wait after a failure [100ms, 5s].
	MinBackoff, MaxBackoff time.Duration
	// StandbyInterval is how often a stand-by replica tries to become active [1s].
	StandbyInterval time.Duration
	// Retention is how long sent rows are kept for inspection [7 days]; negative keeps
	// them forever.
	Retention time.Duration
	// CleanupInterval is how often sent rows older than Retention are deleted [1h].
	CleanupInterval time.Duration
	// MaxAttempts is how many failed sends of a row's own (see rowFault) park it
	// [DefaultMaxAttempts]. Outages are not counted.
	MaxAttempts int
	// UnhealthyAfter is how long the active relay may fail to reach the broker before
	// Check reports it [30s]. Shorter failures (one lost send, a leader moving) are not
	// reported, so readiness does not flap.
	UnhealthyAfter time.Duration
	// Logger receives the relay's warnings [slog.Default()].
	Logger *slog.Logger
	// MeterProvider records the relay's metrics [otel.GetMeterProvider()].
	MeterProvider metric.MeterProvider
}

// DefaultMaxAttempts is RelayOptions.MaxAttempts when unset: with the row's own backoff
// (MinBackoff doubling up to MaxBackoff) about half a minute of failing sends, enough to
// ride out a topic created a little after the first event that names it.
const DefaultMaxAttempts = 10

// Config is the outbox's part of a service's environment.
type Config struct {
	// MaxAttempts is RelayOptions.MaxAttempts.
	MaxAttempts int `envconfig:"OUTBOX_MAX_ATTEMPTS" default:"10"`
	// Linger is RelayOptions.Linger.
	Linger time.Duration `envconfig:"OUTBOX_RELAY_LINGER" default:"20ms"`
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
	if o.Linger == 0 {
		o.Linger = 20 * time.Millisecond
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
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.UnhealthyAfter <= 0 {
		o.UnhealthyAfter = 30 * time.Second
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

	// failingSince is when the active relay's current run of failures to reach the broker
	// began (UnixNano), 0 while it publishes.
	failingSince atomic.Int64
	// sendingSince is when the send in flight began (UnixNano), 0 between sends: a frozen
	// broker holds a send for up to the producer's timeouts before it fails.
	sendingSince atomic.Int64

	published metric.Int64Counter
	failures  metric.Int64Counter
	parked    metric.Int64Counter
}

// NewRelay prepares a relay for the outbox reachable through db (its search_path selects
// the schema). cfg supplies the brokers and the topic prefix added to every row's topic.
func NewRelay(db *bun.DB, cfg kafka.Config, opts RelayOptions) *Relay {
	opts = opts.withDefaults(cfg)
	return &Relay{db: db, cfg: cfg.WithDefaults(), opts: opts, log: opts.Logger.With("component", "outbox.relay")}
}

// Active reports whether this replica currently holds the relay lock and publishes.
func (r *Relay) Active() bool { return r.active.Load() }

// Check reports an error while the active relay has failed to reach the broker for longer
// than UnhealthyAfter: the service's events wait in the outbox and are not delivered. A
// stand-by replica publishes nothing and is healthy. For readiness checks.
func (r *Relay) Check(context.Context) error {
	if since := r.failingSince.Load(); since != 0 {
		if d := time.Since(time.Unix(0, since)); d > r.opts.UnhealthyAfter {
			return fmt.Errorf("outbox relay cannot publish to kafka for %s", d.Round(time.Second))
		}
	}
	if since := r.sendingSince.Load(); since != 0 {
		if d := time.Since(time.Unix(0, since)); d > r.opts.UnhealthyAfter {
			return fmt.Errorf("outbox relay: a send to kafka has been waiting for %s", d.Round(time.Second))
		}
	}
	return nil
}

// brokerFailed notes a failed attempt to reach the broker; the first of a run starts it.
func (r *Relay) brokerFailed() { r.failingSince.CompareAndSwap(0, time.Now().UnixNano()) }

// brokerOK ends a run of failures.
func (r *Relay) brokerOK() { r.failingSince.Store(0) }

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
	defer r.brokerOK() // a stand-by publishes nothing; the next leader judges afresh
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
			r.brokerFailed()
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
		if n > 0 && r.opts.Linger > 0 {
			// Rows are arriving: let the next batch fill a little instead of claiming a
			// handful at a time.
			if !retry.Sleep(ctx, r.opts.Linger) {
				return nil
			}
			continue
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

// publishError is an outage: the broker could not be reached or took none of the batch for
// reasons of its own. The rows stay unsent, count no failure of their own, and the relay
// backs off and tries again on the same connection.
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

// rowFault reports whether a send failed because of the message itself, so retrying it
// unchanged will keep failing however healthy the broker is: larger than the producer
// allows (sarama refuses it before sending, as a ConfigurationError) or than the broker
// accepts, a topic that does not exist (auto-creation is off) or may not be named so, or
// a record the broker refuses. Everything else (connections, leaders, timeouts) is an
// outage and never parks a row.
func rowFault(err error) bool {
	var ce sarama.ConfigurationError
	if errors.As(err, &ce) {
		return true
	}
	var ke sarama.KError
	if !errors.As(err, &ke) {
		return false
	}
	switch ke {
	case sarama.ErrMessageSizeTooLarge, sarama.ErrMessageSetSizeTooLarge, sarama.ErrInvalidMessage,
		sarama.ErrInvalidTopic, sarama.ErrUnknownTopicOrPartition, sarama.ErrTopicAuthorizationFailed,
		sarama.ErrInvalidTimestamp, sarama.ErrPolicyViolation, sarama.ErrInvalidRecord:
		return true
	}
	return false
}

// publishBatch claims, publishes and marks up to BatchSize rows in one transaction and
// returns how many rows it claimed. It returns a *publishError on an outage, after
// recording the attempt; rows that failed for their own reason are recorded (and parked
// after MaxAttempts) without an error, so the relay does not slow down for them.
func (r *Relay) publishBatch(ctx context.Context, conn bun.Conn) (int, error) {
	if err := r.ensureProducer(); err != nil {
		return 0, err
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

	rows, err := r.claim(ctx, tx)
	if err != nil || len(rows) == 0 {
		if err == nil {
			err = tx.Commit()
		}
		return 0, err
	}
	// The claim transaction stays open while the batch is sent. That is bounded (dial
	// timeout, producer retries and Producer.Timeout, seconds) and it is what makes the
	// claim and the "sent" mark one step: a relay that dies here leaves the rows unsent,
	// to be sent again, never marked without having been sent.
	msgs := r.messages(ctx, rows)
	failed := r.send(msgs)
	parked, err := r.mark(ctx, tx, rows, failed)
	if err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		// The messages went out but stay unsent here: they will be sent again, and the
		// consumers' inbox drops the duplicates.
		return 0, fmt.Errorf("outbox relay: commit: %w", err)
	}
	return len(rows), r.report(ctx, rows, msgs, failed, parked)
}

// ensureProducer creates the producer when there is none (first batch, or after an outage
// dropped it).
func (r *Relay) ensureProducer() error {
	if r.producer != nil {
		return nil
	}
	p, err := r.opts.NewProducer()
	if err != nil {
		return &publishError{err: fmt.Errorf("create producer: %w", err)}
	}
	r.producer = p
	return nil
}

// claim locks the oldest rows that are due: not sent, not parked, and not waiting out a
// backoff of their own. ORDER BY names the table's columns: a bare "id" is the text alias
// of the select list, which the pending index cannot serve, so PostgreSQL sorted every
// pending row through a bitmap scan that never skips the index's dead entries.
func (r *Relay) claim(ctx context.Context, tx bun.Tx) ([]outboxRow, error) {
	var rows []outboxRow
	const claim = `SELECT id::text AS id, topic, key, type, source, event_time,
			payload::text AS payload, headers::text AS headers
		FROM outbox
		WHERE sent_at IS NULL AND parked_at IS NULL
			AND (next_attempt_at IS NULL OR next_attempt_at <= clock_timestamp())
		ORDER BY outbox.created_at, outbox.id
		LIMIT ? FOR UPDATE SKIP LOCKED`
	if err := tx.NewRaw(claim, r.opts.BatchSize).Scan(ctx, &rows); err != nil {
		return nil, fmt.Errorf("outbox relay: claim: %w", err)
	}
	return rows, nil
}

// messages turns rows into producer messages; Metadata holds each row's index.
func (r *Relay) messages(ctx context.Context, rows []outboxRow) []*sarama.ProducerMessage {
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
	return msgs
}

// send publishes msgs and returns the error of each one that failed, by index.
func (r *Relay) send(msgs []*sarama.ProducerMessage) map[int]error {
	failed := map[int]error{}
	r.sendingSince.Store(time.Now().UnixNano())
	err := r.producer.SendMessages(msgs)
	r.sendingSince.Store(0)
	if err == nil {
		return failed
	}
	var perrs sarama.ProducerErrors
	if errors.As(err, &perrs) {
		for _, pe := range perrs {
			if i, ok := pe.Msg.Metadata.(int); ok {
				failed[i] = pe.Err
			}
		}
	}
	if len(failed) == 0 { // not per message: assume none went out
		for i := range msgs {
			failed[i] = err
		}
	}
	return failed
}

// mark records the batch's outcome in tx: sent rows are marked sent, rows that failed for
// their own reason count a failure, back off and are parked at MaxAttempts, and rows hit
// by an outage only note the attempt. It returns the rows parked now, by id.
func (r *Relay) mark(ctx context.Context, tx bun.Tx, rows []outboxRow, failed map[int]error) (map[string]string, error) {
	var sent []string
	outage := map[string][]string{} // error -> ids
	own := map[string][]string{}
	for i, row := range rows {
		ferr, ok := failed[i]
		switch {
		case !ok:
			sent = append(sent, row.ID)
		case rowFault(ferr):
			own[ferr.Error()] = append(own[ferr.Error()], row.ID)
		default:
			outage[ferr.Error()] = append(outage[ferr.Error()], row.ID)
		}
	}
	if len(sent) > 0 {
		if _, err := tx.ExecContext(ctx, `UPDATE outbox
			SET sent_at = clock_timestamp(), attempts = attempts + 1, last_error = NULL, next_attempt_at = NULL
			WHERE id IN (?)`, bun.List(sent)); err != nil {
			return nil, fmt.Errorf("outbox relay: mark sent: %w", err)
		}
	}
	for msg, ids := range outage {
		if _, err := tx.ExecContext(ctx, `UPDATE outbox
			SET attempts = attempts + 1, last_error = ?
			WHERE id IN (?)`, msg, bun.List(ids)); err != nil {
			return nil, fmt.Errorf("outbox relay: record failure: %w", err)
		}
	}
	parked := map[string]string{}
	for msg, ids := range own {
		// The row's own backoff doubles from MinBackoff up to MaxBackoff with its failures.
		var now []string
		if err := tx.NewRaw(`WITH failed AS (UPDATE outbox
			SET attempts = attempts + 1, failures = failures + 1, last_error = ?,
				next_attempt_at = clock_timestamp()
					+ least(? * power(2, least(failures, 30)), ?) * interval '1 millisecond',
				parked_at = CASE WHEN failures + 1 >= ? THEN clock_timestamp() END
			WHERE id IN (?)
			RETURNING id, parked_at)
			SELECT id::text FROM failed WHERE parked_at IS NOT NULL`,
			msg, r.opts.MinBackoff.Milliseconds(), r.opts.MaxBackoff.Milliseconds(),
			r.opts.MaxAttempts, bun.List(ids)).Scan(ctx, &now); err != nil {
			return nil, fmt.Errorf("outbox relay: record row failure: %w", err)
		}
		for _, id := range now {
			parked[id] = msg
		}
	}
	return parked, nil
}

// report counts and logs a committed batch. It returns a *publishError when the batch
// failed as a whole for a reason that is not the rows' own (an outage).
func (r *Relay) report(ctx context.Context, rows []outboxRow, msgs []*sarama.ProducerMessage, failed map[int]error, parked map[string]string) error {
	perTopic := map[string]int64{}
	for i, m := range msgs {
		if _, ok := failed[i]; !ok {
			perTopic[m.Topic]++
		}
	}
	for topic, n := range perTopic {
		r.published.Add(ctx, n, metric.WithAttributes(attribute.String("topic", topic)))
	}
	for _, row := range rows {
		cause, ok := parked[row.ID]
		if !ok {
			continue
		}
		r.parked.Add(ctx, 1, metric.WithAttributes(attribute.String("topic", r.cfg.Topic(row.Topic))))
		r.log.ErrorContext(ctx, "outbox row parked: it keeps failing to publish and is no longer retried; re-drive it from the admin listener",
			"id", row.ID, "type", row.Type, "topic", r.cfg.Topic(row.Topic), "key", row.Key,
			"failures", r.opts.MaxAttempts, "error", cause)
	}
	if len(failed) == 0 {
		r.brokerOK()
		return nil
	}
	r.failures.Add(ctx, int64(len(failed)))
	var outage error
	for _, e := range failed {
		if !rowFault(e) {
			outage = e
			break
		}
	}
	if len(perTopic) > 0 || outage == nil {
		// Something went through, or nothing failed but rows: the broker works.
		r.brokerOK()
		if outage == nil {
			return nil
		}
	}
	if len(failed) == len(rows) {
		// Nothing went through: start over with a fresh client rather than trusting one
		// whose connections may be stuck.
		r.dropProducer()
	}
	return &publishError{failed: len(failed), total: len(rows), err: outage}
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
	if r.parked, err = meter.Int64Counter("outbox.parked.rows",
		metric.WithDescription("Outbox rows parked after OUTBOX_MAX_ATTEMPTS failed sends of their own."), metric.WithUnit("{event}")); err != nil {
		return nil, fmt.Errorf("outbox metrics: %w", err)
	}
	unsent, err := meter.Int64ObservableGauge("outbox.unsent",
		metric.WithDescription("Outbox rows not yet published, parked rows excepted."), metric.WithUnit("{event}"))
	if err != nil {
		return nil, fmt.Errorf("outbox metrics: %w", err)
	}
	lag, err := meter.Float64ObservableGauge("outbox.lag",
		metric.WithDescription("Age of the oldest unpublished outbox row, parked rows excepted."), metric.WithUnit("s"))
	if err != nil {
		return nil, fmt.Errorf("outbox metrics: %w", err)
	}
	parked, err := meter.Int64ObservableGauge("outbox.parked",
		metric.WithDescription("Outbox rows parked now, waiting for an operator to re-drive them."), metric.WithUnit("{event}"))
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
		var n, p int64
		var age float64
		// Two scans, each of its own partial index: pending rows, then parked ones.
		err := r.db.QueryRowContext(ctx, `SELECT count(*),
			coalesce(extract(epoch FROM clock_timestamp() - min(created_at)), 0)::float8,
			(SELECT count(*) FROM outbox WHERE parked_at IS NOT NULL)
			FROM outbox WHERE sent_at IS NULL AND parked_at IS NULL`).Scan(&n, &age, &p)
		if err != nil {
			return fmt.Errorf("outbox lag: %w", err)
		}
		o.ObserveInt64(unsent, n, attrs)
		o.ObserveFloat64(lag, age, attrs)
		o.ObserveInt64(parked, p, attrs)
		return nil
	}, unsent, lag, parked)
	if err != nil {
		return nil, fmt.Errorf("outbox metrics: %w", err)
	}
	return func() { _ = reg.Unregister() }, nil
}
