package token

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
)

// StoredKey is a generated key as kept in the database; PEM is sealed with the KEK (or,
// in rows written before sealing, a plain PEM that LoadKeySet seals in place).
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
	// ReplaceSigningKeyPEM rewrites one stored key's PEM column (to seal a plain one).
	ReplaceSigningKeyPEM(ctx context.Context, kid, stored string) error
}

// Source says where keys come from: PEM text or a file for each; no signing key means
// generated keys, which need KEK to be kept at rest.
type Source struct {
	SigningKey, SigningKeyFile               string
	PreviousPublicKey, PreviousPublicKeyFile string
	KEK                                      *KEK
}

// ErrNoKEK refuses generated keys without a key-encryption key: they would sit in the
// database in clear, where anyone with a backup could sign tokens as any user.
var ErrNoKEK = errors.New("no JWT signing key configured and no JWT_KEY_ENCRYPTION_KEY to keep a generated one " +
	"encrypted: set JWT_SIGNING_KEY (or _FILE), or JWT_KEY_ENCRYPTION_KEY (or _FILE) to 32 random bytes in base64")

// NewStoredKey seals a freshly generated key for storage.
func NewStoredKey(k Key, kek *KEK) (StoredKey, error) {
	if kek == nil {
		return StoredKey{}, ErrNoKEK
	}
	p, err := k.PrivatePEM()
	if err != nil {
		return StoredKey{}, err
	}
	sealed, err := kek.Seal(k.ID, p)
	return StoredKey{ID: k.ID, Alg: k.Alg, PEM: sealed}, err
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
		if src.KEK == nil {
			return nil, ErrNoKEK
		}
		stored, err := store.SigningKeys(ctx, func() (StoredKey, error) {
			k, err := Generate()
			if err != nil {
				return StoredKey{}, err
			}
			return NewStoredKey(k, src.KEK)
		})
		if err != nil {
			return nil, fmt.Errorf("load generated signing keys: %w", err)
		}
		for i, s := range stored {
			if i == publishedGenerated {
				break
			}
			plain, err := openStored(ctx, store, src.KEK, s)
			if err != nil {
				return nil, err
			}
			k, err := ParsePrivatePEM([]byte(plain))
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

// openStored returns a stored key's PEM, sealing in place a row written before sealing.
func openStored(ctx context.Context, store KeyStore, kek *KEK, s StoredKey) (string, error) {
	if IsSealed(s.PEM) {
		return kek.Open(s.ID, s.PEM)
	}
	sealed, err := kek.Seal(s.ID, s.PEM)
	if err != nil {
		return "", err
	}
	if err := store.ReplaceSigningKeyPEM(ctx, s.ID, sealed); err != nil {
		return "", fmt.Errorf("seal stored signing key %s: %w", s.ID, err)
	}
	return s.PEM, nil
}

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
