// Package config is the waitlist service's configuration, read from the environment.
package config

import (
	"fmt"
	"time"

	"evently.dev/libs/kafka"
	"evently.dev/libs/platform"
)

// Config is every setting of the waitlist service; the README's configuration table lists them.
type Config struct {
	platform.Common
	Kafka     kafka.Config
	Inventory Inventory
	Offer     Offer
	SMTP      SMTP
	Notify    Notify
}

// Inventory configures the synchronous client of inventory (seat availability and offer holds).
type Inventory struct {
	// URL is inventory's base URL (internal API under /internal/v1).
	URL string `envconfig:"INVENTORY_URL" default:"http://127.0.0.1:8083"`
	// Timeout bounds one attempt of an inventory call.
	Timeout time.Duration `envconfig:"INVENTORY_TIMEOUT" default:"5s"`
	// Retries is how many more attempts an idempotent call (reads, releasing an offer) gets
	// after a transport error or a 429/502/503/504; placing a hold is never retried.
	Retries int `envconfig:"INVENTORY_RETRIES" default:"2"`
	// RetryBackoff is the first wait between attempts; it doubles each time.
	RetryBackoff time.Duration `envconfig:"INVENTORY_RETRY_BACKOFF" default:"100ms"`
	// MaxIdleConns is the keep-alive pool size towards inventory.
	MaxIdleConns int `envconfig:"INVENTORY_MAX_IDLE_CONNS" default:"256"`
}

// Offer configures offer rounds.
type Offer struct {
	// Window is how long an offered user's seats stay reserved for them.
	Window time.Duration `envconfig:"WAITLIST_OFFER_WINDOW" default:"15m"`
	// PollInterval is how often the round worker looks for events that need a round.
	PollInterval time.Duration `envconfig:"WAITLIST_ROUND_POLL_INTERVAL" default:"250ms"`
	// MaxBackoff caps the wait before a failed round (inventory down) is tried again.
	MaxBackoff time.Duration `envconfig:"WAITLIST_ROUND_MAX_BACKOFF" default:"30s"`
	// SweepInterval and SweepGrace end offers whose window passed more than SweepGrace ago
	// while inventory never announced their hold's end (a lost hold.released).
	SweepInterval time.Duration `envconfig:"WAITLIST_OFFER_SWEEP_INTERVAL" default:"30s"`
	SweepGrace    time.Duration `envconfig:"WAITLIST_OFFER_SWEEP_GRACE" default:"1m"`
}

// SMTP configures the mail server the notification sender delivers through.
type SMTP struct {
	Host     string `envconfig:"SMTP_HOST" default:"127.0.0.1"`
	Port     int    `envconfig:"SMTP_PORT" default:"1025"`
	Username string `envconfig:"SMTP_USERNAME"`
	Password string `envconfig:"SMTP_PASSWORD" mask:"true"`
	// TLS is none, starttls (required) or tls (implicit TLS, usually port 465).
	TLS string `envconfig:"SMTP_TLS" default:"none"`
	// From is the sender of every email.
	From string `envconfig:"MAIL_FROM" default:"Evently <no-reply@evently.local>"`
	// Timeout bounds one SMTP conversation.
	Timeout time.Duration `envconfig:"SMTP_TIMEOUT" default:"10s"`
}

// Notify configures the notification sender worker.
type Notify struct {
	// PollInterval is how often the sender looks for due notifications.
	PollInterval time.Duration `envconfig:"NOTIFY_POLL_INTERVAL" default:"500ms"`
	// Batch is how many notifications one pass claims.
	Batch int `envconfig:"NOTIFY_BATCH" default:"100"`
	// MaxAttempts is how many deliveries are tried before a notification is marked failed.
	MaxAttempts int `envconfig:"NOTIFY_MAX_ATTEMPTS" default:"12"`
	// MinBackoff and MaxBackoff bound the doubling wait between delivery attempts.
	MinBackoff time.Duration `envconfig:"NOTIFY_MIN_BACKOFF" default:"5s"`
	MaxBackoff time.Duration `envconfig:"NOTIFY_MAX_BACKOFF" default:"15m"`
}

// Validate checks settings envconfig cannot, so a typo fails at start-up.
func (c *Config) Validate() error {
	switch c.SMTP.TLS {
	case "none", "starttls", "tls":
	default:
		return fmt.Errorf("configuration: SMTP_TLS must be none, starttls or tls, not %q", c.SMTP.TLS)
	}
	if c.Offer.Window < time.Second {
		return fmt.Errorf("configuration: WAITLIST_OFFER_WINDOW must be at least 1s")
	}
	if c.Offer.SweepInterval <= 0 || c.Offer.SweepGrace < 0 {
		return fmt.Errorf("configuration: WAITLIST_OFFER_SWEEP_INTERVAL must be positive and WAITLIST_OFFER_SWEEP_GRACE not negative")
	}
	if c.Notify.Batch < 1 || c.Notify.MaxAttempts < 1 {
		return fmt.Errorf("configuration: NOTIFY_BATCH and NOTIFY_MAX_ATTEMPTS must be positive")
	}
	return nil
}
