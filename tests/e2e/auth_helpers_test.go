package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math/big"
	"sync"
	"testing"
	"time"
)

// authResult is a signed-in account made for a test.
type authResult struct{ AccessToken, RefreshToken, UserID, Email, Password string }

// testIP returns a random address (TEST-NET-2/3 and 10/8 style) for X-Forwarded-For. The
// e2e gateway trusts loopback as a proxy (TRUSTED_PROXIES in extraEnv), so helpers that
// hit /auth/* send their own address and do not share the per-IP auth budget with the
// rest of the suite, which all comes from 127.0.0.1.
func testIP() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(1<<24))
	v := n.Int64()
	return fmt.Sprintf("10.%d.%d.%d", v>>16&0xff, v>>8&0xff, v&0xff)
}

// registerUser creates a fresh USER account through the gateway and returns its tokens.
func registerUser(t testing.TB) authResult {
	t.Helper()
	email := "e2e-" + randHex(8) + "@example.com"
	pw := "pw-" + randHex(8)
	r := expect(t, call(t, "POST", "/api/v1/auth/register", "", map[string]any{
		"first_name": "Test", "last_name": "User", "email": email, "password": pw,
	}, "X-Forwarded-For", testIP()), 201)
	a := session(t, r, email, pw)
	if a.AccessToken == "" || a.RefreshToken == "" || a.UserID == "" {
		t.Fatalf("register answered without tokens: %s", r.Body)
	}
	return a
}

// session reads the tokens and user id that register and login answer with.
func session(t testing.TB, r resp, email, password string) authResult {
	t.Helper()
	var s struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		User         struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	r.Decode(t, &s)
	return authResult{AccessToken: s.AccessToken, RefreshToken: s.RefreshToken, UserID: s.User.ID, Email: email, Password: password}
}

var adminCache struct {
	sync.Mutex
	token string
	at    time.Time
}

// adminToken returns an access token of the bootstrap admin, logging in at most every
// ten minutes (tokens live fifteen).
func adminToken(t testing.TB) string {
	t.Helper()
	adminCache.Lock()
	defer adminCache.Unlock()
	if adminCache.token != "" && time.Since(adminCache.at) < 10*time.Minute {
		return adminCache.token
	}
	tok := login(t, adminEmail, adminPassword)
	adminCache.token, adminCache.at = tok.AccessToken, time.Now()
	return tok.AccessToken
}

// login signs in with a password and returns the session's tokens.
func login(t testing.TB, email, password string) authResult {
	t.Helper()
	r := expect(t, call(t, "POST", "/api/v1/auth/login", "", map[string]any{"email": email, "password": password},
		"X-Forwarded-For", testIP()), 200)
	return session(t, r, email, password)
}

// randToken is a random opaque string, for refresh tokens that never existed.
func randToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
