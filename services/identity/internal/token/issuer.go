package token

import (
	"crypto/ecdsa"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// Claims are the access token's claims; the gateway reads sub and role.
type Claims struct {
	Role string `json:"role"`
	jwt.RegisteredClaims
}

// Issuer signs access tokens.
type Issuer struct {
	keys     *KeySet
	issuer   string
	audience string
	ttl      time.Duration
}

// NewIssuer returns an issuer of tokens valid for ttl.
func NewIssuer(keys *KeySet, issuer, audience string, ttl time.Duration) *Issuer {
	return &Issuer{keys: keys, issuer: issuer, audience: audience, ttl: ttl}
}

// TTL is the access tokens' lifetime.
func (i *Issuer) TTL() time.Duration { return i.ttl }

// Issue signs a token for the user with the given role, valid from now for the TTL.
func (i *Issuer) Issue(userID, role string, now time.Time) (string, error) {
	jti, err := uuid.NewV7()
	if err != nil {
		return "", err
	}
	now = now.Truncate(time.Second)
	claims := Claims{Role: role, RegisteredClaims: jwt.RegisteredClaims{
		Subject: userID, Issuer: i.issuer, Audience: jwt.ClaimStrings{i.audience},
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(i.ttl)), ID: jti.String(),
	}}
	k := i.keys.Signing
	var method jwt.SigningMethod = jwt.SigningMethodEdDSA
	var signer any = k.Private
	if k.Alg == AlgES256 {
		method = jwt.SigningMethodES256
		ec, ok := k.Private.(*ecdsa.PrivateKey)
		if !ok {
			return "", fmt.Errorf("token: ES256 key is %T", k.Private)
		}
		signer = ec
	}
	t := jwt.NewWithClaims(method, claims)
	t.Header["kid"] = k.ID
	s, err := t.SignedString(signer)
	if err != nil {
		return "", fmt.Errorf("sign access token: %w", err)
	}
	return s, nil
}
