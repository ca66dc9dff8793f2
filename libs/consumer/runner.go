// Package consumer runs a Kafka consumer group whose handler applies each event exactly
// once (DESIGN §10): the event id is recorded in an inbox table in the same transaction as
// the handler's effect, the offset is marked only after that transaction commits, failures
// are retried with backoff, and messages that keep failing are parked on "<topic>.dlq".
// Delivery is at least once; the effect is exactly once.
package consumer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"evently.dev/libs/kafka"
	"evently.dev/libs/pg"
	"evently.dev/libs/retry"
)

// Headers the runner adds to a dead-lettered message, beside the original ones, so an
// operator can see why it was parked and where it came from.
const (
	HeaderDLQError         = "dlq_error"
	HeaderDLQOriginalTopic = "dlq_original_topic"
	HeaderDLQPartition     = "dlq_partition"
	HeaderDLQOffset        = "dlq_offset"
	HeaderDLQConsumer      = "dlq_consumer"
)

// Handler applies one event inside tx, the transaction that also records the event in the
// inbox. It must do all its writes through tx, or they escape the exactly-once guarantee.
// Return an error to roll back and retry, or Permanent(err) to dead-letter at once.
//
// tx may hold a batch: the events before this one on the same partition, applied by
// earlier calls, and the ones after it. So a handler must report every failed statement
// as an error (an ignored one leaves tx unusable and the next event gets the blame), must
// not end tx itself, and is called again for the same event when its batch is rolled
// back and replayed one event per transaction.
type Handler func(ctx context.Context, tx bun.Tx, e kafka.Event) error

// Options configures a Runner. Zero values select the defaults in brackets.
type Options struct {
	// Group is the logical consumer group id; it also names the consumer in the inbox. The
	// Kafka group id gets the Config's topic prefix, like topics, so environments sharing
	// a cluster never join each other's groups.
	Group string
	// Topics are logical topic names; the runner adds the Config's prefix.
	Topics []string
	// Handler applies each event.
	Handler Handler
	// Types, when set, lists the CloudEvents types the handler cares about; others are
	// acknowledged without a transaction. Topics mix types (inventory's holds far outnumber
	// its sales), and a skipped event costs no inbox row and no commit flush [all types].
	Types []string
	// MaxAttempts is how many times a failing event is tried before it is dead-lettered [5].
	MaxAttempts int
	// MinBackoff and MaxBackoff bound the doubling wait between attempts [100ms, 5s].
	MinBackoff, MaxBackoff time.Duration
	// MaxBatch is the most messages of one partition applied in one transaction [256];
	// 1 applies each message in its own transaction.
	MaxBatch int
	// BatchWait is how long a batch that is not full waits for more messages once it has
	// taken those already waiting [2ms]; negative applies what is waiting at once. It is
	// kept far below anything a reader of the read models would notice.
	BatchWait time.Duration
	// Serialize, when set, makes every transaction of this group take a PostgreSQL
	// advisory lock of that name first, so the group's batches (of every partition and
	// replica) apply one at a time. For read models where events of different topics
	// update the same rows: without it their batches lock those rows in different orders,
	// deadlock, and wait deadlock_timeout each time [off].
	Serialize string
	// Scope, when set, gives every transaction of the runner a fresh TxScope: handlers
	// reach it through ScopeFrom and hand it work that is cheaper done once per
	// transaction (counters many events of a batch bump), and the runner flushes it after
	// the last handler and before the inbox rows commit, so its effects land exactly when
	// the events' do [none].
	Scope func() TxScope
	// DLQProducer publishes dead letters [an idempotent producer from the Config, created
	// when first needed and closed by Run].
	DLQProducer sarama.SyncProducer
	// Logger receives the runner's warnings [slog.Default()].
	Logger *slog.Logger
	// TracerProvider starts a span per message, continuing the producer's trace
	// [otel.GetTracerProvider()].
	TracerProvider trace.TracerProvider
	// MeterProvider records the runner's counters [otel.GetMeterProvider()].
	MeterProvider metric.MeterProvider
	// InboxRetention is how long the group's inbox rows are kept [DefaultInboxRetention];
	// negative keeps them forever. See cleanInbox for the bound it must respect.
	InboxRetention time.Duration
	// InboxCleanupInterval is how often rows older than InboxRetention are deleted [1h].
	InboxCleanupInterval time.Duration
	// UnhealthyAfter is how long the runner may be out of a group session (broker
	// unreachable, coordinator gone) before Check reports it [30s]. A rebalance or a
	// single failed request is shorter, so readiness does not flap with them.
	UnhealthyAfter time.Duration
}

