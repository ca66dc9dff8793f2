package token

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
)

// StoredKey is a generated key as kept in the database.
type StoredKey struct {
	ID  string
	Alg string
	PEM string
}

// KeyStore keeps generated keys so every replica and restart signs with the same one.
type KeyStore interface {
	// SigningKeys returns the stored keys newest first; when there is none, it stores the
	// key create makes first (once, even with replicas starting together).
	SigningKeys(ctx context.Context, create func() (StoredKey, error)) ([]StoredKey, error)
}

// Source says where keys come from: PEM text or a file for each; all empty means generated.
type Source struct {
	SigningKey, SigningKeyFile               string
	PreviousPublicKey, PreviousPublicKeyFile string
}

// KeySet is the key that signs plus the keys the JWKS publishes.
type KeySet struct {
	Signing   Key
	Published []Key
	jwks      []byte
}

// publishedGenerated is how many generated keys the JWKS lists: the current and the previous.
const publishedGenerated = 2

// LoadKeySet builds the key set from configuration, falling back to generated keys.
func LoadKeySet(ctx context.Context, src Source, store KeyStore) (*KeySet, error) {
	signingPEM, err := pemFrom(src.SigningKey, src.SigningKeyFile)
	if err != nil {
		return nil, fmt.Errorf("JWT signing key: %w", err)
	}
	var ks KeySet
	if signingPEM != "" {
		k, err := ParsePrivatePEM([]byte(signingPEM))
		if err != nil {
			return nil, err
		}
		ks.Signing = k
		ks.Published = append(ks.Published, k)
	} else {
		stored, err := store.SigningKeys(ctx, func() (StoredKey, error) {
			k, err := Generate()
			if err != nil {
				return StoredKey{}, err
			}
			p, err := k.PrivatePEM()
			return StoredKey{ID: k.ID, Alg: k.Alg, PEM: p}, err
		})
		if err != nil {
			return nil, fmt.Errorf("load generated signing keys: %w", err)
		}
		for i, s := range stored {
			if i == publishedGenerated {
				break
			}
			k, err := ParsePrivatePEM([]byte(s.PEM))
			if err != nil {
				return nil, fmt.Errorf("stored signing key %s: %w", s.ID, err)
			}
			if i == 0 {
				ks.Signing = k
			}
			k.Private = nil
			ks.Published = append(ks.Published, k)
		}
	}
	prevPEM, err := pemFrom(src.PreviousPublicKey, src.PreviousPublicKeyFile)
	if err != nil {
		return nil, fmt.Errorf("JWT previous public key: %w", err)
	}
	if prevPEM != "" {
		k, err := ParsePublicPEM([]byte(prevPEM))
		if err != nil {
			return nil, err
		}
		if k.ID != ks.Signing.ID {
			ks.Published = append(ks.Published, k)
		}
	}
	keys := make([]map[string]string, 0, len(ks.Published))
	for _, k := range ks.Published {
		keys = append(keys, k.JWK())
	}
	ks.jwks, err = json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		return nil, err
	}
	return &ks, nil
}

// JWKS is the JSON Web Key Set document.
func (ks *KeySet) JWKS() []byte { return ks.jwks }

func pemFrom(text, file string) (string, error) {
	if text != "" && file != "" {
		return "", fmt.Errorf("set the key or its file, not both")
	}
	if file != "" {
		b, err := os.ReadFile(file) //nolint:gosec // G304: the path is operator configuration (the *_FILE setting), not request input
		if err != nil {
			return "", err
		}
		return string(b), nil
	}
	return text, nil
}
