// Package config is the inventory service's configuration, read from the environment.
package config

import (
	"time"

	"evently.dev/libs/kafka"
	"evently.dev/libs/platform"
	"evently.dev/libs/redisx"
)

// Config is every setting of the inventory service; the README's configuration table lists them.
type Config struct {
	platform.Common
	Redis redisx.Config
	Kafka kafka.Config
	Hold  Hold
	// Commit configures the group commit of sales.
	Commit Commit
	// EventCacheTTL bounds how stale an event's sale status, prices and hold limit may be in
	// one replica's memory; the layout itself is immutable once published and cached for good.
	EventCacheTTL time.Duration `envconfig:"EVENT_CACHE_TTL" default:"2s"`
	// LayoutCacheEvents is how many events' expanded seat layouts one replica keeps in memory.
	LayoutCacheEvents int `envconfig:"LAYOUT_CACHE_EVENTS" default:"32"`
	// AvailabilityCacheTTL is how long one replica answers seat maps, availability and
	// best-available picks from the seat states it last read from Redis (0: read every time).
	// Holds stay exact: Redis's hold script decides every seat.
	AvailabilityCacheTTL time.Duration `envconfig:"AVAILABILITY_CACHE_TTL" default:"250ms"`
	// SSEHeartbeat is the interval of comment lines that keep idle streams open through proxies.
	SSEHeartbeat time.Duration `envconfig:"SSE_HEARTBEAT" default:"15s"`
	// SSEBuffer is each subscriber's queue of pending changes; a slower client loses changes
	// (and is told to reload) rather than slowing anyone else.
	SSEBuffer int `envconfig:"SSE_BUFFER" default:"256"`
	// SSEMaxDuration ends a stream after this long (0: never); browsers' EventSource
	// reconnects by itself, so an abandoned tab cannot hold a subscription for ever.
	SSEMaxDuration time.Duration `envconfig:"SSE_MAX_DURATION" default:"1h"`
}

// Hold configures seat holds.
type Hold struct {
	// TTL is how long a hold lives unless extended.
	TTL time.Duration `envconfig:"HOLD_TTL" default:"10m"`
	// MaxLifetime caps a hold's total life, extensions included.
	MaxLifetime time.Duration `envconfig:"HOLD_MAX_LIFETIME" default:"30m"`
	// SweepInterval is how often lapsed holds are looked for and announced as hold.expired.
	SweepInterval time.Duration `envconfig:"HOLD_SWEEP_INTERVAL" default:"1s"`
	// BestAvailableRetries is how many fresh snapshots best-available tries after losing a race.
	BestAvailableRetries int `envconfig:"HOLD_BEST_AVAILABLE_RETRIES" default:"3"`
	// MaxSeats bounds one request's seat count whatever the event's limit (waitlist offers too).
	MaxSeats int `envconfig:"HOLD_MAX_SEATS" default:"50"`
	// OfferMaxTTL bounds the ttl_seconds of an internal (waitlist offer) hold.
	OfferMaxTTL time.Duration `envconfig:"HOLD_OFFER_MAX_TTL" default:"2h"`
}

// Commit configures how concurrent sales share ledger transactions.
type Commit struct {
	// MaxBatch bounds the sales one ledger transaction carries.
	MaxBatch int `envconfig:"COMMIT_MAX_BATCH" default:"128"`
	// Workers is how many ledger transactions of sales may be in flight at once.
	Workers int `envconfig:"COMMIT_WORKERS" default:"2"`
}
