// Package config is the catalog service's configuration, read from the environment.
package config

import (
	"time"

	"evently.dev/libs/kafka"
	"evently.dev/libs/platform"
	"evently.dev/libs/redisx"
)

// Config is every setting of the catalog service; the README's configuration table lists them.
type Config struct {
	platform.Common
	Redis redisx.Config
	Kafka kafka.Config
	// CacheTTL bounds how long a browse answer lives in Redis; changes invalidate sooner.
	// 0 turns the cache off.
	CacheTTL time.Duration `envconfig:"CATALOG_CACHE_TTL" default:"5m"`
	// CompleteInterval is how often PUBLISHED events whose end time has passed are moved to
	// COMPLETED (announced with event.updated); CompleteBatch bounds one transaction.
	CompleteInterval time.Duration `envconfig:"CATALOG_COMPLETE_INTERVAL" default:"1m"`
	CompleteBatch    int           `envconfig:"CATALOG_COMPLETE_BATCH" default:"100"`
}
