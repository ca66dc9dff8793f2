// Command identity runs Evently's identity service: "serve" (default), "migrate [up|down N]"
// or "rotate-key" (store a new generated signing key; replicas pick it up at restart while
// the JWKS keeps the previous one).
package main

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	"evently.dev/libs/contracts"
	"evently.dev/libs/platform"

	"evently.dev/services/identity/internal/app"
	"evently.dev/services/identity/internal/config"
	identityhttp "evently.dev/services/identity/internal/http"
	"evently.dev/services/identity/internal/password"
	"evently.dev/services/identity/internal/revocation"
	"evently.dev/services/identity/internal/store"
	"evently.dev/services/identity/internal/throttle"
	"evently.dev/services/identity/internal/token"
	"evently.dev/services/identity/migrations"
)

func main() {
	var cfg config.Config
	platform.Main(platform.Service{
		Name:          "identity",
		DefaultAddr:   ":8081",
		DefaultSchema: "identity",
		Config:        &cfg,
		Common:        &cfg.Common,
		Kafka:         &cfg.Kafka,
		Redis:         &cfg.Redis,
		Migrations:    migrations.FS,
		Topics:        []string{contracts.TopicIdentityUsers},
		Setup: func(ctx context.Context, rt *platform.Runtime) error {
			return setup(ctx, rt, cfg)
		},
		Commands: map[string]func(ctx context.Context, rt *platform.Runtime, args []string) error{
			"rotate-key": func(ctx context.Context, rt *platform.Runtime, _ []string) error {
				kek, err := loadKEK(cfg)
				if err != nil {
					return err
				}
				k, err := token.Generate()
				if err != nil {
					return err
				}
				sk, err := token.NewStoredKey(k, kek)
				if err != nil {
					return err
				}
				if err := store.New(rt.DB).AddSigningKey(ctx, sk); err != nil {
					return err
				}
				rt.Log.Info("new signing key stored; restart identity replicas to sign with it", "kid", k.ID)
				return nil
			},
		},
	})
}

// loadKEK reads JWT_KEY_ENCRYPTION_KEY or its file; nil when neither is set.
func loadKEK(cfg config.Config) (*token.KEK, error) {
	text, file := cfg.Token.KeyEncryptionKey, cfg.Token.KeyEncryptionKeyFile
	if text != "" && file != "" {
		return nil, fmt.Errorf("set JWT_KEY_ENCRYPTION_KEY or JWT_KEY_ENCRYPTION_KEY_FILE, not both")
	}
	if file != "" {
		b, err := os.ReadFile(file) //nolint:gosec // G304: the path is operator configuration
		if err != nil {
			return nil, fmt.Errorf("JWT_KEY_ENCRYPTION_KEY_FILE: %w", err)
		}
		text = string(b)
	}
	if text == "" {
		return nil, nil
	}
	kek, err := token.ParseKEK(text)
	if err != nil {
		return nil, fmt.Errorf("JWT_KEY_ENCRYPTION_KEY: %w", err)
	}
	return kek, nil
}

func setup(ctx context.Context, rt *platform.Runtime, cfg config.Config) error {
	st := store.New(rt.DB)
	kek, err := loadKEK(cfg)
	if err != nil {
		return err
	}
	keys, err := token.LoadKeySet(ctx, token.Source{SigningKey: cfg.Token.SigningKey, SigningKeyFile: cfg.Token.SigningKeyFile,
		PreviousPublicKey: cfg.Token.PreviousPublicKey, PreviousPublicKeyFile: cfg.Token.PreviousPublicKeyFile, KEK: kek}, st)
	if err != nil {
		return err
	}
	hasher, err := password.NewHasher(password.Params{MemoryKiB: cfg.PasswordMemoryKiB, Iterations: cfg.PasswordIterations,
		Parallelism: cfg.PasswordParallelism}, cfg.PasswordConcurrency)
	if err != nil {
		return err
	}
	svc := &app.Service{Store: st, Hasher: hasher, RefreshTTL: cfg.Token.RefreshTTL,
		Tokens:  token.NewIssuer(keys, cfg.Token.Issuer, cfg.Token.Audience, cfg.Token.AccessTTL),
		Revoker: revocation.Store{RDB: rt.Redis, Prefix: cfg.Redis.KeyPrefix},
		// The gateway accepts a token up to its JWT_LEEWAY (30 s by default) past exp.
		RevocationMargin: 2 * time.Minute,
		Throttle: throttle.Logins{RDB: rt.Redis, Prefix: cfg.Redis.KeyPrefix, Policy: throttle.Policy{
			FreeFailures: cfg.LoginFreeFailures, BaseDelay: cfg.LoginBaseDelay, MaxDelay: cfg.LoginMaxDelay, Memory: time.Hour}}}
	if cfg.Admin.Bootstrap {
		u, err := svc.BootstrapAdmin(ctx, cfg.Admin.Email, cfg.Admin.Password, cfg.Admin.FirstName, cfg.Admin.LastName)
		if err != nil {
			return err
		}
		rt.Log.Info("bootstrap admin ready", "user_id", u.ID.String(), "email", u.Email)
		// Checking the password took an argon2 buffer (PASSWORD_ARGON2_MEMORY_KIB); give it
		// back now rather than carry it while idle. Hashes under load reuse their memory.
		debug.FreeOSMemory()
	}
	rt.Log.Info("signing access tokens", "kid", keys.Signing.ID, "alg", keys.Signing.Alg, "published_keys", len(keys.Published))
	(&identityhttp.Handlers{App: svc, JWKS: keys.JWKS()}).Register(rt.Echo)
	rt.Go("refresh-token-cleanup", func(ctx context.Context) error {
		if cfg.RefreshCleanupInterval <= 0 {
			return nil
		}
		t := time.NewTicker(cfg.RefreshCleanupInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
				n, err := svc.DeleteExpiredRefreshTokens(ctx)
				if err != nil {
					rt.Log.Warn("refresh token cleanup failed", "error", err)
					continue
				}
				if n > 0 {
					rt.Log.Info("expired refresh tokens deleted", "count", n)
				}
			}
		}
	})
	if keys.Signing.Private == nil {
		return fmt.Errorf("no signing key")
	}
	return nil
}
