package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"evently.dev/libs/retry"
)

// PublicKey is one verification key and the only algorithm it may be used with.
type PublicKey struct {
	Alg string
	Key any
}

// KeySource finds the verification key for a kid.
type KeySource interface {
	Key(ctx context.Context, kid string) (PublicKey, error)
}

// ErrUnknownKey means no key with the token's kid is known, even after a refetch.
var ErrUnknownKey = errors.New("unknown signing key")

// JWKS caches identity's key set. It refetches in the background every refresh interval
// and on demand when a token names an unknown kid, but at most once per minInterval, so a
// flood of tokens with made-up kids costs identity one request per interval.
type JWKS struct {
	url         string
	client      *http.Client
	refresh     time.Duration
	minInterval time.Duration
	log         *slog.Logger

	keys      atomic.Pointer[map[string]PublicKey]
	fetchedAt atomic.Int64 // unix nanos of the last successful fetch
	loaded    atomic.Bool  // a fetch returned at least one key

	fetchMu     sync.Mutex
	lastAttempt time.Time
}

// JWKSOptions configure NewJWKS.
type JWKSOptions struct {
	URL             string
	Client          *http.Client
	RefreshInterval time.Duration
	MinInterval     time.Duration
	Logger          *slog.Logger
}

// NewJWKS returns an empty cache; the first lookup (or Start) fills it.
func NewJWKS(o JWKSOptions) *JWKS {
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 3 * time.Second}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	j := &JWKS{url: o.URL, client: o.Client, refresh: o.RefreshInterval, minInterval: o.MinInterval, log: o.Logger}
	empty := map[string]PublicKey{}
	j.keys.Store(&empty)
	return j
}

// Start loads the keys, retrying every second until identity answers (it may start after
// the gateway), then keeps them fresh until ctx ends.
func (j *JWKS) Start(ctx context.Context) {
	for ctx.Err() == nil {
		err := j.fetch(ctx)
		if err == nil && j.loaded.Load() {
			break
		}
		if err == nil {
			err = errors.New("the key set is empty")
		}
		j.log.Warn("jwks not loaded yet; retrying", "url", j.url, "error", err)
		if !retry.Sleep(ctx, time.Second) {
			return
		}
	}
	if j.refresh <= 0 {
		return
	}
	t := time.NewTicker(j.refresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := j.fetch(ctx); err != nil {
				j.log.Warn("jwks refresh failed; keeping the cached keys", "url", j.url, "error", err)
			}
		}
	}
}

// Key implements KeySource.
func (j *JWKS) Key(ctx context.Context, kid string) (PublicKey, error) {
	if k, ok := (*j.keys.Load())[kid]; ok {
		return k, nil
	}
	if j.fetchIfAllowed(ctx) {
		if k, ok := (*j.keys.Load())[kid]; ok {
			return k, nil
		}
	}
	return PublicKey{}, ErrUnknownKey
}

// fetchIfAllowed refetches unless one was attempted within the bound. Until a key set
// with keys has arrived the bound is 100 ms: with no keys every request fails anyway, and a
// gateway that started before identity (or before identity made its first key) must
// recover at once, not after minInterval. It reports whether the cache may have changed.
func (j *JWKS) fetchIfAllowed(ctx context.Context) bool {
	before := j.fetchedAt.Load()
	j.fetchMu.Lock()
	defer j.fetchMu.Unlock()
	if j.fetchedAt.Load() != before {
		return true // someone else refreshed while we waited
	}
	bound := j.minInterval
	if !j.loaded.Load() && bound > 100*time.Millisecond {
		bound = 100 * time.Millisecond
	}
	if time.Since(j.lastAttempt) < bound {
		return false
	}
	return j.fetchLocked(ctx) == nil
}

func (j *JWKS) fetch(ctx context.Context) error {
	j.fetchMu.Lock()
	defer j.fetchMu.Unlock()
	return j.fetchLocked(ctx)
}

func (j *JWKS) fetchLocked(ctx context.Context) error {
	j.lastAttempt = time.Now()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.url, nil)
	if err != nil {
		return err
	}
	resp, err := j.client.Do(req)
	if err != nil {
		return fmt.Errorf("fetch jwks: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetch jwks: HTTP %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("read jwks: %w", err)
	}
	keys, err := ParseJWKS(body)
	if err != nil {
		return err
	}
	j.keys.Store(&keys)
	j.fetchedAt.Store(time.Now().UnixNano())
	if len(keys) > 0 {
		j.loaded.Store(true)
	}
	return nil
}

// Loaded reports whether verification keys are in hand; the gateway is not ready before.
func (j *JWKS) Loaded() bool { return j.loaded.Load() }

type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// ParseJWKS reads a key set, keeping the Ed25519 and P-256 signing keys with a kid and
// skipping anything else (other key types may be listed for other consumers).
func ParseJWKS(b []byte) (map[string]PublicKey, error) {
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("parse jwks: %w", err)
	}
	out := map[string]PublicKey{}
	for _, k := range set.Keys {
		if k.Kid == "" || (k.Use != "" && k.Use != "sig") {
			continue
		}
		x, err := base64.RawURLEncoding.DecodeString(k.X)
		if err != nil {
			continue
		}
		switch {
		case k.Kty == "OKP" && k.Crv == "Ed25519" && (k.Alg == "" || k.Alg == AlgEdDSA) && len(x) == ed25519.PublicKeySize:
			out[k.Kid] = PublicKey{Alg: AlgEdDSA, Key: ed25519.PublicKey(x)}
		case k.Kty == "EC" && k.Crv == "P-256" && (k.Alg == "" || k.Alg == AlgES256):
			y, err := base64.RawURLEncoding.DecodeString(k.Y)
			if err != nil || len(x) != 32 || len(y) != 32 {
				continue
			}
			// ParseUncompressedPublicKey rejects points not on the curve: untrusted input.
			pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
			if err != nil {
				continue
			}
			out[k.Kid] = PublicKey{Alg: AlgES256, Key: pub}
		}
	}
	return out, nil
}
