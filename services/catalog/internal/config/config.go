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
}