// DefaultInboxRetention is Options.InboxRetention when unset.
const DefaultInboxRetention = 7 * 24 * time.Hour

// Config is the consumer's part of a service's environment.
type Config struct {
	// InboxRetention is Options.InboxRetention.
	InboxRetention time.Duration `envconfig:"CONSUMER_INBOX_RETENTION" default:"168h"`
}

// Apply fills opts' settings from the environment where opts leaves them unset. A zero
// CONSUMER_INBOX_RETENTION keeps the inbox forever.
func (c Config) Apply(opts Options) Options {
	if opts.InboxRetention == 0 {
		opts.InboxRetention = c.InboxRetention
		if opts.InboxRetention == 0 {
			opts.InboxRetention = -1
		}
	}
	return opts
}

// TxScope collects what handlers defer to the end of one transaction.
type TxScope interface {
	// Flush writes what the transaction's handlers collected; an error rolls the whole
	// transaction back like a handler's would.
	Flush(ctx context.Context, tx bun.Tx) error
}

type scopeKey struct{}

// ScopeFrom returns the TxScope of the transaction a handler runs in, or nil when the
// runner has none (Options.Scope unset, or the handler is called outside a runner).
func ScopeFrom(ctx context.Context) TxScope {
	s, _ := ctx.Value(scopeKey{}).(TxScope)
	return s
}

// Defaults of Options.MaxBatch and Options.BatchWait.
const (
	DefaultMaxBatch  = 256
	DefaultBatchWait = 2 * time.Millisecond
)

// Runner consumes Options.Topics as Options.Group and applies each event once.
type Runner struct {
	cfg    kafka.Config
	db     *bun.DB
	opts   Options
	log    *slog.Logger
	tracer trace.Tracer
	ready  atomic.Bool
	types  map[string]bool
	// outSince is when the runner last left (or, at Run, had not yet joined) a group
	// session, as UnixNano; 0 while in one.
	outSince atomic.Int64
	// probeFailingSince is when the broker probe (watchBroker) began failing, as
	// UnixNano; 0 while it succeeds. A frozen broker keeps a session open for minutes.
	probeFailingSince atomic.Int64

	messages metric.Int64Counter
	batches  metric.Int64Histogram

	dlqMu    sync.Mutex
	dlq      sarama.SyncProducer
	ownedDLQ bool
}

