package kafka_test

import (
	"testing"

	"github.com/IBM/sarama"
	"github.com/kelseyhightower/envconfig"

	"evently.dev/libs/kafka"
)

func TestConfigFromEnvironment(t *testing.T) {
	t.Setenv("KAFKA_BROKERS", "a:9092,b:9092")
	t.Setenv("KAFKA_TOPIC_PREFIX", "staging.")
	var cfg kafka.Config
	if err := envconfig.Process("", &cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Brokers) != 2 || cfg.Brokers[1] != "b:9092" {
		t.Fatalf("brokers = %v", cfg.Brokers)
	}
	if cfg.Topic("booking.v1") != "staging.booking.v1" || cfg.DLQTopic("booking.v1") != "staging.booking.v1.dlq" {
		t.Fatalf("topic names: %s %s", cfg.Topic("booking.v1"), cfg.DLQTopic("booking.v1"))
	}
	if cfg.Partitions != 6 || cfg.ReplicationFactor != 1 || cfg.RetentionMS != kafka.DefaultRetentionMS {
		t.Fatalf("defaults not applied: %+v", cfg)
	}
	if cfg.RetentionMS != -1 {
		t.Fatalf("retention %d ms: history must be kept for replays", cfg.RetentionMS)
	}
	// envconfig's defaults and WithDefaults (for Config literals) must agree.
	d := kafka.Config{}.WithDefaults()
	if d.Partitions != cfg.Partitions || d.DialTimeout != cfg.DialTimeout || d.ClientID != cfg.ClientID ||
		d.RetentionMS != cfg.RetentionMS || d.SessionTimeout != cfg.SessionTimeout ||
		d.HeartbeatInterval != cfg.HeartbeatInterval || d.RebalanceTimeout != cfg.RebalanceTimeout ||
		d.ReplicationFactor != cfg.ReplicationFactor {
		t.Fatalf("envconfig defaults and WithDefaults disagree:\n%+v\n%+v", cfg, d)
	}
}

func TestNewSaramaConfig(t *testing.T) {
	sc, err := kafka.NewSaramaConfig(kafka.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if !sc.Producer.Idempotent || sc.Producer.RequiredAcks != sarama.WaitForAll || sc.Net.MaxOpenRequests != 1 {
		t.Fatal("producer is not idempotent with acks=all")
	}
	if !sc.Producer.Return.Successes || !sc.Consumer.Return.Errors {
		t.Fatal("sync producer or error draining not enabled")
	}
	if sc.Consumer.Offsets.Initial != sarama.OffsetOldest {
		t.Fatal("new groups must start at the oldest offset")
	}
	if !sc.Version.IsAtLeast(sarama.V4_0_0_0) {
		t.Fatalf("version %s is older than the 4.x brokers", sc.Version)
	}
	if s := sc.Consumer.Group.Rebalance.GroupStrategies; len(s) != 1 || s[0].Name() != sarama.StickyBalanceStrategyName {
		t.Fatalf("rebalance strategies %v, want sticky", s)
	}
}
