package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func mustJSON(v any) []byte { return must(json.Marshal(v)) }

func TestGatewayRequiresValidTokens(t *testing.T) {
	r := expectProblem(t, call(t, "GET", "/api/v1/auth/me", "", nil), 401)
	_ = r
	resp := call(t, "GET", "/api/v1/auth/me", "", nil)
	if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("WWW-Authenticate = %q", resp.Header.Get("WWW-Authenticate"))
	}
	u := registerUser(t)
	parts := strings.Split(u.AccessToken, ".")
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
	forgedPayload := base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf(
		`{"sub":%q,"role":"ADMIN","iss":"evently-identity","aud":["evently-api"],"iat":%d,"exp":%d}`,
		u.UserID, time.Now().Unix(), time.Now().Add(time.Hour).Unix())))
	for name, tok := range map[string]string{"garbage": "garbage", "alg none": none,
		"tampered payload": parts[0] + "." + forgedPayload + "." + parts[2]} {
		t.Run(name, func(t *testing.T) {
			expectProblem(t, call(t, "GET", "/api/v1/auth/me", tok, nil), 401)
			// A present but invalid token is refused on public paths too.
			expectProblem(t, call(t, "GET", "/api/v1/events", tok, nil), 401)
		})
	}
	expectProblem(t, call(t, "GET", "/api/v1/auth/me", "", nil, "Authorization", "Basic YTpi"), 401)
}

func TestGatewayIgnoresForgedIdentityHeaders(t *testing.T) {
	u := registerUser(t)
	path := "/api/v1/admin/users/" + u.UserID + "/role"
	// A USER claiming ADMIN by header is still a USER.
	expectProblem(t, call(t, "PUT", path, u.AccessToken, map[string]any{"role": "ADMIN"},
		"X-User-Role", "ADMIN", "X-User-ID", u.UserID), 403)
	// Without a token, identity headers count for nothing.
	expectProblem(t, call(t, "GET", "/api/v1/auth/me", "", nil, "X-User-ID", u.UserID, "X-User-Role", "ADMIN",
		"X-Evently-Assertion", "v1;t=1;sig=forged"), 401)
	// With a token, the caller is who the token says, whatever the headers claim.
	other := registerUser(t)
	me := expect(t, call(t, "GET", "/api/v1/auth/me", u.AccessToken, nil, "X-User-ID", other.UserID), 200).JSON(t)
	if me["id"] != u.UserID {
		t.Fatalf("me answered %v for a forged X-User-ID", me["id"])
	}
}

func TestGatewayDirectServiceCallWithForgedHeadersIs401(t *testing.T) {
	if sys.PortBase == 0 {
		t.Skip("needs the private system's ports")
	}
	req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/api/v1/auth/me", sys.PortBase+1), nil)
	req.Header.Set("X-User-ID", "0192a5d2-0000-7000-8000-000000000001")
	req.Header.Set("X-User-Role", "ADMIN")
	res, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 401 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/problem+json") {
		t.Fatalf("direct call with forged headers: %d %s", res.StatusCode, b)
	}
}

func TestGatewayAuthRateLimit(t *testing.T) {
	ip := testIP()
	var limited resp
	for i := 0; i < 60; i++ {
		r := call(t, "POST", "/api/v1/auth/login", "", map[string]any{"email": "nobody-" + randHex(6) + "@example.com", "password": "wrong-password"},
			"X-Forwarded-For", ip)
		if r.Status == 429 {
			limited = r
			break
		}
		if r.Status != 401 {
			t.Fatalf("attempt %d: status %d %s", i, r.Status, r.Body)
		}
		if r.Header.Get("RateLimit-Limit") == "" {
			t.Fatalf("attempt %d: no RateLimit-Limit header", i)
		}
	}
	if limited.Status != 429 {
		t.Fatal("60 fast wrong logins from one IP were never limited")
	}
	expectProblem(t, limited, 429)
	if ra := limited.Header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Errorf("Retry-After = %q", ra)
	}
	for _, h := range []string{"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} {
		if limited.Header.Get(h) == "" {
			t.Errorf("429 lacks %s", h)
		}
	}
	if limited.Header.Get("RateLimit-Reset") != limited.Header.Get("Retry-After") {
		t.Errorf("Retry-After %q but RateLimit-Reset %q", limited.Header.Get("Retry-After"), limited.Header.Get("RateLimit-Reset"))
	}
	// Another client address has its own budget.
	expectProblem(t, call(t, "POST", "/api/v1/auth/login", "", map[string]any{"email": "nobody-" + randHex(6) + "@example.com", "password": "wrong-password"},
		"X-Forwarded-For", testIP()), 401)
}

func TestGatewayBodyLimitAndMalformedInput(t *testing.T) {
	u := registerUser(t)
	expectProblem(t, call(t, "POST", "/api/v1/auth/logout", u.AccessToken, strings.Repeat("x", 2<<20)), 413)
	expectProblem(t, call(t, "POST", "/api/v1/auth/logout", u.AccessToken, `{"refresh_token": 12}`), 400)
	expectProblem(t, call(t, "POST", "/api/v1/auth/logout", u.AccessToken, `{not json`), 400)
}

func TestGatewayDocsAndOpenAPI(t *testing.T) {
	r := expect(t, call(t, "GET", "/openapi.json", "", nil), 200)
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
		Tags    []struct{ Name string }   `json:"tags"`
	}
	r.Decode(t, &doc)
	if !strings.HasPrefix(doc.OpenAPI, "3.1") || doc.Paths["/api/v1/auth/login"]["post"] == nil {
		t.Fatalf("merged document lacks identity's paths: %s", r.Body[:min(len(r.Body), 300)])
	}
	page := expect(t, call(t, "GET", "/docs", "", nil), 200)
	if !strings.Contains(string(page.Body), "/docs/app.js") {
		t.Fatal("docs page does not load its script")
	}
	js := expect(t, call(t, "GET", "/docs/app.js", "", nil), 200)
	if !strings.Contains(string(js.Body), "/openapi.json") || strings.Contains(string(js.Body), "https://") {
		t.Fatal("viewer script must read /openapi.json and fetch nothing from the internet")
	}
	expect(t, call(t, "GET", "/.well-known/jwks.json", "", nil), 200)
}

func TestGatewayCORS(t *testing.T) {
	r := call(t, "OPTIONS", "/api/v1/auth/login", "", nil, "Origin", "http://localhost:3000",
		"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type,authorization")
	if r.Status >= 300 || r.Header.Get("Access-Control-Allow-Origin") != "http://localhost:3000" {
		t.Fatalf("preflight from an allowed origin: %d %v", r.Status, r.Header)
	}
	r = call(t, "OPTIONS", "/api/v1/auth/login", "", nil, "Origin", "https://evil.example",
		"Access-Control-Request-Method", "POST")
	if r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("preflight from an unknown origin allowed: %v", r.Header)
	}
}
