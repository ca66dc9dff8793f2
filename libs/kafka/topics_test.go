package kafka_test

import (
	"context"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"evently.dev/libs/kafka"
	"evently.dev/libs/kafka/kafkatest"
)

func TestIntegrationEnsureTopicsAndRoundTrip(t *testing.T) {
	cfg := kafkatest.Config(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	spec := kafka.TopicSpec{Name: "orders.v1", Partitions: 2, RetentionMS: 3600000, DLQ: true}
	t.Cleanup(func() {
		_ = kafka.DeleteTopics(context.Background(), cfg, cfg.Topic(spec.Name), cfg.DLQTopic(spec.Name))
	})
	for range 2 { // the second call finds the topics and must not fail
		if err := kafka.EnsureTopics(ctx, cfg, spec); err != nil {
			t.Fatal(err)
		}
	}

	sc, err := kafka.NewSaramaConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := sarama.NewClusterAdmin(cfg.Brokers, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = admin.Close() }()
	metas, err := admin.DescribeTopics([]string{cfg.Topic(spec.Name), cfg.DLQTopic(spec.Name)})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range metas {
		if len(m.Partitions) != 2 {
			t.Fatalf("%s has %d partitions, want 2 (err %v)", m.Name, len(m.Partitions), m.Err)
		}
		entries, err := admin.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: m.Name, ConfigNames: []string{"retention.ms"}}) //nolint:staticcheck // one resource; the batch API adds nothing here
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 || entries[0].Value != "3600000" {
			t.Fatalf("%s retention.ms = %+v, want 3600000", m.Name, entries)
		}
	}

	e, err := kafka.NewEvent(cfg.Topic(spec.Name), "k1", "evently.test.created.v1", "/test", map[string]string{"a": "b"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := kafkatest.Producer(t, cfg).SendMessage(e.ProducerMessage()); err != nil {
		t.Fatal(err)
	}
	got := kafkatest.ReadN(t, cfg, cfg.Topic(spec.Name), 1, 15*time.Second)
	back, err := kafka.EventFromMessage(got[0])
	if err != nil {
		t.Fatal(err)
	}
	if back.ID != e.ID || string(got[0].Key) != "k1" || string(back.Data) != `{"a":"b"}` {
		t.Fatalf("read back %+v, want %+v", back, e)
	}
}

func TestIntegrationDefaultRetentionIsExplicit(t *testing.T) {
	cfg := kafkatest.Config(t)
	kafkatest.Topics(t, cfg, "history.v1")
	sc, err := kafka.NewSaramaConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := sarama.NewClusterAdmin(cfg.Brokers, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = admin.Close() }()
	entries, err := admin.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: cfg.Topic("history.v1"), ConfigNames: []string{"retention.ms"}}) //nolint:staticcheck // one resource; the batch API adds nothing here
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Value != "-1" || entries[0].Default {
		t.Fatalf("retention.ms = %+v, want an explicit -1 (keep forever)", entries)
	}
}