// New checks opts and prepares a runner; nothing connects until Run.
func New(cfg kafka.Config, db *bun.DB, opts Options) (*Runner, error) {
	switch {
	case db == nil:
		return nil, errors.New("consumer: nil database")
	case opts.Group == "":
		return nil, errors.New("consumer: empty group")
	case len(opts.Topics) == 0:
		return nil, fmt.Errorf("consumer %s: no topics", opts.Group)
	case opts.Handler == nil:
		return nil, fmt.Errorf("consumer %s: nil handler", opts.Group)
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 5
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 100 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 5 * time.Second
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = DefaultMaxBatch
	}
	if opts.BatchWait == 0 {
		opts.BatchWait = DefaultBatchWait
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.TracerProvider == nil {
		opts.TracerProvider = otel.GetTracerProvider()
	}
	if opts.MeterProvider == nil {
		opts.MeterProvider = otel.GetMeterProvider()
	}
	if opts.InboxRetention == 0 {
		opts.InboxRetention = DefaultInboxRetention
	}
	if opts.InboxCleanupInterval <= 0 {
		opts.InboxCleanupInterval = time.Hour
	}
	if opts.UnhealthyAfter <= 0 {
		opts.UnhealthyAfter = 30 * time.Second
	}
	messages, err := opts.MeterProvider.Meter("evently.dev/libs/consumer").Int64Counter("consumer.messages",
		metric.WithDescription("Consumed messages by outcome: processed, duplicate, retried, dead_lettered."),
		metric.WithUnit("{message}"))
	if err != nil {
		return nil, fmt.Errorf("consumer %s: metrics: %w", opts.Group, err)
	}
	batches, err := opts.MeterProvider.Meter("evently.dev/libs/consumer").Int64Histogram("consumer.batch.size",
		metric.WithDescription("Events offered to the inbox per transaction (a batch's messages of the wanted types)."),
		metric.WithUnit("{message}"),
		metric.WithExplicitBucketBoundaries(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024))
	if err != nil {
		return nil, fmt.Errorf("consumer %s: metrics: %w", opts.Group, err)
	}
	var types map[string]bool
	if len(opts.Types) > 0 {
		types = make(map[string]bool, len(opts.Types))
		for _, t := range opts.Types {
			types[t] = true
		}
	}
	return &Runner{
		types:    types,
		cfg:      cfg.WithDefaults(),
		db:       db,
		opts:     opts,
		log:      opts.Logger.With("component", "consumer", "group", opts.Group),
		tracer:   opts.TracerProvider.Tracer("evently.dev/libs/consumer"),
		messages: messages,
		batches:  batches,
		dlq:      opts.DLQProducer,
	}, nil
}

// Ready reports whether the runner is in a consumer group session, i.e. joined and
// assigned. It turns false during every rebalance; readiness uses Check, which tolerates
// that.
func (r *Runner) Ready() bool { return r.ready.Load() }

// Check reports an error once the running runner has been out of a group session for
// longer than UnhealthyAfter: the broker or the group coordinator cannot be reached and
// no event is applied. Rebalances and short outages pass unreported. For readiness checks.
func (r *Runner) Check(context.Context) error {
	if since := r.outSince.Load(); since != 0 {
		if d := time.Since(time.Unix(0, since)); d > r.opts.UnhealthyAfter {
			return fmt.Errorf("consumer %s: not in a group session for %s", r.opts.Group, d.Round(time.Second))
		}
	}
	if since := r.probeFailingSince.Load(); since != 0 {
		if d := time.Since(time.Unix(0, since)); d > r.opts.UnhealthyAfter {
			return fmt.Errorf("consumer %s: group coordinator unreachable for %s", r.opts.Group, d.Round(time.Second))
		}
	}
	return nil
}

// watchBroker asks the group's coordinator about the group every probe interval until
// ctx ends, and notes since when it has not answered. sarama keeps a session whose broker
// froze (SIGSTOP, a stalled VM) open until its requests time out, which can take minutes;
// the probe's own short timeout makes Check see it within UnhealthyAfter.
func (r *Runner) watchBroker(ctx context.Context) {
	interval := min(max(r.opts.UnhealthyAfter/3, 500*time.Millisecond), 10*time.Second)
	timeout := min(max(r.opts.UnhealthyAfter/2, time.Second), 10*time.Second)
	var client sarama.Client
	defer func() {
		if client != nil {
			_ = client.Close()
		}
	}()
	for {
		err := r.probe(&client, timeout)
		if err != nil {
			if r.probeFailingSince.CompareAndSwap(0, time.Now().UnixNano()) {
				r.log.DebugContext(ctx, "kafka probe failing", "error", err)
			}
			if client != nil {
				_ = client.Close() // its connections may be stuck; the next probe dials anew
				client = nil
			}
		} else {
			r.probeFailingSince.Store(0)
		}
		if !retry.Sleep(ctx, interval) {
			return
		}
	}
}

// probe finds the group's coordinator and asks it to describe the group, each request
// bounded by timeout; *client is created when nil.
func (r *Runner) probe(client *sarama.Client, timeout time.Duration) error {
	if *client == nil {
		sc, err := kafka.NewSaramaConfig(r.cfg)
		if err != nil {
			return err
		}
		sc.Net.ReadTimeout, sc.Net.WriteTimeout = timeout, timeout
		sc.Net.DialTimeout = min(sc.Net.DialTimeout, timeout)
		sc.Metadata.Retry.Max = 0
		c, err := sarama.NewClient(r.cfg.Brokers, sc)
		if err != nil {
			return err
		}
		*client = c
	}
	group := r.cfg.Topic(r.opts.Group)
	if err := (*client).RefreshCoordinator(group); err != nil {
		return err
	}
	coord, err := (*client).Coordinator(group)
	if err != nil {
		return err
	}
	_, err = coord.DescribeGroups(&sarama.DescribeGroupsRequest{Groups: []string{group}})
	return err
}

// Run consumes until ctx is done, then commits the marked offsets, leaves the group and
// returns nil. It starts without a reachable broker and retries every failure with
// backoff, so a Kafka outage delays events but never stops the service.
func (r *Runner) Run(ctx context.Context) error {
	defer r.closeDLQ()
	r.outSince.Store(time.Now().UnixNano())
	defer r.probeFailingSince.Store(0)
	defer r.outSince.Store(0) // a stopped runner is not a failing one
	// The probe and the inbox cleanup live as long as Run, whichever way it returns.
	var wg sync.WaitGroup
	defer wg.Wait()
	bgCtx, stopBackground := context.WithCancel(ctx)
	defer stopBackground()
	wg.Add(1)
	go func() { defer wg.Done(); r.watchBroker(bgCtx) }()
	if r.opts.InboxRetention > 0 {
		wg.Add(1)
		go func() { defer wg.Done(); r.cleanInbox(bgCtx) }()
	}
	sc, err := kafka.NewSaramaConfig(r.cfg)
	if err != nil {
		return fmt.Errorf("consumer %s: %w", r.opts.Group, err)
	}
	topics := make([]string, len(r.opts.Topics))
	for i, t := range r.opts.Topics {
		topics[i] = r.cfg.Topic(t)
	}

	var group sarama.ConsumerGroup
	for failures := 1; group == nil; failures++ {
		group, err = sarama.NewConsumerGroup(r.cfg.Brokers, r.cfg.Topic(r.opts.Group), sc)
		if err != nil {
			wait := retry.Backoff(r.opts.MinBackoff, r.opts.MaxBackoff, failures)
			r.log.WarnContext(ctx, "consumer cannot reach kafka", "error", err, "retry_in", wait)
			if !retry.Sleep(ctx, wait) {
				return nil
			}
		}
	}
	defer func() {
		if err := group.Close(); err != nil {
			r.log.Warn("consumer close", "error", err)
		}
	}()
	go func() {
		// Errors closes when the group closes. Unread errors would block sarama.
		for err := range group.Errors() {
			r.log.WarnContext(ctx, "consumer group error", "error", err)
		}
	}()

	h := groupHandler{r: r}
	for failures := 0; ; {
		err := group.Consume(ctx, topics, h)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, sarama.ErrClosedConsumerGroup) {
			return fmt.Errorf("consumer %s: %w", r.opts.Group, err)
		}
		if err == nil {
			failures = 0
			continue // a rebalance ended the session: join the next one
		}
		failures++
		wait := retry.Backoff(r.opts.MinBackoff, r.opts.MaxBackoff, failures)
		r.log.WarnContext(ctx, "consumer session failed", "error", err, "retry_in", wait)
		if !retry.Sleep(ctx, wait) {
			return nil
		}
	}
}

