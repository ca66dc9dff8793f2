// Package config is the identity service's configuration, read from the environment.
package config

import (
	"time"

	"evently.dev/libs/kafka"
	"evently.dev/libs/platform"
	"evently.dev/libs/redisx"
)

// Config is every setting of the identity service; the README's configuration table lists them.
type Config struct {
	platform.Common
	Kafka kafka.Config
	// Redis holds login throttles and the session revocations the gateway enforces; it
	// must be the gateway's Redis with the same REDIS_KEY_PREFIX.
	Redis redisx.Config
	Token Token
	// Password hashing: argon2id (RFC 9106) with OWASP's minimum parameters by default;
	// each hash records its own parameters, so raising them later keeps old hashes valid.
	PasswordMemoryKiB   uint32 `envconfig:"PASSWORD_ARGON2_MEMORY_KIB" default:"19456"`
	PasswordIterations  uint32 `envconfig:"PASSWORD_ARGON2_ITERATIONS" default:"2"`
	PasswordParallelism uint8  `envconfig:"PASSWORD_ARGON2_PARALLELISM" default:"1"`
	// PasswordConcurrency bounds simultaneous hashes so a login burst cannot exhaust memory
	// (each hash holds PASSWORD_ARGON2_MEMORY_KIB); 0 means 2 × GOMAXPROCS.
	PasswordConcurrency int `envconfig:"PASSWORD_HASH_CONCURRENCY" default:"0"`
	Admin               Admin
	// Login throttle per e-mail address: after LOGIN_THROTTLE_FREE_FAILURES consecutive
	// failures each attempt waits LOGIN_THROTTLE_BASE_DELAY, doubling per failure up to
	// LOGIN_THROTTLE_MAX_DELAY (429 with Retry-After meanwhile); a success clears it.
	LoginFreeFailures int           `envconfig:"LOGIN_THROTTLE_FREE_FAILURES" default:"5"`
	LoginBaseDelay    time.Duration `envconfig:"LOGIN_THROTTLE_BASE_DELAY" default:"1s"`
	LoginMaxDelay     time.Duration `envconfig:"LOGIN_THROTTLE_MAX_DELAY" default:"15m"`
	// RefreshCleanupInterval is how often expired refresh tokens are deleted.
	RefreshCleanupInterval time.Duration `envconfig:"REFRESH_TOKEN_CLEANUP_INTERVAL" default:"1h"`
}

// Token holds the JWT and refresh-token settings. The gateway's JWT_ISSUER and
// JWT_AUDIENCE must match.
type Token struct {
	Issuer     string        `envconfig:"JWT_ISSUER" default:"evently-identity"`
	Audience   string        `envconfig:"JWT_AUDIENCE" default:"evently-api"`
	AccessTTL  time.Duration `envconfig:"ACCESS_TOKEN_TTL" default:"15m"`
	RefreshTTL time.Duration `envconfig:"REFRESH_TOKEN_TTL" default:"168h"`
	// SigningKey is a PKCS#8 PEM private key (Ed25519 or ECDSA P-256), or SigningKeyFile a
	// path to one (a mounted Kubernetes secret). With neither, a key is generated once and
	// kept in the identity schema so every replica and restart signs with the same key.
	SigningKey     string `envconfig:"JWT_SIGNING_KEY" mask:"true"`
	SigningKeyFile string `envconfig:"JWT_SIGNING_KEY_FILE"`
	// KeyEncryptionKey (32 random bytes, base64) seals generated signing keys in the
	// database with AES-256-GCM; generated keys are refused without it.
	KeyEncryptionKey     string `envconfig:"JWT_KEY_ENCRYPTION_KEY" mask:"true"`
	KeyEncryptionKeyFile string `envconfig:"JWT_KEY_ENCRYPTION_KEY_FILE"`
	// PreviousPublicKey (PEM, public or private) stays in the JWKS after a rotation so tokens
	// signed with it remain valid until they expire.
	PreviousPublicKey     string `envconfig:"JWT_PREVIOUS_PUBLIC_KEY"`
	PreviousPublicKeyFile string `envconfig:"JWT_PREVIOUS_PUBLIC_KEY_FILE"`
}

// Admin configures the bootstrap administrator, created or updated at every start so the
// first ADMIN exists without a manual step.
type Admin struct {
	Bootstrap bool   `envconfig:"ADMIN_BOOTSTRAP" default:"true"`
	Email     string `envconfig:"ADMIN_EMAIL" default:"admin@evently.local"`
	Password  string `envconfig:"ADMIN_PASSWORD" default:"evently-admin" mask:"true"`
	FirstName string `envconfig:"ADMIN_FIRST_NAME" default:"Evently"`
	LastName  string `envconfig:"ADMIN_LAST_NAME" default:"Admin"`
}
