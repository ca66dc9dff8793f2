// Package config is the gateway's configuration, read from the environment.
package config

import (
	"time"

	"evently.dev/libs/assertion"
	"evently.dev/libs/httpserver"
	"evently.dev/libs/redisx"
)

// Config is every setting of the gateway; the README's configuration table lists them.
type Config struct {
	LogLevel  string `envconfig:"LOG_LEVEL" default:"info"`
	HTTP      httpserver.Config
	Assertion assertion.Config
	Redis     redisx.Config
	Auth      Auth
	RateLimit RateLimit
	CORS      CORS

	IdentityURL  string `envconfig:"IDENTITY_URL" default:"http://127.0.0.1:8081"`
	CatalogURL   string `envconfig:"CATALOG_URL" default:"http://127.0.0.1:8082"`
	InventoryURL string `envconfig:"INVENTORY_URL" default:"http://127.0.0.1:8083"`
	BookingURL   string `envconfig:"BOOKING_URL" default:"http://127.0.0.1:8084"`
	WaitlistURL  string `envconfig:"WAITLIST_URL" default:"http://127.0.0.1:8085"`
	AnalyticsURL string `envconfig:"ANALYTICS_URL" default:"http://127.0.0.1:8086"`

	// UpstreamTimeout bounds how long an upstream may take to send response headers (504 after).
	UpstreamTimeout time.Duration `envconfig:"UPSTREAM_TIMEOUT" default:"15s"`
	// UpstreamMaxIdlePerHost keeps enough warm connections per service for a rush; Go's
	// default of 2 costs a reverse proxy about a third of its throughput.
	UpstreamMaxIdlePerHost int `envconfig:"UPSTREAM_MAX_IDLE_PER_HOST" default:"256"`
	// UpstreamRetries resends an idempotent request (GET, HEAD, OPTIONS, or a write with an
	// Idempotency-Key) when the upstream refused or reset the connection before answering,
	// so a service restart does not surface as an error; backoff starts at UpstreamRetryBackoff
	// and doubles (defaults: 100+200+400+800 ms, about 1.5 s in all).
	UpstreamRetries      int           `envconfig:"UPSTREAM_RETRIES" default:"4"`
	UpstreamRetryBackoff time.Duration `envconfig:"UPSTREAM_RETRY_BACKOFF" default:"100ms"`
	// ReadCacheTTL is how long the gateway answers GET /api/v1/events/{id} and
	// /api/v1/events/{id}/availability from memory (per role and encoding, with an ETag);
	// 0 turns the read cache off. Live seat changes still reach clients through the stream.
	ReadCacheTTL time.Duration `envconfig:"READ_CACHE_TTL" default:"500ms"`
	// TrustedProxies lists CIDRs of load balancers whose X-Forwarded-For is believed; a
	// client's own X-Forwarded-For is ignored, so nobody can pick the IP they are limited by.
	TrustedProxies []string `envconfig:"TRUSTED_PROXIES"`
}

// Auth configures access-token verification; issuer and audience must match identity's.
type Auth struct {
	Issuer   string `envconfig:"JWT_ISSUER" default:"evently-identity"`
	Audience string `envconfig:"JWT_AUDIENCE" default:"evently-api"`
	// Leeway absorbs clock skew between identity and the gateway for exp, nbf and iat.
	Leeway time.Duration `envconfig:"JWT_LEEWAY" default:"30s"`
	// JWKSURL defaults to IDENTITY_URL + /.well-known/jwks.json.
	JWKSURL string `envconfig:"JWKS_URL"`
	// JWKSRefreshInterval re-reads the key set in the background this often.
	JWKSRefreshInterval time.Duration `envconfig:"JWKS_REFRESH_INTERVAL" default:"5m"`
	// JWKSMinRefreshInterval bounds refetches caused by unknown kids, so tokens with
	// made-up kids cannot flood identity.
	JWKSMinRefreshInterval time.Duration `envconfig:"JWKS_MIN_REFRESH_INTERVAL" default:"10s"`
	// VerifyCacheSize is how many verified tokens are remembered until they expire
	// (skipping repeat signature checks); 0 turns the cache off.
	VerifyCacheSize int `envconfig:"JWT_VERIFY_CACHE_SIZE" default:"10000"`
}

// RateLimit holds the per-minute limits (GCRA in Redis, shared by every replica).
type RateLimit struct {
	Enabled bool `envconfig:"RATE_LIMIT_ENABLED" default:"true"`
	// GlobalPerMinute applies to every API request, per client IP.
	GlobalPerMinute int `envconfig:"GLOBAL_RATE_LIMIT_PER_MINUTE" default:"300"`
	// AuthPerMinute applies to /api/v1/auth/*, per client IP (password guessing).
	AuthPerMinute int `envconfig:"AUTH_RATE_LIMIT_PER_MINUTE" default:"30"`
	// BookingPerMinute applies to writes on seat holds and bookings, per user.
	BookingPerMinute int `envconfig:"BOOKING_RATE_LIMIT_PER_MINUTE" default:"80"`
	// RedisTimeout bounds one limiter call; past it the request passes (fail open).
	RedisTimeout time.Duration `envconfig:"RATE_LIMIT_REDIS_TIMEOUT" default:"100ms"`
	// StreamsPerClient and StreamsTotal cap concurrent availability streams (SSE) on one
	// gateway replica, per client IP (429 above) and overall (503 above); 0 = no cap.
	StreamsPerClient int `envconfig:"SSE_MAX_STREAMS_PER_CLIENT" default:"6"`
	StreamsTotal     int `envconfig:"SSE_MAX_STREAMS" default:"5000"`
}

// CORS configures cross-origin access for browser clients.
type CORS struct {
	// AllowedOrigins are exact origins (scheme://host[:port]); "*" allows any origin but
	// then credentials are never allowed.
	AllowedOrigins   []string `envconfig:"CORS_ALLOWED_ORIGINS" default:"http://localhost:3000,http://127.0.0.1:3000"`
	AllowCredentials bool     `envconfig:"CORS_ALLOW_CREDENTIALS" default:"false"`
	MaxAge           int      `envconfig:"CORS_MAX_AGE_SECONDS" default:"600"`
}

// JWKS returns the URL of identity's key set.
func (c Config) JWKS() string {
	if c.Auth.JWKSURL != "" {
		return c.Auth.JWKSURL
	}
	return c.IdentityURL + "/.well-known/jwks.json"
}

// Upstreams maps each service name to its base URL.
func (c Config) Upstreams() map[string]string {
	return map[string]string{
		"identity":  c.IdentityURL,
		"catalog":   c.CatalogURL,
		"inventory": c.InventoryURL,
		"booking":   c.BookingURL,
		"waitlist":  c.WaitlistURL,
		"analytics": c.AnalyticsURL,
	}
}
