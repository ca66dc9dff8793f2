// Package token issues identity's access tokens (JWT signed with Ed25519 or ECDSA P-256)
// and publishes the verification keys as a JWKS.
package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
)

// Algorithms a key may use; the gateway accepts exactly these.
const (
	AlgEdDSA = "EdDSA"
	AlgES256 = "ES256"
)

// Key is one signing key pair, or a public key alone for verification after a rotation.
type Key struct {
	ID      string
	Alg     string
	Private crypto.Signer
	Public  crypto.PublicKey
}

// Generate makes a new Ed25519 key: small, fast and without nonce pitfalls.
func Generate() (Key, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return Key{}, err
	}
	return newKey(priv, pub)
}

func newKey(priv crypto.Signer, pub crypto.PublicKey) (Key, error) {
	k := Key{Private: priv, Public: pub}
	switch p := pub.(type) {
	case ed25519.PublicKey:
		k.Alg = AlgEdDSA
	case *ecdsa.PublicKey:
		if p.Curve != elliptic.P256() {
			return Key{}, errors.New("token: only the P-256 curve is supported for ECDSA keys")
		}
		k.Alg = AlgES256
	default:
		return Key{}, fmt.Errorf("token: unsupported key type %T (want Ed25519 or ECDSA P-256)", pub)
	}
	k.ID = thumbprint(k.jwk())
	return k, nil
}

// ParsePrivatePEM reads a PKCS#8 (or SEC 1 "EC PRIVATE KEY") private key.
func ParsePrivatePEM(b []byte) (Key, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return Key{}, errors.New("token: no PEM block in signing key")
	}
	var priv any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		priv, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		priv, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return Key{}, fmt.Errorf("token: PEM block %q is not a private key", block.Type)
	}
	if err != nil {
		return Key{}, fmt.Errorf("token: parse private key: %w", err)
	}
	s, ok := priv.(crypto.Signer)
	if !ok {
		return Key{}, fmt.Errorf("token: unsupported private key %T", priv)
	}
	return newKey(s, s.Public())
}

// ParsePublicPEM reads a public key, or the public half of a private key, for the JWKS.
func ParsePublicPEM(b []byte) (Key, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return Key{}, errors.New("token: no PEM block in public key")
	}
	if block.Type != "PUBLIC KEY" {
		k, err := ParsePrivatePEM(b)
		k.Private = nil
		return k, err
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return Key{}, fmt.Errorf("token: parse public key: %w", err)
	}
	return newKey(nil, pub)
}

// PrivatePEM encodes the private key as PKCS#8 PEM, for storage.
func (k Key) PrivatePEM() (string, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k.Private)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), nil
}

// jwk is the public JWK without kid/alg/use, in RFC 7638's required members.
func (k Key) jwk() map[string]string {
	switch p := k.Public.(type) {
	case ed25519.PublicKey:
		return map[string]string{"kty": "OKP", "crv": "Ed25519", "x": b64(p)}
	case *ecdsa.PublicKey:
		raw, _ := p.Bytes() // uncompressed point: 0x04 || X || Y
		return map[string]string{"kty": "EC", "crv": "P-256", "x": b64(raw[1:33]), "y": b64(raw[33:65])}
	}
	return nil
}

// JWK is the public key as published in the JWKS.
func (k Key) JWK() map[string]string {
	m := k.jwk()
	m["kid"], m["alg"], m["use"] = k.ID, k.Alg, "sig"
	return m
}

// thumbprint is the RFC 7638 JWK thumbprint: a kid that is stable for a key on every replica.
func thumbprint(m map[string]string) string {
	// encoding/json sorts map keys, which is exactly RFC 7638's canonical form.
	b, _ := json.Marshal(m)
	h := sha256.Sum256(b)
	return b64(h[:])
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
