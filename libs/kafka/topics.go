package kafka

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/IBM/sarama"
)

// TopicSpec describes a topic a service needs. Topic auto-creation is off on our brokers,
// so partitions and retention are always chosen here, on purpose, never by a broker default.
type TopicSpec struct {
	// Name is the logical topic name; EnsureTopics adds Config.TopicPrefix.
	Name string
	// Partitions overrides Config.Partitions when positive.
	Partitions int32
	// ReplicationFactor overrides Config.ReplicationFactor when positive.
	ReplicationFactor int16
	// RetentionMS overrides Config.RetentionMS when non-zero (-1 keeps messages forever).
	RetentionMS int64
	// DLQ also creates Name+".dlq", where consumers park poison messages.
	DLQ bool
}

// EnsureTopics creates the topics in specs that do not exist yet and waits until each one
// has a leader on every partition, so a producer started right after does not race topic
// creation. Names are logical: EnsureTopics applies cfg.TopicPrefix itself, the same way
// the outbox relay and the consumer runner do, so callers never handle physical names.
// Existing topics are left untouched (their partition count and retention are not changed).
func EnsureTopics(ctx context.Context, cfg Config, specs ...TopicSpec) error {
	cfg = cfg.WithDefaults()
	admin, err := newAdmin(cfg)
	if err != nil {
		return err
	}
	defer func() { _ = admin.Close() }()

	seen := map[string]bool{}
	var order []string
	for _, s := range specs {
		if s.Name == "" {
			return errors.New("ensure topics: empty topic name")
		}
		detail := topicDetail(cfg, s)
		names := []string{cfg.Topic(s.Name)}
		if s.DLQ {
			names = append(names, cfg.DLQTopic(s.Name))
		}
		for _, name := range names {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("ensure topics: %w", err)
			}
			err := admin.CreateTopic(name, detail, false)
			if err != nil && !errors.Is(err, sarama.ErrTopicAlreadyExists) {
				return fmt.Errorf("create topic %s: %w", name, err)
			}
			if !seen[name] {
				seen[name] = true
				order = append(order, name)
			}
		}
	}
	return waitForTopics(ctx, admin, order)
}

// DeleteTopics deletes the given physical topics, ignoring those that do not exist. Tests
// use it in t.Cleanup; services never delete topics.
func DeleteTopics(ctx context.Context, cfg Config, names ...string) error {
	admin, err := newAdmin(cfg.WithDefaults())
	if err != nil {
		return err
	}
	defer func() { _ = admin.Close() }()
	var errs []error
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("delete topics: %w", err)
		}
		if err := admin.DeleteTopic(name); err != nil && !errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
			errs = append(errs, fmt.Errorf("delete topic %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

func newAdmin(cfg Config) (sarama.ClusterAdmin, error) {
	sc, err := NewSaramaConfig(cfg)
	if err != nil {
		return nil, err
	}
	admin, err := sarama.NewClusterAdmin(cfg.Brokers, sc)
	if err != nil {
		return nil, fmt.Errorf("kafka admin for %v: %w", cfg.Brokers, err)
	}
	return admin, nil
}

func topicDetail(cfg Config, s TopicSpec) *sarama.TopicDetail {
	d := &sarama.TopicDetail{
		NumPartitions:     cfg.Partitions,
		ReplicationFactor: cfg.ReplicationFactor,
	}
	if s.Partitions > 0 {
		d.NumPartitions = s.Partitions
	}
	if s.ReplicationFactor > 0 {
		d.ReplicationFactor = s.ReplicationFactor
	}
	retention := cfg.RetentionMS
	if s.RetentionMS != 0 {
		retention = s.RetentionMS
	}
	r := strconv.FormatInt(retention, 10)
	d.ConfigEntries = map[string]*string{"retention.ms": &r}
	return d
}

// waitForTopics polls metadata until every topic reports all partitions with a leader;
// creation is asynchronous on the controller and metadata lags it briefly.
func waitForTopics(ctx context.Context, admin sarama.ClusterAdmin, names []string) error {
	if len(names) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		var lastErr error
		metas, err := admin.DescribeTopics(names)
		if err != nil {
			lastErr = err
		} else {
			lastErr = topicsReady(metas)
		}
		if lastErr == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for topics %v: %w (last: %w)", names, ctx.Err(), lastErr)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func topicsReady(metas []*sarama.TopicMetadata) error {
	for _, m := range metas {
		if !errors.Is(m.Err, sarama.ErrNoError) {
			return fmt.Errorf("topic %s: %w", m.Name, m.Err)
		}
		if len(m.Partitions) == 0 {
			return fmt.Errorf("topic %s: no partitions yet", m.Name)
		}
		for _, p := range m.Partitions {
			if !errors.Is(p.Err, sarama.ErrNoError) || p.Leader < 0 {
				return fmt.Errorf("topic %s partition %d: no leader yet", m.Name, p.ID)
			}
		}
	}
	return nil
}
