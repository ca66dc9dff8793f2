package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

type staticKeys map[string]PublicKey

func (s staticKeys) Key(_ context.Context, kid string) (PublicKey, error) {
	if k, ok := s[kid]; ok {
		return k, nil
	}
	return PublicKey{}, ErrUnknownKey
}

type fixture struct {
	now   time.Time
	ed    ed25519.PrivateKey
	ec    *ecdsa.PrivateKey
	other ed25519.PrivateKey
	v     *Verifier
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	edPub, ed, _ := ed25519.GenerateKey(rand.Reader)
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	f := &fixture{now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), ed: ed, ec: ec, other: other}
	f.v = &Verifier{Keys: staticKeys{"ed": {Alg: AlgEdDSA, Key: edPub}, "ec": {Alg: AlgES256, Key: &ec.PublicKey}},
		Issuer: "evently-identity", Audience: "evently-api", Leeway: 30 * time.Second, Now: func() time.Time { return f.now }}
	return f
}

func (f *fixture) claims(mod func(c jwt.MapClaims)) jwt.MapClaims {
	c := jwt.MapClaims{"sub": "0192a5d2-0000-7000-8000-000000000001", "role": "USER", "iss": "evently-identity",
		"aud": []string{"evently-api"}, "iat": f.now.Unix(), "nbf": f.now.Unix(), "exp": f.now.Add(15 * time.Minute).Unix(), "jti": "x"}
	if mod != nil {
		mod(c)
	}
	return c
}

