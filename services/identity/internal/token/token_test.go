package token

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

type noStore struct{}

func (noStore) ReplaceSigningKeyPEM(context.Context, string, string) error { return nil }

func (noStore) SigningKeys(context.Context, func() (StoredKey, error)) ([]StoredKey, error) {
	return nil, errors.New("configured keys must not touch the store")
}

func ecPEM(t *testing.T) (string, *ecdsa.PrivateKey) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), k
}

func TestConfiguredKeysAndJWKS(t *testing.T) {
	ed, _ := Generate()
	edPEM, _ := ed.PrivatePEM()
	ecText, ecKey := ecPEM(t)
	pubDER, _ := x509.MarshalPKIXPublicKey(&ecKey.PublicKey)
	pubPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}))
	file := filepath.Join(t.TempDir(), "signing.pem")
	if err := os.WriteFile(file, []byte(edPEM), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name      string
		src       Source
		alg       string
		published int
		wantErr   bool
	}{
		{"ed25519 text", Source{SigningKey: edPEM}, AlgEdDSA, 1, false},
		{"ed25519 file + previous EC public key", Source{SigningKeyFile: file, PreviousPublicKey: pubPEM}, AlgEdDSA, 2, false},
		{"ES256 + previous given as private key", Source{SigningKey: ecText, PreviousPublicKey: edPEM}, AlgES256, 2, false},
		{"previous equal to current is listed once", Source{SigningKey: edPEM, PreviousPublicKey: edPEM}, AlgEdDSA, 1, false},
		{"both text and file", Source{SigningKey: edPEM, SigningKeyFile: file}, "", 0, true},
		{"garbage", Source{SigningKey: "not a pem"}, "", 0, true},
		{"public key cannot sign", Source{SigningKey: pubPEM}, "", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ks, err := LoadKeySet(context.Background(), tc.src, noStore{})
			if tc.wantErr {
				if err == nil {
					t.Fatal("accepted")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ks.Signing.Alg != tc.alg || len(ks.Published) != tc.published {
				t.Fatalf("alg %s, published %d", ks.Signing.Alg, len(ks.Published))
			}
			var set struct {
				Keys []map[string]string `json:"keys"`
			}
			if err := json.Unmarshal(ks.JWKS(), &set); err != nil || len(set.Keys) != tc.published {
				t.Fatalf("jwks %s: %v", ks.JWKS(), err)
			}
			for _, k := range set.Keys {
				if k["kid"] == "" || k["use"] != "sig" || k["d"] != "" {
					t.Fatalf("bad published key %v", k)
				}
			}
			// A token it issues verifies with the published key of its kid.
			iss := NewIssuer(ks, "iss", "aud", time.Minute)
			raw, err := iss.Issue("user-1", "USER", time.Now())
			if err != nil {
				t.Fatal(err)
			}
			tok, err := jwt.Parse(raw, func(tk *jwt.Token) (any, error) {
				for _, k := range ks.Published {
					if k.ID == tk.Header["kid"] {
						return k.Public, nil
					}
				}
				return nil, errors.New("kid not published")
			}, jwt.WithValidMethods([]string{tc.alg}), jwt.WithAudience("aud"), jwt.WithIssuer("iss"))
			if err != nil || !tok.Valid {
				t.Fatalf("issued token does not verify: %v", err)
			}
		})
	}
}

func TestKeyIDIsStable(t *testing.T) {
	k, _ := Generate()
	p, _ := k.PrivatePEM()
	again, err := ParsePrivatePEM([]byte(p))
	if err != nil || again.ID != k.ID || len(k.ID) != 43 {
		t.Fatalf("kid %q then %q (%v)", k.ID, again.ID, err)
	}
}