// groupHandler adapts the runner to sarama's ConsumerGroupHandler.
type groupHandler struct{ r *Runner }

func (h groupHandler) Setup(s sarama.ConsumerGroupSession) error {
	h.r.ready.Store(true)
	h.r.outSince.Store(0)
	h.r.log.Debug("consumer session started", "claims", s.Claims(), "generation", s.GenerationID())
	return nil
}

func (h groupHandler) Cleanup(sarama.ConsumerGroupSession) error {
	h.r.ready.Store(false)
	h.r.outSince.CompareAndSwap(0, time.Now().UnixNano())
	return nil
}

// ConsumeClaim applies one partition's messages in order, a batch at a time. A message is
// marked only once it is applied or dead-lettered, so the committed offset never passes
// a message that failed.
func (h groupHandler) ConsumeClaim(s sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	ctx := s.Context()
	r := h.r
	batch := make([]*sarama.ConsumerMessage, 0, r.opts.MaxBatch)
	for {
		batch = batch[:0]
		select {
		case msg, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			batch = append(batch, msg)
		case <-ctx.Done():
			return nil
		}
		var open bool
		batch, open = r.fill(ctx, claim.Messages(), batch)
		if !r.process(ctx, s, batch) {
			return nil // the session ended mid-batch: leave the rest unmarked for the next owner
		}
		if !open {
			return nil
		}
	}
}

// fill adds the messages already waiting to batch, then those arriving within BatchWait,
// up to MaxBatch. It reports false when the claim's channel closed.
func (r *Runner) fill(ctx context.Context, msgs <-chan *sarama.ConsumerMessage, batch []*sarama.ConsumerMessage) ([]*sarama.ConsumerMessage, bool) {
drain:
	for len(batch) < r.opts.MaxBatch {
		select {
		case msg, ok := <-msgs:
			if !ok {
				return batch, false
			}
			batch = append(batch, msg)
		default:
			break drain
		}
	}
	if len(batch) >= r.opts.MaxBatch || r.opts.BatchWait < 0 {
		return batch, true
	}
	wait := time.NewTimer(r.opts.BatchWait)
	defer wait.Stop()
	for len(batch) < r.opts.MaxBatch {
		select {
		case msg, ok := <-msgs:
			if !ok {
				return batch, false
			}
			batch = append(batch, msg)
		case <-wait.C:
			return batch, true
		case <-ctx.Done():
			return batch, true
		}
	}
	return batch, true
}

