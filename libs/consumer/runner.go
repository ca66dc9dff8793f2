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
	"github.com/uptrace/bun"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"evently.dev/libs/kafka"
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
}

// Runner consumes Options.Topics as Options.Group and applies each event once.
type Runner struct {
	cfg    kafka.Config
	db     *bun.DB
	opts   Options
	log    *slog.Logger
	tracer trace.Tracer
	ready  atomic.Bool
	types  map[string]bool

	messages metric.Int64Counter

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
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.TracerProvider == nil {
		opts.TracerProvider = otel.GetTracerProvider()
	}
	if opts.MeterProvider == nil {
		opts.MeterProvider = otel.GetMeterProvider()
	}
	messages, err := opts.MeterProvider.Meter("evently.dev/libs/consumer").Int64Counter("consumer.messages",
		metric.WithDescription("Consumed messages by outcome: processed, duplicate, retried, dead_lettered."),
		metric.WithUnit("{message}"))
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
		dlq:      opts.DLQProducer,
	}, nil
}

// Ready reports whether the runner is in a consumer group session, i.e. joined and
// assigned. It turns false during rebalances, so use it for readiness only where a short
// flap is acceptable (a consumer-only worker), not to gate HTTP traffic.
func (r *Runner) Ready() bool { return r.ready.Load() }

// Check is Ready as a health-check function.
func (r *Runner) Check(context.Context) error {
	if !r.Ready() {
		return fmt.Errorf("consumer %s: not in a group session", r.opts.Group)
	}
	return nil
}

// Run consumes until ctx is done, then commits the marked offsets, leaves the group and
// returns nil. It starts without a reachable broker and retries every failure with
// backoff, so a Kafka outage delays events but never stops the service.
func (r *Runner) Run(ctx context.Context) error {
	defer r.closeDLQ()
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
	h.r.log.Debug("consumer session started", "claims", s.Claims(), "generation", s.GenerationID())
	return nil
}

func (h groupHandler) Cleanup(sarama.ConsumerGroupSession) error {
	h.r.ready.Store(false)
	return nil
}

// ConsumeClaim handles one partition's messages strictly one after another. A message is
// marked only once it is applied or dead-lettered, so the committed offset never passes
// a message that failed.
func (h groupHandler) ConsumeClaim(s sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	ctx := s.Context()
	for {
		select {
		case msg, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			if !h.r.handle(ctx, msg) {
				return nil // the session ended mid-message: leave it unmarked for the next owner
			}
			s.MarkMessage(msg, "")
		case <-ctx.Done():
			return nil
		}
	}
}

// handle applies msg, retrying and finally dead-lettering it. It reports false when ctx
// ended before msg was settled.
func (r *Runner) handle(ctx context.Context, msg *sarama.ConsumerMessage) bool {
	ctx = kafka.ExtractTrace(ctx, msg.Headers)
	ctx, span := r.tracer.Start(ctx, "process "+msg.Topic,
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			attribute.String("messaging.system", "kafka"),
			attribute.String("messaging.operation.type", "process"),
			attribute.String("messaging.destination.name", msg.Topic),
			attribute.String("messaging.consumer.group.name", r.opts.Group),
			attribute.String("messaging.destination.partition.id", strconv.Itoa(int(msg.Partition))),
			attribute.Int64("messaging.kafka.offset", msg.Offset),
		))
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

	for attempt := 1; ; attempt++ {
		duplicate, err := r.apply(ctx, msg.Topic, e)
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
		if IsPermanent(err) || attempt >= r.opts.MaxAttempts {
			span.SetStatus(codes.Error, err.Error())
			return r.deadLetter(ctx, msg, fmt.Errorf("after %d attempts: %w", attempt, err))
		}
		wait := retry.Backoff(r.opts.MinBackoff, r.opts.MaxBackoff, attempt)
		r.log.WarnContext(ctx, "event handler failed, retrying", "topic", msg.Topic,
			"partition", msg.Partition, "offset", msg.Offset, "event_id", e.ID, "attempt", attempt,
			"retry_in", wait, "error", err)
		r.count(ctx, msg.Topic, "retried")
		if !retry.Sleep(ctx, wait) {
			return false
		}
	}
}

// apply records e in the inbox and runs the handler in one transaction. An event already
// in the inbox is a redelivery: it commits nothing new and reports duplicate.
func (r *Runner) apply(ctx context.Context, topic string, e kafka.Event) (duplicate bool, err error) {
	err = r.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) (err error) {
		res, err := tx.ExecContext(ctx, `INSERT INTO inbox (consumer, event_id, topic, processed_at)
			VALUES (?, ?, ?, now()) ON CONFLICT DO NOTHING`, r.opts.Group, e.ID, topic)
		if err != nil {
			return fmt.Errorf("inbox insert: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("inbox insert: %w", err)
		}
		if n == 0 {
			duplicate = true
			return nil
		}
		defer func() {
			// A panicking handler would otherwise crash the service on every restart at
			// the same message; as an error it is retried and then dead-lettered.
			if p := recover(); p != nil {
				err = fmt.Errorf("handler panic: %v", p)
			}
		}()
		return r.opts.Handler(ctx, tx, e)
	})
	if err != nil {
		return false, fmt.Errorf("apply %s %s: %w", e.Type, e.ID, err)
	}
	return duplicate, nil
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

func (r *Runner) count(ctx context.Context, topic, outcome string) {
	r.messages.Add(ctx, 1, metric.WithAttributes(
		attribute.String("group", r.opts.Group),
		attribute.String("topic", topic),
		attribute.String("outcome", outcome)))
}
