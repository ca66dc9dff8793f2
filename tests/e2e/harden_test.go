package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"evently.dev/libs/testkit"
)

// eventually retries check for up to 3 s; revocations travel through Redis pub/sub to the
// gateway, which takes milliseconds, not zero.
func eventually(t *testing.T, what string, check func() bool) {
	t.Helper()
	testkit.Eventually(t, 3*time.Second, check, "%s", what)
}

func TestSessionsRevokedAtOnce(t *testing.T) {
	// Logout voids the access token in hand, not only the refresh token.
	u := registerUser(t)
	expect(t, call(t, "GET", "/api/v1/auth/me", u.AccessToken, nil), 200)
	expect(t, call(t, "POST", "/api/v1/auth/logout", u.AccessToken, map[string]any{"refresh_token": u.RefreshToken},
		"X-Forwarded-For", testIP()), 204)
	eventually(t, "access token after logout", func() bool {
		r := call(t, "GET", "/api/v1/auth/me", u.AccessToken, nil)
		return r.Status == 401 && strings.Contains(string(r.Body), "token_revoked")
	})

	// A demoted admin loses admin access at once.
	v := registerUser(t)
	path := "/api/v1/admin/users/" + v.UserID + "/role"
	expect(t, call(t, "PUT", path, adminToken(t), map[string]any{"role": "ADMIN"}), 200)
	promoted := expect(t, call(t, "POST", "/api/v1/auth/refresh", "", map[string]any{"refresh_token": v.RefreshToken},
		"X-Forwarded-For", testIP()), 200).JSON(t)
	adminAccess, _ := promoted["access_token"].(string)
	expect(t, call(t, "GET", "/api/v1/admin/bookings", adminAccess, nil), 200)
	expect(t, call(t, "PUT", path, adminToken(t), map[string]any{"role": "USER"}), 200)
	eventually(t, "admin path after demotion", func() bool {
		return call(t, "GET", "/api/v1/admin/bookings", adminAccess, nil).Status == 401
	})
	// After a refresh the user is back, as a USER.
	again := expect(t, call(t, "POST", "/api/v1/auth/refresh", "", map[string]any{"refresh_token": promoted["refresh_token"]},
		"X-Forwarded-For", testIP()), 200).JSON(t)
	userAccess, _ := again["access_token"].(string)
	expect(t, call(t, "GET", "/api/v1/auth/me", userAccess, nil), 200)
	expectProblem(t, call(t, "GET", "/api/v1/admin/bookings", userAccess, nil), 403)
}

func TestLoginThrottledPerAccount(t *testing.T) {
	u := registerUser(t)
	// Every guess from another address: the per-IP limit never sees more than one.
	for i := 0; i < 5; i++ {
		expectProblem(t, call(t, "POST", "/api/v1/auth/login", "", map[string]any{"email": u.Email, "password": "wrong-" + randHex(4)},
			"X-Forwarded-For", testIP()), 401)
	}
	r := call(t, "POST", "/api/v1/auth/login", "", map[string]any{"email": u.Email, "password": u.Password}, "X-Forwarded-For", testIP())
	p := expectProblem(t, r, 429)
	if p["code"] != "login_throttled" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("throttled login: %v Retry-After %q", p, r.Header.Get("Retry-After"))
	}
}

func TestWeakPasswordsRefused(t *testing.T) {
	email := "e2e-" + randHex(8) + "@example.com"
	for _, pw := range []string{"12345678", "        ", "Password123", email} {
		p := expectProblem(t, call(t, "POST", "/api/v1/auth/register", "", map[string]any{"first_name": "A", "last_name": "B",
			"email": email, "password": pw}, "X-Forwarded-For", testIP()), 422)
		if !strings.Contains(fmt.Sprint(p["errors"]), "password") {
			t.Errorf("%q: %v", pw, p)
		}
	}
}

func TestEdgeHeaders(t *testing.T) {
	u := registerUser(t)
	for id, keep := range map[string]bool{"trace-1234_ab.c:d": true, strings.Repeat("x", 300): false, "a\"b": false} {
		r := call(t, "GET", "/api/v1/auth/me", u.AccessToken, nil, "X-Request-Id", id)
		got := r.Header.Values("X-Request-Id")
		if len(got) != 1 || (got[0] == id) != keep || got[0] == "" {
			t.Errorf("X-Request-Id %.20q answered %.40q", id, got)
		}
		if r.Header.Get("X-Content-Type-Options") != "nosniff" || len(r.Header.Values("X-Content-Type-Options")) != 1 {
			t.Errorf("X-Content-Type-Options %q", r.Header.Values("X-Content-Type-Options"))
		}
		if r.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("signed-in answer Cache-Control %q", r.Header.Get("Cache-Control"))
		}
	}
	if r := call(t, "GET", "/api/v1/events", "", nil); r.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("public answer lacks nosniff")
	}
	// The public document is public: no service-to-service operation in it.
	if doc := expect(t, call(t, "GET", "/openapi.json", "", nil), 200); strings.Contains(string(doc.Body), "/internal/") {
		t.Error("/openapi.json documents /internal/ paths")
	}
}

// TestOversizeBodyWithExpectContinueIs413 sends a chunked body past the limit after
// Expect: 100-continue: the final status line must be 413.
func TestOversizeBodyWithExpectContinueIs413(t *testing.T) {
	u := registerUser(t)
	host := must(url.Parse(baseURL)).Host
	conn, err := net.DialTimeout("tcp", host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	fmt.Fprintf(conn, "POST /api/v1/auth/logout HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n"+
		"Expect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n", host, u.AccessToken)
	go func() {
		// A JSON string that never ends: the decoder keeps reading until the limit stops it.
		fmt.Fprintf(conn, "%x\r\n%s\r\n", len(`{"refresh_token":"`), `{"refresh_token":"`)
		chunk := strings.Repeat("x", 64<<10)
		for i := 0; i < 40; i++ { // 2.5 MiB, past the 1 MiB limit
			if _, err := fmt.Fprintf(conn, "%x\r\n%s\r\n", len(chunk), chunk); err != nil {
				return
			}
		}
		fmt.Fprint(conn, "0\r\n\r\n")
	}()
	br := bufio.NewReader(conn)
	for {
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode == http.StatusContinue {
			continue
		}
		b, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
		if res.StatusCode != http.StatusRequestEntityTooLarge || strings.Contains(string(b), "code=") {
			t.Fatalf("status %d: %s", res.StatusCode, b)
		}
		return
	}
}

// TestLargeAnswersToBodiesArriveWhole repeats a request whose answer is large (a 422 with
// a field error per section) with Expect: 100-continue: before the gateway proxied in
// full duplex, about one in twenty came back cut off.
func TestLargeAnswersToBodiesArriveWhole(t *testing.T) {
	sections := make([]map[string]any, 150)
	for i := range sections {
		sections[i] = map[string]any{"name": "", "row_start": "", "row_end": "", "seats_per_row": 0}
	}
	body := mustJSON(map[string]any{"name": "x", "address": "", "layout_type": "GENERAL", "sections": sections})
	admin := adminToken(t)
	for i := 0; i < 100; i++ {
		req, _ := http.NewRequest(http.MethodPost, baseURL+"/api/v1/admin/venue-templates", strings.NewReader(string(body)))
		req.Header.Set("Authorization", "Bearer "+admin)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Expect", "100-continue")
		res, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil || res.StatusCode != 422 || len(b) < 5000 {
			t.Fatalf("attempt %d: %d, %d bytes, %v", i, res.StatusCode, len(b), err)
		}
	}
}
