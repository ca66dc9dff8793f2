// Package config is the booking service's configuration, read from the environment.
package config

import (
	"time"

	"evently.dev/libs/kafka"
	"evently.dev/libs/platform"
)

// Config is every setting of the booking service; the README's configuration table lists them.
type Config struct {
	platform.Common
	Kafka     kafka.Config
	Inventory Inventory
	Reconcile Reconcile
	Commit    Commit
	Sales     Sales
	// PaymentProvider names the payment provider; "simulated" is the only one so far.
	PaymentProvider string `envconfig:"PAYMENT_PROVIDER" default:"simulated"`
	// PaymentSimulateDecline lists payment methods the simulated provider declines, like a
	// real provider's test cards: a confirm with one of them fails with 402
	// payment_declined and its seats return to sale. Empty (the default) declines nothing.
	PaymentSimulateDecline []string `envconfig:"PAYMENT_SIMULATE_DECLINE_METHODS"`
}

// Inventory configures the synchronous client of inventory's internal API.
type Inventory struct {
	// URL is inventory's base URL (internal API under /internal/v1).
	URL string `envconfig:"INVENTORY_URL" default:"http://127.0.0.1:8083"`
	// Timeout bounds one attempt of an inventory call.
	Timeout time.Duration `envconfig:"INVENTORY_TIMEOUT" default:"5s"`
	// Retries is how many more attempts an idempotent call (commit) gets after a transport
	// error or a 502/503/504; refusals (4xx) are never retried.
	Retries int `envconfig:"INVENTORY_RETRIES" default:"2"`
	// RetryBackoff is the first wait between attempts; it doubles each time.
	RetryBackoff time.Duration `envconfig:"INVENTORY_RETRY_BACKOFF" default:"100ms"`
	// MaxIdleConns is the keep-alive pool size towards inventory; an on-sale rush confirms
	// many bookings at once, so it is far above net/http's default of 2 per host.
	MaxIdleConns int `envconfig:"INVENTORY_MAX_IDLE_CONNS" default:"256"`
}

// Reconcile configures the worker that finishes bookings a crash left PENDING.
type Reconcile struct {
	// Interval is how often the reconciler looks for stuck bookings.
	Interval time.Duration `envconfig:"BOOKING_RECONCILE_INTERVAL" default:"10s"`
	// MinAge leaves young PENDING bookings to the request that is still working on them.
	MinAge time.Duration `envconfig:"BOOKING_RECONCILE_MIN_AGE" default:"5s"`
	// Batch is how many bookings one pass claims.
	Batch int `envconfig:"BOOKING_RECONCILE_BATCH" default:"50"`
	// Lease is how long a claimed booking is left alone before it may be claimed again
	// (a replica that died mid-pass loses its claim after this).
	Lease time.Duration `envconfig:"BOOKING_RECONCILE_LEASE" default:"30s"`
}

// Sales configures the check of inventory's sales (seats.sold) against the bookings.
type Sales struct {
	// CheckInterval is how often noted sales are checked.
	CheckInterval time.Duration `envconfig:"BOOKING_SALES_CHECK_INTERVAL" default:"2s"`
	// Grace is how old a sale must be before its missing booking is written for it: the
	// request that made the sale writes it within milliseconds unless it died.
	Grace time.Duration `envconfig:"BOOKING_SALES_GRACE" default:"5s"`
	// Batch is how many unbooked sales one pass writes at most.
	Batch int `envconfig:"BOOKING_SALES_BATCH" default:"200"`
}

// Commit configures how concurrent confirmations share one transaction.
type Commit struct {
	// MaxBatch bounds the bookings one transaction writes.
	MaxBatch int `envconfig:"BOOKING_COMMIT_MAX_BATCH" default:"128"`
	// Workers is how many such transactions may be in flight at once.
	Workers int `envconfig:"BOOKING_COMMIT_WORKERS" default:"2"`
}
