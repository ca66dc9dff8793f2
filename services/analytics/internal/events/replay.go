package events

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/IBM/sarama"

	"evently.dev/libs/consumer"
	"evently.dev/libs/kafka"

	"evently.dev/services/analytics/internal/app"
	"evently.dev/services/analytics/internal/domain"
	"evently.dev/services/analytics/internal/store"
)

// Replayer consumes every topic from the beginning into one generation, for a rebuild.
type Replayer struct {
	Store     *store.Store
	Kafka     kafka.Config
	GroupBase string
	Log       *slog.Logger
}

var _ app.Replayer = (*Replayer)(nil)

// Group names generation gen's (logical) consumer group.
func (r *Replayer) Group(gen int) string { return domain.GroupName(r.GroupBase, gen) }

// EndOffsets notes, for every partition of every topic, the oldest retained offset and
// the offset the next message will get.
func (r *Replayer) EndOffsets(ctx context.Context) (app.Offsets, error) {
	sc, err := kafka.NewSaramaConfig(r.Kafka)
	if err != nil {
		return nil, err
	}
	c, err := sarama.NewClient(r.Kafka.WithDefaults().Brokers, sc)
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	defer func() { _ = c.Close() }()
	out := app.Offsets{}
	for _, t := range Topics {
		topic := r.Kafka.Topic(t)
		parts, err := c.Partitions(topic)
		if err != nil {
			return nil, fmt.Errorf("partitions of %s: %w", topic, err)
		}
		out[topic] = map[int32]app.Range{}
		for _, p := range parts {
			oldest, err := c.GetOffset(topic, p, sarama.OffsetOldest)
			if err != nil {
				return nil, fmt.Errorf("offsets of %s/%d: %w", topic, p, err)
			}
			newest, err := c.GetOffset(topic, p, sarama.OffsetNewest)
			if err != nil {
				return nil, fmt.Errorf("offsets of %s/%d: %w", topic, p, err)
			}
			out[topic][p] = app.Range{Oldest: oldest, End: newest}
		}
	}
	return out, nil
}

// Start consumes into gen (buckets cut in tz) under gen's own group until stop is called;
// stop waits for the runner to commit and leave.
func (r *Replayer) Start(ctx context.Context, gen int, tz string) (func() error, error) {
	loc, err := domain.LoadZone(tz)
	if err != nil {
		return nil, err
	}
	run, err := consumer.New(r.Kafka, r.Store.DB(), consumer.Options{Group: r.Group(gen), Topics: Topics, Types: Types, Serialize: r.Group(gen),
		Handler: Handler(store.Projector{Gen: gen, Loc: loc}, r.Log), Scope: Scope(gen), Logger: r.Log})
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- run.Run(cctx) }()
	return func() error {
		cancel()
		return <-done
	}, nil
}

// Lag is how many messages before ends gen's group has not committed yet.
func (r *Replayer) Lag(ctx context.Context, gen int, ends app.Offsets) (int64, error) {
	sc, err := kafka.NewSaramaConfig(r.Kafka)
	if err != nil {
		return 0, err
	}
	admin, err := sarama.NewClusterAdmin(r.Kafka.WithDefaults().Brokers, sc)
	if err != nil {
		return 0, fmt.Errorf("kafka admin: %w", err)
	}
	defer func() { _ = admin.Close() }()
	req := map[string][]int32{}
	for topic, parts := range ends {
		for p := range parts {
			req[topic] = append(req[topic], p)
		}
	}
	// The runner joins Kafka under the prefixed group id, like topics.
	res, err := admin.ListConsumerGroupOffsets(r.Kafka.Topic(r.Group(gen)), req)
	if err != nil {
		return 0, fmt.Errorf("group offsets: %w", err)
	}
	committed := map[string]map[int32]int64{}
	for topic, parts := range res.Blocks {
		committed[topic] = map[int32]int64{}
		for p, b := range parts {
			if b.Err != sarama.ErrNoError {
				return 0, fmt.Errorf("group offsets %s/%d: %w", topic, p, b.Err)
			}
			committed[topic][p] = b.Offset
		}
	}
	return app.Lag(ends, committed), nil
}