// item is one message of a batch on its way through process.
type item struct {
	msg  *sarama.ConsumerMessage
	ctx  context.Context // carries the message's span, a child of the producer's trace
	span trace.Span
	e    kafka.Event
	bad  error // not an event: dead-lettered after the batch commits
	skip bool  // a type the handler did not ask for
	dup  bool  // already applied: in the inbox, or earlier in the same batch
}

// process settles a batch of one partition's messages, in order, and marks them. It
// reports false when ctx ended before every message was settled.
func (r *Runner) process(ctx context.Context, s sarama.ConsumerGroupSession, batch []*sarama.ConsumerMessage) bool {
	items := make([]item, len(batch))
	for i, msg := range batch {
		items[i] = r.prepare(ctx, msg)
	}
	failed, err := r.applyBatch(ctx, items)
	if err != nil && isTxConflict(err) && ctx.Err() == nil {
		// A deadlock or serialization failure says when the batch ran (beside another
		// partition's batch), not what is in it: run the batch once more before paying
		// for one transaction per message.
		r.log.InfoContext(ctx, "batch hit a transaction conflict, retrying it", "topic", batch[0].Topic,
			"partition", batch[0].Partition, "messages", len(batch), "error", err)
		failed, err = r.applyBatch(ctx, items)
	}
	if err == nil {
		var processed, duplicate, skipped int64
		for i := range items {
			it := &items[i]
			switch {
			case it.bad != nil:
				it.span.SetStatus(codes.Error, it.bad.Error())
				if !r.deadLetter(it.ctx, it.msg, it.bad) {
					endSpans(items[i:])
					return false
				}
			case it.skip:
				skipped++
			case it.dup:
				duplicate++
			default:
				processed++
			}
			it.span.End()
			s.MarkMessage(it.msg, "")
		}
		topic := batch[0].Topic
		r.countN(ctx, topic, "processed", processed)
		r.countN(ctx, topic, "duplicate", duplicate)
		r.countN(ctx, topic, "skipped", skipped)
		return true
	}
	for i := range items {
		items[i].span.RecordError(err)
	}
	endSpans(items)
	if ctx.Err() != nil {
		return false
	}
	// Nothing of the batch was committed: apply its messages one per transaction, so
	// the one that fails is retried and dead-lettered alone and the others apply once.
	r.log.WarnContext(ctx, "batch failed, applying its messages one by one", "topic", batch[0].Topic,
		"partition", batch[0].Partition, "first_offset", batch[0].Offset, "messages", len(batch), "error", err)
	for i, msg := range batch {
		var prior error
		if i == failed {
			prior = err // the batch was this message's first attempt
		}
		if !r.handle(ctx, msg, prior) {
			return false
		}
		s.MarkMessage(msg, "")
	}
	return true
}

// isTxConflict reports a deadlock or serialization failure, which PostgreSQL resolves by
// aborting one of the transactions involved.
func isTxConflict(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001")
}

func endSpans(items []item) {
	for i := range items {
		items[i].span.End()
	}
}

// prepare decodes msg and starts its span, continuing the producer's trace.
func (r *Runner) prepare(ctx context.Context, msg *sarama.ConsumerMessage) item {
	it := item{msg: msg}
	it.ctx, it.span = r.startSpan(ctx, msg)
	it.e, it.bad = kafka.EventFromMessage(msg)
	if it.bad != nil {
		return it
	}
	it.span.SetAttributes(attribute.String("messaging.message.id", it.e.ID), attribute.String("cloudevents.event_type", it.e.Type))
	it.skip = r.types != nil && !r.types[it.e.Type]
	return it
}

func (r *Runner) startSpan(ctx context.Context, msg *sarama.ConsumerMessage) (context.Context, trace.Span) {
	ctx = kafka.ExtractTrace(ctx, msg.Headers)
	return r.tracer.Start(ctx, "process "+msg.Topic,
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			attribute.String("messaging.system", "kafka"),
			attribute.String("messaging.operation.type", "process"),
			attribute.String("messaging.destination.name", msg.Topic),
			attribute.String("messaging.consumer.group.name", r.opts.Group),
			attribute.String("messaging.destination.partition.id", strconv.Itoa(int(msg.Partition))),
			attribute.Int64("messaging.kafka.offset", msg.Offset),
		))
}

