package domain

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"time"

	"github.com/google/uuid"
)

// RefreshToken is the stored side of an opaque refresh token: only its hash is kept.
type RefreshToken struct {
	ID        uuid.UUID
	FamilyID  uuid.UUID
	UserID    uuid.UUID
	Hash      []byte
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
	RevokedAt *time.Time
}

// refreshTokenBytes is 256 bits of randomness: unguessable without rate limits.
const refreshTokenBytes = 32

// NewRefreshSecret returns a fresh opaque token (base64url) and the hash to store.
func NewRefreshSecret() (secret string, hash []byte, err error) {
	b := make([]byte, refreshTokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", nil, err
	}
	secret = base64.RawURLEncoding.EncodeToString(b)
	return secret, HashRefreshSecret(secret), nil
}

// HashRefreshSecret is the lookup key of a presented token. A fast hash is enough: the
// secret has full entropy, so there is nothing for a slow hash to protect.
func HashRefreshSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// Usable reports whether the token can be exchanged at now.
func (t RefreshToken) Usable(now time.Time) bool {
	return t.UsedAt == nil && t.RevokedAt == nil && now.Before(t.ExpiresAt)
}

// Spent reports whether the token was already exchanged: presenting it again signals theft.
func (t RefreshToken) Spent() bool { return t.UsedAt != nil }
