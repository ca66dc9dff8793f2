// Package kafka holds Evently's Kafka plumbing: broker configuration, the sarama settings
// every producer and consumer shares, topic creation, and the CloudEvents-in-headers event
// envelope that DESIGN §10 makes a public contract.
package kafka

import (
	"fmt"
	"time"

	"github.com/IBM/sarama"
)

// Config is the Kafka part of a service's configuration. Zero values fall back to the
// same defaults as the envconfig tags, so tests can build a Config literal with Brokers only.
type Config struct {
	// Brokers are the bootstrap servers; one reachable broker is enough to discover the rest.
	Brokers []string `envconfig:"KAFKA_BROKERS" default:"127.0.0.1:9092"`
	// TopicPrefix is prepended to every topic name so environments and tests sharing one
	// cluster never see each other's messages.
	TopicPrefix string `envconfig:"KAFKA_TOPIC_PREFIX"`
	// ClientID names this process in broker logs and quotas.
	ClientID string `envconfig:"KAFKA_CLIENT_ID" default:"evently"`
	// Partitions is the partition count of topics that EnsureTopics creates; it bounds how
	// many consumer replicas of one group can work in parallel.
	Partitions int32 `envconfig:"KAFKA_PARTITIONS" default:"6"`
	// ReplicationFactor of created topics; 1 suits a single local broker, 3 production.
	ReplicationFactor int16 `envconfig:"KAFKA_REPLICATION_FACTOR" default:"1"`
	// RetentionMS is retention.ms of created topics. It defaults to -1 (keep forever),
	// explicitly: analytics rebuilds its read models by replaying topics from the
	// beginning, and a rebuild equals live consumption only while the whole history is
	// there. Ticket sales are small (about a kilobyte per booking event).
	RetentionMS int64 `envconfig:"KAFKA_RETENTION_MS" default:"-1"`
	// DialTimeout bounds connecting to a broker, so an unreachable one fails fast and the
	// caller's retry loop (outbox relay, consumer runner) takes over.
	DialTimeout time.Duration `envconfig:"KAFKA_DIAL_TIMEOUT" default:"5s"`
	// SessionTimeout is how long the group coordinator waits for a silent consumer before
	// giving its partitions away.
	SessionTimeout time.Duration `envconfig:"KAFKA_SESSION_TIMEOUT" default:"10s"`
	// HeartbeatInterval is how often consumers heartbeat; it is also how quickly they notice
	// a rebalance, so it is kept well under SessionTimeout.
	HeartbeatInterval time.Duration `envconfig:"KAFKA_HEARTBEAT_INTERVAL" default:"1s"`
	// RebalanceTimeout is how long members get to finish in-flight work and rejoin during a
	// rebalance; sarama's 60 s default made restarts needlessly slow.
	RebalanceTimeout time.Duration `envconfig:"KAFKA_REBALANCE_TIMEOUT" default:"20s"`
	// FetchMinBytes is how much a consumer's fetch waits for (up to FetchMaxWait) before the
	// broker answers. With 1 byte every fetch in a rush returned a handful of messages, so
	// consumers made one small transaction (one fsync) per handful; waiting for a fuller
	// answer gives them larger batches and the broker fewer requests.
	FetchMinBytes int32 `envconfig:"KAFKA_FETCH_MIN_BYTES" default:"65536"`
	// FetchMaxWait bounds that wait: the most a quiet topic's message is delayed.
	FetchMaxWait time.Duration `envconfig:"KAFKA_FETCH_MAX_WAIT" default:"100ms"`
}

// Defaults mirror the envconfig tags for Config literals built in code.
const (
	DefaultBroker            = "127.0.0.1:9092"
	DefaultClientID          = "evently"
	DefaultPartitions        = 6
	DefaultReplicationFactor = 1
	DefaultRetentionMS       = int64(-1)
	DefaultDialTimeout       = 5 * time.Second
	DefaultSessionTimeout    = 10 * time.Second
	DefaultHeartbeatInterval = 1 * time.Second
	DefaultRebalanceTimeout  = 20 * time.Second
	DefaultFetchMinBytes     = int32(64 << 10)
	DefaultFetchMaxWait      = 100 * time.Millisecond
)

// DLQSuffix names a topic's dead-letter topic: poison messages of "x" are parked on "x.dlq".
const DLQSuffix = ".dlq"

