// Package kafkatest helps integration tests use the real local Kafka broker without
// stepping on each other: a unique topic prefix per test, topics created and deleted
// around the test, and a plain consumer to read back what the code under test published.
package kafkatest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"evently.dev/libs/kafka"
	"evently.dev/libs/testkit"
)

// Config returns a Kafka configuration whose topic prefix is unique to t, with three
// partitions so per-key ordering is exercised across partitions.
func Config(t testing.TB) kafka.Config {
	t.Helper()
	testkit.NeedsServer(t, "Kafka")
	return kafka.Config{
		Brokers:     testkit.KafkaBrokers(),
		TopicPrefix: testkit.Name(t, "t") + ".",
		ClientID:    "evently-test",
		Partitions:  3,
		// Tests have one member per group; a short session lets a restarted consumer
		// take over quickly even if the previous one did not leave cleanly.
		SessionTimeout:    6 * time.Second,
		HeartbeatInterval: 500 * time.Millisecond,
		RebalanceTimeout:  10 * time.Second,
	}.WithDefaults()
}

// Topics creates the logical topics (and their dead-letter topics) under cfg's prefix and
// deletes them when the test ends.
func Topics(t testing.TB, cfg kafka.Config, names ...string) {
	t.Helper()
	specs := make([]kafka.TopicSpec, len(names))
	var physical []string
	for i, n := range names {
		specs[i] = kafka.TopicSpec{Name: n, DLQ: true}
		physical = append(physical, cfg.Topic(n), cfg.DLQTopic(n))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := kafka.EnsureTopics(ctx, cfg, specs...); err != nil {
		t.Fatalf("kafkatest: ensure topics on %v (is Kafka up? start it with `make infra-up`): %v", cfg.Brokers, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := kafka.DeleteTopics(ctx, cfg, physical...); err != nil {
			t.Logf("kafkatest: delete topics: %v", err)
		}
	})
}

// Producer returns a producer for cfg that is closed when the test ends.
func Producer(t testing.TB, cfg kafka.Config) sarama.SyncProducer {
	t.Helper()
	p, err := kafka.NewSyncProducer(cfg)
	if err != nil {
		t.Fatalf("kafkatest: producer: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// Collect reads the physical topic from the oldest offset of every partition until stop
// reports true for what arrived so far or wait passes, and returns what arrived, in
// arrival order (which is offset order within each partition).
func Collect(cfg kafka.Config, topic string, wait time.Duration, stop func(got []*sarama.ConsumerMessage) bool) ([]*sarama.ConsumerMessage, error) {
	sc, err := kafka.NewSaramaConfig(cfg)
	if err != nil {
		return nil, err
	}
	c, err := sarama.NewConsumer(cfg.Brokers, sc)
	if err != nil {
		return nil, fmt.Errorf("kafkatest: consumer: %w", err)
	}
	defer func() { _ = c.Close() }()
	parts, err := c.Partitions(topic)
	if err != nil {
		return nil, fmt.Errorf("kafkatest: partitions of %s: %w", topic, err)
	}
	msgs := make(chan *sarama.ConsumerMessage)
	done := make(chan struct{})
	var wg sync.WaitGroup
	defer func() { close(done); wg.Wait() }()
	for _, p := range parts {
		pc, err := c.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			return nil, fmt.Errorf("kafkatest: consume %s/%d: %w", topic, p, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { _ = pc.Close() }()
			for {
				select {
				case m := <-pc.Messages():
					select {
					case msgs <- m:
					case <-done:
						return
					}
				case <-done:
					return
				}
			}
		}()
	}
	var got []*sarama.ConsumerMessage
	timeout := time.NewTimer(wait)
	defer timeout.Stop()
	for !stop(got) {
		select {
		case m := <-msgs:
			got = append(got, m)
		case <-timeout.C:
			return got, nil
		}
	}
	return got, nil
}

// ReadN reads n messages from the physical topic, failing the test if fewer arrive
// within timeout.
func ReadN(t testing.TB, cfg kafka.Config, topic string, n int, timeout time.Duration) []*sarama.ConsumerMessage {
	t.Helper()
	got, err := Collect(cfg, topic, timeout, func(got []*sarama.ConsumerMessage) bool { return len(got) >= n })
	if err != nil {
		t.Fatalf("kafkatest: read %s: %v", topic, err)
	}
	if len(got) < n {
		t.Fatalf("kafkatest: read %s: got %d messages within %s, want %d", topic, len(got), timeout, n)
	}
	return got
}

// Header returns the value of the first header named key.
func Header(m *sarama.ConsumerMessage, key string) string {
	return kafka.ConsumerHeaders(m.Headers).Get(key)
}

// Group returns a consumer group id unique to t and deletes the group when the test ends.
// The name is logical: the runner (and this cleanup) add cfg.TopicPrefix.
// Call it before starting consumers, so their own cleanup (leaving the group) runs first.
func Group(t testing.TB, cfg kafka.Config) string {
	t.Helper()
	group := testkit.Name(t, "g")
	t.Cleanup(func() {
		sc, err := kafka.NewSaramaConfig(cfg)
		if err != nil {
			return
		}
		admin, err := sarama.NewClusterAdmin(cfg.Brokers, sc)
		if err != nil {
			return
		}
		defer func() { _ = admin.Close() }()
		if err := admin.DeleteConsumerGroup(cfg.Topic(group)); err != nil && !errors.Is(err, sarama.ErrGroupIDNotFound) {
			t.Logf("kafkatest: delete group %s: %v", group, err)
		}
	})
	return group
}