func (f *fixture) sign(t testing.TB, method jwt.SigningMethod, kid string, key any, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVerify(t *testing.T) {
	f := newFixture(t)
	edPubBytes := []byte(f.ed.Public().(ed25519.PublicKey))
	valid := f.sign(t, jwt.SigningMethodEdDSA, "ed", f.ed, f.claims(nil))
	parts := strings.Split(valid, ".")
	tamperedPayload := base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"0192a5d2-0000-7000-8000-000000000001","role":"ADMIN","iss":"evently-identity","aud":["evently-api"],"iat":` +
		itoa(f.now.Unix()) + `,"exp":` + itoa(f.now.Add(time.Hour).Unix()) + `}`))
	noneHeader := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT","kid":"ed"}`))

	tests := []struct {
		name     string
		token    string
		wantRole string
		wantErr  error // nil: any error when wantRole is ""
	}{
		{"valid EdDSA", valid, "USER", nil},
		{"valid ES256", f.sign(t, jwt.SigningMethodES256, "ec", f.ec, f.claims(func(c jwt.MapClaims) { c["role"] = "ADMIN" })), "ADMIN", nil},
		{"expired", f.sign(t, jwt.SigningMethodEdDSA, "ed", f.ed, f.claims(func(c jwt.MapClaims) { c["exp"] = f.now.Add(-time.Minute).Unix() })), "", jwt.ErrTokenExpired},
		{"expired within leeway passes", f.sign(t, jwt.SigningMethodEdDSA, "ed", f.ed, f.claims(func(c jwt.MapClaims) { c["exp"] = f.now.Add(-10 * time.Second).Unix() })), "USER", nil},
		{"no exp", f.sign(t, jwt.SigningMethodEdDSA, "ed", f.ed, f.claims(func(c jwt.MapClaims) { delete(c, "exp") })), "", jwt.ErrTokenRequiredClaimMissing},
		{"not yet valid", f.sign(t, jwt.SigningMethodEdDSA, "ed", f.ed, f.claims(func(c jwt.MapClaims) { c["nbf"] = f.now.Add(5 * time.Minute).Unix() })), "", jwt.ErrTokenNotValidYet},
		{"issued in the future", f.sign(t, jwt.SigningMethodEdDSA, "ed", f.ed, f.claims(func(c jwt.MapClaims) { c["iat"] = f.now.Add(5 * time.Minute).Unix() })), "", jwt.ErrTokenUsedBeforeIssued},
		{"wrong audience", f.sign(t, jwt.SigningMethodEdDSA, "ed", f.ed, f.claims(func(c jwt.MapClaims) { c["aud"] = "someone-else" })), "", jwt.ErrTokenInvalidAudience},
		{"no audience", f.sign(t, jwt.SigningMethodEdDSA, "ed", f.ed, f.claims(func(c jwt.MapClaims) { delete(c, "aud") })), "", jwt.ErrTokenRequiredClaimMissing},
		{"wrong issuer", f.sign(t, jwt.SigningMethodEdDSA, "ed", f.ed, f.claims(func(c jwt.MapClaims) { c["iss"] = "evil" })), "", jwt.ErrTokenInvalidIssuer},
		{"alg none", noneHeader + "." + parts[1] + ".", "", jwt.ErrTokenSignatureInvalid},
		{"HS256 signed with the public key", f.sign(t, jwt.SigningMethodHS256, "ed", edPubBytes, f.claims(nil)), "", jwt.ErrTokenSignatureInvalid},
		{"tampered payload", parts[0] + "." + tamperedPayload + "." + parts[2], "", jwt.ErrTokenSignatureInvalid},
		{"signed by another key", f.sign(t, jwt.SigningMethodEdDSA, "ed", f.other, f.claims(nil)), "", jwt.ErrTokenSignatureInvalid},
		{"unknown kid", f.sign(t, jwt.SigningMethodEdDSA, "nope", f.ed, f.claims(nil)), "", ErrUnknownKey},
		{"missing kid", f.sign(t, jwt.SigningMethodEdDSA, "", f.ed, f.claims(nil)), "", jwt.ErrTokenUnverifiable},
		{"EdDSA token naming the ES256 key", f.sign(t, jwt.SigningMethodEdDSA, "ec", f.ed, f.claims(nil)), "", jwt.ErrTokenUnverifiable},
		{"no subject", f.sign(t, jwt.SigningMethodEdDSA, "ed", f.ed, f.claims(func(c jwt.MapClaims) { delete(c, "sub") })), "", nil},
		{"unknown role", f.sign(t, jwt.SigningMethodEdDSA, "ed", f.ed, f.claims(func(c jwt.MapClaims) { c["role"] = "ROOT" })), "", nil},
		{"garbage", "not.a.token", "", jwt.ErrTokenMalformed},
		{"empty", "", "", jwt.ErrTokenMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, err := f.v.Verify(context.Background(), tc.token)
			if tc.wantRole != "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if id.Role != tc.wantRole || id.UserID == "" {
					t.Fatalf("identity %+v, want role %s", id, tc.wantRole)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted, identity %+v", id)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func FuzzVerify(f *testing.F) {
	fx := newFixture(f)
	f.Add(fx.sign(f, jwt.SigningMethodEdDSA, "ed", fx.ed, fx.claims(nil)))
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("a.b.c")
	f.Add("")
	f.Fuzz(func(t *testing.T, raw string) {
		id, err := fx.v.Verify(context.Background(), raw)
		if err == nil && (id.UserID == "" || (id.Role != "USER" && id.Role != "ADMIN")) {
			t.Fatalf("accepted token yielded identity %+v", id)
		}
	})
}

func FuzzParseJWKS(f *testing.F) {
	f.Add([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"a","alg":"EdDSA","use":"sig"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA","kid":"b"}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		keys, err := ParseJWKS(b)
		if err != nil {
			return
		}
		for kid, k := range keys {
			if kid == "" || (k.Alg != AlgEdDSA && k.Alg != AlgES256) {
				t.Fatalf("bad key %q %+v", kid, k)
			}
		}
	})
}

func TestVerifyCacheHonoursExpiry(t *testing.T) {
	f := newFixture(t)
	f.v.Cache = NewVerifiedCache(2)
	tok := f.sign(t, jwt.SigningMethodEdDSA, "ed", f.ed, f.claims(nil))
	for i := 0; i < 2; i++ {
		if _, err := f.v.Verify(context.Background(), tok); err != nil {
			t.Fatalf("verify %d: %v", i, err)
		}
	}
	if _, _, ok := f.v.Cache.get(tok, f.now); !ok {
		t.Fatal("valid token not cached")
	}
	// Past exp + leeway the cached entry no longer vouches for the token.
	f.now = f.now.Add(15*time.Minute + 31*time.Second)
	if _, err := f.v.Verify(context.Background(), tok); !errors.Is(err, jwt.ErrTokenExpired) {
		t.Fatalf("expired cached token: %v", err)
	}
	// Invalid tokens are never cached; a full cache is emptied rather than grown.
	bad := f.sign(t, jwt.SigningMethodEdDSA, "ed", f.other, f.claims(nil))
	_, _ = f.v.Verify(context.Background(), bad)
	if _, _, ok := f.v.Cache.get(bad, f.now); ok {
		t.Fatal("invalid token cached")
	}
	f.now = f.now.Add(-time.Hour)
	for i := 0; i < 5; i++ {
		_, _ = f.v.Verify(context.Background(), f.sign(t, jwt.SigningMethodEdDSA, "ed", f.ed, f.claims(func(c jwt.MapClaims) { c["jti"] = i })))
	}
	if n := len(f.v.Cache.entries); n > 2 {
		t.Fatalf("cache grew to %d entries, cap 2", n)
	}
}