// Topic returns the physical name of a logical topic, with the environment's prefix.
func (c Config) Topic(name string) string { return c.TopicPrefix + name }

// DLQTopic returns the physical name of the dead-letter topic of a logical topic.
func (c Config) DLQTopic(name string) string { return c.Topic(name) + DLQSuffix }

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	if len(c.Brokers) == 0 {
		c.Brokers = []string{DefaultBroker}
	}
	if c.ClientID == "" {
		c.ClientID = DefaultClientID
	}
	if c.Partitions == 0 {
		c.Partitions = DefaultPartitions
	}
	if c.ReplicationFactor == 0 {
		c.ReplicationFactor = DefaultReplicationFactor
	}
	if c.RetentionMS == 0 {
		c.RetentionMS = DefaultRetentionMS
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.SessionTimeout == 0 {
		c.SessionTimeout = DefaultSessionTimeout
	}
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if c.RebalanceTimeout == 0 {
		c.RebalanceTimeout = DefaultRebalanceTimeout
	}
	if c.FetchMinBytes == 0 {
		c.FetchMinBytes = DefaultFetchMinBytes
	}
	if c.FetchMaxWait == 0 {
		c.FetchMaxWait = DefaultFetchMaxWait
	}
	return c
}

// Version is the protocol version sarama speaks. The brokers run Apache Kafka 4.1, which
// dropped the old protocol versions sarama's default (2.8) would still negotiate with.
var Version = sarama.V4_1_0_0

// NewSaramaConfig builds the sarama configuration every Evently client uses: an idempotent
// producer that waits for all in-sync replicas (DESIGN §10: no lost or reordered events
// when a broker fails over), consumers that start new groups at the oldest offset (a new
// consumer must see history, not only what arrives after its first start), and sticky
// partition assignment so a rebalance moves as few partitions as possible.
func NewSaramaConfig(cfg Config) (*sarama.Config, error) {
	cfg = cfg.WithDefaults()
	sc := sarama.NewConfig()
	sc.Version = Version
	sc.ClientID = cfg.ClientID
	sc.Net.DialTimeout = cfg.DialTimeout
	sc.Metadata.AllowAutoTopicCreation = false

	sc.Producer.Idempotent = true
	sc.Producer.RequiredAcks = sarama.WaitForAll
	sc.Net.MaxOpenRequests = 1 // required by the idempotent producer; keeps per-partition order
	sc.Producer.Retry.Max = 10
	sc.Producer.Retry.Backoff = 100 * time.Millisecond
	sc.Producer.Return.Successes = true
	sc.Producer.Return.Errors = true
	sc.Producer.Timeout = 10 * time.Second

	sc.Consumer.Return.Errors = true
	sc.Consumer.Fetch.Min = cfg.FetchMinBytes
	sc.Consumer.MaxWaitTime = cfg.FetchMaxWait
	sc.Consumer.Offsets.Initial = sarama.OffsetOldest
	sc.Consumer.Offsets.AutoCommit.Enable = true
	sc.Consumer.Offsets.AutoCommit.Interval = time.Second
	sc.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{sarama.NewBalanceStrategySticky()}
	sc.Consumer.Group.Session.Timeout = cfg.SessionTimeout
	sc.Consumer.Group.Heartbeat.Interval = cfg.HeartbeatInterval
	sc.Consumer.Group.Rebalance.Timeout = cfg.RebalanceTimeout
	sc.Consumer.Group.Rebalance.Retry.Backoff = 500 * time.Millisecond

	if err := sc.Validate(); err != nil {
		return nil, fmt.Errorf("kafka config: %w", err)
	}
	return sc, nil
}

// NewSyncProducer connects an idempotent synchronous producer to cfg.Brokers. It fails
// when no broker is reachable; callers that must start without Kafka retry it.
func NewSyncProducer(cfg Config) (sarama.SyncProducer, error) {
	sc, err := NewSaramaConfig(cfg)
	if err != nil {
		return nil, err
	}
	p, err := sarama.NewSyncProducer(cfg.WithDefaults().Brokers, sc)
	if err != nil {
		return nil, fmt.Errorf("kafka producer for %v: %w", cfg.WithDefaults().Brokers, err)
	}
	return p, nil
}