// applyBatch records the batch's wanted events in the inbox with one statement and runs
// the handler for each new one, in order, all in one transaction; it marks the items
// that were already applied as dup. On error nothing is committed, and failed is the
// index of the item whose handler failed, or -1 when the failure is not one message's.
func (r *Runner) applyBatch(ctx context.Context, items []item) (failed int, err error) {
	failed = -1
	ids := make([]string, 0, len(items))
	seen := make(map[string]bool, len(items))
	for i := range items {
		it := &items[i]
		if it.bad != nil || it.skip {
			continue
		}
		if seen[it.e.ID] {
			it.dup = true // the same event twice in one batch: the second is a redelivery
			continue
		}
		seen[it.e.ID] = true
		ids = append(ids, it.e.ID)
	}
	if len(ids) == 0 {
		return -1, nil // skipped types and malformed messages cost no transaction
	}
	topic := items[0].msg.Topic
	bctx, span := r.tracer.Start(ctx, "apply batch "+topic, trace.WithAttributes(
		attribute.String("messaging.destination.name", topic),
		attribute.String("messaging.consumer.group.name", r.opts.Group),
		attribute.Int("messaging.batch.message_count", len(ids))))
	defer span.End()
	err = r.db.RunInTx(bctx, nil, func(bctx context.Context, tx bun.Tx) error {
		if err := r.serialize(bctx, tx); err != nil {
			return err
		}
		fresh, err := r.insertInbox(bctx, tx, topic, ids)
		if err != nil {
			return err
		}
		scope := r.newScope()
		for i := range items {
			it := &items[i]
			if it.bad != nil || it.skip || it.dup {
				continue
			}
			if !fresh[it.e.ID] {
				it.dup = true
				continue
			}
			if err := r.runHandler(WithScope(it.ctx, scope), tx, it.e); err != nil {
				failed = i
				return err
			}
		}
		return r.flush(bctx, tx, scope)
	})
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
		for i := range items {
			items[i].dup = false
		}
		return failed, fmt.Errorf("apply batch of %d: %w", len(ids), err)
	}
	r.batches.Record(ctx, int64(len(ids)), metric.WithAttributes(
		attribute.String("group", r.opts.Group), attribute.String("topic", topic)))
	return -1, nil
}

// insertInbox records ids as applied by this consumer and returns the ones that were not
// recorded before.
func (r *Runner) insertInbox(ctx context.Context, tx bun.Tx, topic string, ids []string) (map[string]bool, error) {
	rows, err := tx.QueryContext(ctx, `INSERT INTO inbox (consumer, event_id, topic, processed_at)
		SELECT ?, id, ?, now() FROM unnest(?::text[]) AS id
		ON CONFLICT DO NOTHING RETURNING event_id`, r.opts.Group, topic, pgdialect.Array(ids))
	if err != nil {
		return nil, fmt.Errorf("inbox insert: %w", err)
	}
	defer func() { _ = rows.Close() }()
	fresh := make(map[string]bool, len(ids))
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("inbox insert: %w", err)
		}
		fresh[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("inbox insert: %w", err)
	}
	return fresh, nil
}

// runHandler calls the handler, turning a panic into an error: a panicking handler would
// otherwise crash the service on every restart at the same message; as an error it is
// retried and then dead-lettered.
func (r *Runner) runHandler(ctx context.Context, tx bun.Tx, e kafka.Event) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panic: %v", p)
		}
	}()
	return r.opts.Handler(ctx, tx, e)
}

// newScope starts a transaction's TxScope, or returns nil without Options.Scope.
func (r *Runner) newScope() TxScope {
	if r.opts.Scope == nil {
		return nil
	}
	return r.opts.Scope()
}

// WithScope returns ctx carrying s for the handlers called with it: the runner does this
// for every transaction; code that applies events outside a runner (a test, a tool) does
// it itself and then calls s.Flush before its commit.
func WithScope(ctx context.Context, s TxScope) context.Context {
	if s == nil {
		return ctx
	}
	return context.WithValue(ctx, scopeKey{}, s)
}

// flush writes what the transaction's handlers deferred to scope, if any.
func (r *Runner) flush(ctx context.Context, tx bun.Tx, s TxScope) error {
	if s == nil {
		return nil
	}
	if err := s.Flush(ctx, tx); err != nil {
		return fmt.Errorf("flush deferred work: %w", err)
	}
	return nil
}

