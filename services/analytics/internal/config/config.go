// Package config is the analytics service's configuration, read from the environment.
package config

import (
	"time"

	"evently.dev/libs/kafka"
	"evently.dev/libs/platform"
)

// Config is every setting of the analytics service; the README's configuration table lists them.
type Config struct {
	platform.Common
	Kafka     kafka.Config
	Analytics Analytics
}

// Analytics holds the service's own settings.
type Analytics struct {
	// Timezone is the IANA zone that days, weeks, months and hours are cut in. It applies
	// to the generation built next: changing it takes effect through `analytics rebuild`.
	Timezone string `envconfig:"ANALYTICS_TIMEZONE" default:"UTC"`
	// GroupBase names the consumer groups: base + "-g<generation>" (the Kafka group id also
	// gets KAFKA_TOPIC_PREFIX, added by the consumer runner).
	GroupBase string `envconfig:"ANALYTICS_GROUP" default:"analytics"`
	// GenerationPoll is how often a serving replica checks whether a rebuild switched the
	// generation, and so how long after a switch it keeps filling the old one.
	GenerationPoll time.Duration `envconfig:"ANALYTICS_GENERATION_POLL" default:"5s"`
	// RebuildTimeout bounds `analytics rebuild` catching up with the end offsets it saw at start.
	RebuildTimeout time.Duration `envconfig:"ANALYTICS_REBUILD_TIMEOUT" default:"1h"`
	// LiveMinutes is how many recent minutes the live view returns as buckets.
	LiveMinutes int `envconfig:"ANALYTICS_LIVE_MINUTES" default:"15"`
}
