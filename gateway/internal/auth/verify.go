// Package auth verifies access tokens at the gateway: signatures against identity's JWKS,
// a fixed list of algorithms, and exp/nbf/iss/aud with a small leeway.
package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"evently.dev/libs/assertion"
)

// The only algorithms accepted; anything else (none, HS*, RS*) is refused before any
// key is looked up, which closes algorithm-confusion attacks.
const (
	AlgEdDSA = "EdDSA"
	AlgES256 = "ES256"
)

// Verifier checks access tokens.
type Verifier struct {
	Keys     KeySource
	Issuer   string
	Audience string
	Leeway   time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Cache, when set, skips the signature check for tokens verified before.
	Cache *VerifiedCache
	// Revocations, when set, refuses tokens of sessions identity has revoked since.
	Revocations *Revocations
}

type claims struct {
	Role string `json:"role"`
	jwt.RegisteredClaims
}

// Verify returns the caller a valid token names.
func (v *Verifier) Verify(ctx context.Context, raw string) (assertion.Identity, error) {
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	if id, iat, ok := v.Cache.get(raw, now()); ok {
		return id, v.checkRevoked(ctx, id, iat)
	}
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{AlgEdDSA, AlgES256}),
		jwt.WithIssuer(v.Issuer),
		jwt.WithAudience(v.Audience),
		jwt.WithLeeway(v.Leeway),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(now),
	)
	var c claims
	_, err := p.ParseWithClaims(raw, &c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, errors.New("token has no kid")
		}
		k, err := v.Keys.Key(ctx, kid)
		if err != nil {
			return nil, err
		}
		// A key is bound to one algorithm: a token may not pick another for it.
		if t.Method.Alg() != k.Alg {
			return nil, fmt.Errorf("algorithm %s does not match key %s", t.Method.Alg(), kid)
		}
		return k.Key, nil
	})
	if err != nil {
		return assertion.Identity{}, err
	}
	if c.Subject == "" {
		return assertion.Identity{}, errors.New("token has no subject")
	}
	if c.Role != assertion.RoleUser && c.Role != assertion.RoleAdmin {
		return assertion.Identity{}, fmt.Errorf("token has unknown role %q", c.Role)
	}
	id := assertion.Identity{UserID: c.Subject, Role: c.Role}
	// A token without iat cannot show it came after a revocation: it falls under any.
	var iat time.Time
	if c.IssuedAt != nil {
		iat = c.IssuedAt.Time
	}
	// The cached entry lapses at exp plus the leeway, exactly when the parser would refuse it.
	v.Cache.put(raw, id, iat, c.ExpiresAt.Add(v.Leeway))
	return id, v.checkRevoked(ctx, id, iat)
}

func (v *Verifier) checkRevoked(ctx context.Context, id assertion.Identity, iat time.Time) error {
	if v.Revocations != nil && v.Revocations.Voided(ctx, id.UserID, iat) {
		return ErrRevoked
	}
	return nil
}