// handle applies msg in its own transaction, retrying and finally dead-lettering it. prior,
// when set, is the error of a first attempt already made (in a batch). It reports false
// when ctx ended before msg was settled.
func (r *Runner) handle(ctx context.Context, msg *sarama.ConsumerMessage, prior error) bool {
	ctx, span := r.startSpan(ctx, msg)
	defer span.End()

	e, err := kafka.EventFromMessage(msg)
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
		return r.deadLetter(ctx, msg, err)
	}
	span.SetAttributes(attribute.String("messaging.message.id", e.ID), attribute.String("cloudevents.event_type", e.Type))
	if r.types != nil && !r.types[e.Type] {
		r.count(ctx, msg.Topic, "skipped")
		return true
	}

	// failures counts the attempts that failed because of the event; a database that
	// cannot be reached says nothing about the event, so waiting for it spends none, and
	// an outage longer than the retries cannot park healthy events on the DLQ.
	failures, outage := 0, 0
	var duplicate bool
	if prior != nil {
		err = prior
	} else {
		duplicate, err = r.apply(ctx, msg, span, e)
	}
	for {
		if err == nil {
			outcome := "processed"
			if duplicate {
				outcome = "duplicate"
			}
			r.count(ctx, msg.Topic, outcome)
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		span.RecordError(err)
		var wait time.Duration
		if pg.IsUnavailable(err) {
			outage++
			wait = retry.Backoff(r.opts.MinBackoff, r.opts.MaxBackoff, outage)
			r.log.WarnContext(ctx, "database unavailable, waiting for it", "topic", msg.Topic,
				"partition", msg.Partition, "offset", msg.Offset, "event_id", e.ID, "retry_in", wait, "error", err)
		} else {
			outage = 0
			failures++
			if IsPermanent(err) || failures >= r.opts.MaxAttempts {
				span.SetStatus(codes.Error, err.Error())
				return r.deadLetter(ctx, msg, fmt.Errorf("after %d attempts: %w", failures, err))
			}
			wait = retry.Backoff(r.opts.MinBackoff, r.opts.MaxBackoff, failures)
			r.log.WarnContext(ctx, "event handler failed, retrying", "topic", msg.Topic,
				"partition", msg.Partition, "offset", msg.Offset, "event_id", e.ID, "attempt", failures,
				"retry_in", wait, "error", err)
		}
		r.count(ctx, msg.Topic, "retried")
		if !retry.Sleep(ctx, wait) {
			return false
		}
		duplicate, err = r.apply(ctx, msg, span, e)
	}
}

// apply records e in the inbox and runs the handler in one transaction: a batch of one
// through applyBatch, so a lone message and a batch take the same path. An event already in
// the inbox is a redelivery: it commits nothing new and reports duplicate.
func (r *Runner) apply(ctx context.Context, msg *sarama.ConsumerMessage, span trace.Span, e kafka.Event) (duplicate bool, err error) {
	one := []item{{msg: msg, ctx: ctx, span: span, e: e}}
	if _, err := r.applyBatch(ctx, one); err != nil {
		return false, fmt.Errorf("apply %s %s: %w", e.Type, e.ID, err)
	}
	return one[0].dup, nil
}

// deadLetter parks msg on its topic's ".dlq" topic with the error and its origin in
// headers. It retries until it succeeds, because marking msg without parking it would lose
// it; it reports false when ctx ended first.
func (r *Runner) deadLetter(ctx context.Context, msg *sarama.ConsumerMessage, cause error) bool {
	dl := &sarama.ProducerMessage{
		Topic: msg.Topic + kafka.DLQSuffix,
		Value: sarama.ByteEncoder(msg.Value),
	}
	if msg.Key != nil {
		dl.Key = sarama.ByteEncoder(msg.Key)
	}
	for _, h := range msg.Headers {
		if h != nil {
			dl.Headers = append(dl.Headers, sarama.RecordHeader{Key: h.Key, Value: h.Value})
		}
	}
	dl.Headers = append(dl.Headers,
		sarama.RecordHeader{Key: []byte(HeaderDLQError), Value: []byte(cause.Error())},
		sarama.RecordHeader{Key: []byte(HeaderDLQOriginalTopic), Value: []byte(msg.Topic)},
		sarama.RecordHeader{Key: []byte(HeaderDLQPartition), Value: []byte(strconv.Itoa(int(msg.Partition)))},
		sarama.RecordHeader{Key: []byte(HeaderDLQOffset), Value: []byte(strconv.FormatInt(msg.Offset, 10))},
		sarama.RecordHeader{Key: []byte(HeaderDLQConsumer), Value: []byte(r.opts.Group)},
	)
	for attempt := 1; ; attempt++ {
		p, err := r.dlqProducer()
		if err == nil {
			_, _, err = p.SendMessage(dl)
		}
		if err == nil {
			r.log.WarnContext(ctx, "message dead-lettered", "topic", msg.Topic, "partition", msg.Partition,
				"offset", msg.Offset, "dlq", dl.Topic, "error", cause)
			r.count(ctx, msg.Topic, "dead_lettered")
			return true
		}
		wait := retry.Backoff(r.opts.MinBackoff, r.opts.MaxBackoff, attempt)
		r.log.ErrorContext(ctx, "dead-letter publish failed", "dlq", dl.Topic, "offset", msg.Offset,
			"error", err, "retry_in", wait)
		if !retry.Sleep(ctx, wait) {
			return false
		}
	}
}

