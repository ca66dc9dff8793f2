package token

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// sealedPrefix marks a stored private key sealed with the key-encryption key; anything
// else in the column is a plain PEM from before sealing existed.
const sealedPrefix = "aes256gcm:v1:"

// KEK is the key-encryption key (JWT_KEY_ENCRYPTION_KEY) that seals generated signing keys
// before they reach the database: a database dump or backup alone cannot mint tokens.
type KEK struct{ aead cipher.AEAD }

// ParseKEK reads 32 random bytes given as base64 (standard or URL alphabet, padded or
// not) or as 64 hex digits.
func ParseKEK(s string) (*KEK, error) {
	s = strings.TrimSpace(s)
	var raw []byte
	for _, dec := range []func(string) ([]byte, error){hex.DecodeString, base64.StdEncoding.DecodeString,
		base64.RawStdEncoding.DecodeString, base64.URLEncoding.DecodeString, base64.RawURLEncoding.DecodeString} {
		if b, err := dec(s); err == nil && len(b) == 32 {
			raw = b
			break
		}
	}
	if raw == nil {
		return nil, errors.New("the key-encryption key must be 32 bytes, as base64 or 64 hex digits (e.g. `openssl rand -base64 32`)")
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &KEK{aead: aead}, nil
}

// Seal encrypts a private key's PEM, bound to its key id (a sealed key moved to another
// row does not open).
func (k *KEK) Seal(kid, pem string) (string, error) {
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	ct := k.aead.Seal(nonce, nonce, []byte(pem), []byte(kid))
	return sealedPrefix + base64.StdEncoding.EncodeToString(ct), nil
}

// Open decrypts what Seal produced.
func (k *KEK) Open(kid, stored string) (string, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(stored, sealedPrefix))
	n := k.aead.NonceSize()
	if err != nil || len(b) < n {
		return "", fmt.Errorf("signing key %s: sealed value is malformed", kid)
	}
	pt, err := k.aead.Open(nil, b[:n], b[n:], []byte(kid))
	if err != nil {
		return "", fmt.Errorf("signing key %s: cannot be opened with this JWT_KEY_ENCRYPTION_KEY", kid)
	}
	return string(pt), nil
}

// IsSealed reports whether a stored value is sealed.
func IsSealed(stored string) bool { return strings.HasPrefix(stored, sealedPrefix) }