func (r *Runner) dlqProducer() (sarama.SyncProducer, error) {
	r.dlqMu.Lock()
	defer r.dlqMu.Unlock()
	if r.dlq != nil {
		return r.dlq, nil
	}
	p, err := kafka.NewSyncProducer(r.cfg)
	if err != nil {
		return nil, err
	}
	r.dlq, r.ownedDLQ = p, true
	return p, nil
}

func (r *Runner) closeDLQ() {
	r.dlqMu.Lock()
	defer r.dlqMu.Unlock()
	if r.ownedDLQ && r.dlq != nil {
		if err := r.dlq.Close(); err != nil {
			r.log.Warn("consumer: close dead-letter producer", "error", err)
		}
		r.dlq, r.ownedDLQ = nil, false
	}
}

func (r *Runner) count(ctx context.Context, topic, outcome string) { r.countN(ctx, topic, outcome, 1) }

func (r *Runner) countN(ctx context.Context, topic, outcome string, n int64) {
	if n == 0 {
		return
	}
	r.messages.Add(ctx, n, metric.WithAttributes(
		attribute.String("group", r.opts.Group),
		attribute.String("topic", topic),
		attribute.String("outcome", outcome)))
}

// serialize takes the group's advisory lock for the rest of tx when Options.Serialize asks.
func (r *Runner) serialize(ctx context.Context, tx bun.Tx) error {
	if r.opts.Serialize == "" {
		return nil
	}
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtext(?))", "consumer:"+r.opts.Serialize); err != nil {
		return fmt.Errorf("serialize %s: %w", r.opts.Serialize, err)
	}
	return nil
}

// inboxChunk is how many inbox rows one cleanup statement deletes: small, so it holds few
// locks and a short transaction beside the group's own inserts.
const inboxChunk = 1000

// cleanInbox deletes the group's inbox rows older than InboxRetention, at start and then
// every InboxCleanupInterval, in chunks, until ctx ends.
//
// Why this is safe for exactly-once: the inbox only has to remember an event for as long
// as it can be delivered to this group again. Redeliveries come from offsets not yet
// committed when a session ended (seconds: offsets are committed every second), from the
// relay sending a row again whose "sent" mark was lost (seconds), and from a replay: a
// group whose committed offsets are gone (its members were all away longer than the
// broker's offsets.retention.minutes, 7 days by default) or reset by an operator starts
// again from the oldest offset (kafka.NewSaramaConfig). Topics keep their history forever
// (KAFKA_RETENTION_MS=-1), so such a replay reaches back past any retention: events whose
// inbox rows were deleted would be applied a second time. The retention must therefore
// exceed the longest replay horizon operators allow (an offset reset to a time, never
// earlier than now minus the retention; no group down longer than the offsets retention
// without restoring its offsets first); analytics' rebuild starts from an empty inbox on
// purpose and is not affected.
func (r *Runner) cleanInbox(ctx context.Context) {
	for {
		cutoff := time.Now().Add(-r.opts.InboxRetention)
		total := int64(0)
		for ctx.Err() == nil {
			res, err := r.db.ExecContext(ctx, `DELETE FROM inbox WHERE consumer = ? AND event_id IN (
				SELECT event_id FROM inbox WHERE consumer = ? AND processed_at < ?
				ORDER BY processed_at LIMIT ?)`, r.opts.Group, r.opts.Group, cutoff, inboxChunk)
			if err != nil {
				if ctx.Err() == nil {
					r.log.WarnContext(ctx, "inbox cleanup failed", "error", err)
				}
				break
			}
			n, _ := res.RowsAffected()
			total += n
			if n < inboxChunk {
				break
			}
		}
		if total > 0 {
			r.log.InfoContext(ctx, "inbox cleanup", "deleted", total, "older_than", cutoff)
		}
		if !retry.Sleep(ctx, r.opts.InboxCleanupInterval) {
			return
		}
	}
}
