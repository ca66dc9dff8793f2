package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestIdentityAuthFlow(t *testing.T) {
	u := registerUser(t)

	// Login: normalised email (spaces, capitals) finds the account.
	s := login(t, "  "+strings.ToUpper(u.Email)+" ", u.Password)
	if s.UserID != u.UserID {
		t.Fatalf("login user %s, registered %s", s.UserID, u.UserID)
	}

	me := expect(t, call(t, "GET", "/api/v1/auth/me", s.AccessToken, nil), 200).JSON(t)
	if me["id"] != u.UserID || me["email"] != u.Email || me["role"] != "USER" || me["password_hash"] != nil {
		t.Fatalf("me = %v", me)
	}
	for _, f := range []string{"first_name", "last_name", "created_at"} {
		if me[f] == nil {
			t.Errorf("me lacks %s", f)
		}
	}

	// Refresh rotates: the new pair works, the old refresh token is refused.
	r := expect(t, call(t, "POST", "/api/v1/auth/refresh", "", map[string]any{"refresh_token": s.RefreshToken},
		"X-Forwarded-For", testIP()), 200).JSON(t)
	newRefresh, _ := r["refresh_token"].(string)
	newAccess, _ := r["access_token"].(string)
	if newRefresh == "" || newRefresh == s.RefreshToken || newAccess == "" || r["token_type"] != "Bearer" {
		t.Fatalf("refresh answer %v", r)
	}
	expect(t, call(t, "GET", "/api/v1/auth/me", newAccess, nil), 200)
	expectProblem(t, call(t, "POST", "/api/v1/auth/refresh", "", map[string]any{"refresh_token": s.RefreshToken},
		"X-Forwarded-For", testIP()), 401)

	// Logout ends the session: its refresh token no longer works.
	expect(t, call(t, "POST", "/api/v1/auth/logout", newAccess, map[string]any{"refresh_token": newRefresh},
		"X-Forwarded-For", testIP()), 204)
	expectProblem(t, call(t, "POST", "/api/v1/auth/refresh", "", map[string]any{"refresh_token": newRefresh},
		"X-Forwarded-For", testIP()), 401)

	// Change password: another session's refresh token dies, the old password is refused.
	other := login(t, u.Email, u.Password)
	expectProblem(t, call(t, "PUT", "/api/v1/auth/change-password", other.AccessToken,
		map[string]any{"current_password": "wrong-password", "new_password": "another-pw-123"}, "X-Forwarded-For", testIP()), 422)
	expect(t, call(t, "POST", "/api/v1/auth/change-password", other.AccessToken,
		map[string]any{"current_password": u.Password, "new_password": "another-pw-123"}, "X-Forwarded-For", testIP()), 204)
	expectProblem(t, call(t, "POST", "/api/v1/auth/refresh", "", map[string]any{"refresh_token": other.RefreshToken},
		"X-Forwarded-For", testIP()), 401)
	expectProblem(t, call(t, "POST", "/api/v1/auth/login", "", map[string]any{"email": u.Email, "password": u.Password},
		"X-Forwarded-For", testIP()), 401)
	login(t, u.Email, "another-pw-123")
}

func TestIdentityRefreshReuseRevokesFamily(t *testing.T) {
	u := registerUser(t)
	first := u.RefreshToken
	r := expect(t, call(t, "POST", "/api/v1/auth/refresh", "", map[string]any{"refresh_token": first},
		"X-Forwarded-For", testIP()), 200).JSON(t)
	second, _ := r["refresh_token"].(string)
	// Someone replays the spent token: refused, and the whole family dies with it.
	p := expectProblem(t, call(t, "POST", "/api/v1/auth/refresh", "", map[string]any{"refresh_token": first},
		"X-Forwarded-For", testIP()), 401)
	if p["code"] != "invalid_refresh_token" {
		t.Errorf("code %v", p["code"])
	}
	expectProblem(t, call(t, "POST", "/api/v1/auth/refresh", "", map[string]any{"refresh_token": second},
		"X-Forwarded-For", testIP()), 401)
	// Other sessions of the same user are unaffected.
	s := login(t, u.Email, u.Password)
	expect(t, call(t, "POST", "/api/v1/auth/refresh", "", map[string]any{"refresh_token": s.RefreshToken},
		"X-Forwarded-For", testIP()), 200)
	// A token that never existed is the same 401.
	expectProblem(t, call(t, "POST", "/api/v1/auth/refresh", "", map[string]any{"refresh_token": randToken()},
		"X-Forwarded-For", testIP()), 401)
}

func TestIdentityRegistrationRules(t *testing.T) {
	ip := testIP()
	u := registerUser(t)
	// Duplicate email, even in other letter case: 409.
	p := expectProblem(t, call(t, "POST", "/api/v1/auth/register", "", map[string]any{"first_name": "A", "last_name": "B",
		"email": strings.ToUpper(u.Email), "password": "long-enough-1"}, "X-Forwarded-For", ip), 409)
	if p["code"] != "email_taken" {
		t.Errorf("code %v", p["code"])
	}
	// Registration never makes an ADMIN.
	p = expectProblem(t, call(t, "POST", "/api/v1/auth/register", "", map[string]any{"first_name": "A", "last_name": "B",
		"email": "e2e-" + randHex(6) + "@example.com", "password": "long-enough-1", "role": "ADMIN"}, "X-Forwarded-For", ip), 422)
	if errs, _ := p["errors"].([]any); len(errs) == 0 || !strings.Contains(string(mustJSON(errs)), "role") {
		t.Errorf("no field error on role: %v", p)
	}
	cases := []struct {
		name   string
		body   any
		status int
	}{
		{"malformed JSON", `{"email": "x@example.com", `, 400},
		{"wrong type", map[string]any{"first_name": 5, "last_name": "B", "email": "a@example.com", "password": "long-enough-1"}, 400},
		{"unknown field", map[string]any{"first_name": "A", "last_name": "B", "email": "a@example.com", "password": "long-enough-1", "admin": true}, 400},
		{"short password", map[string]any{"first_name": "A", "last_name": "B", "email": "a-" + randHex(4) + "@example.com", "password": "short"}, 422},
		{"long password", map[string]any{"first_name": "A", "last_name": "B", "email": "a-" + randHex(4) + "@example.com", "password": strings.Repeat("x", 129)}, 422},
		{"bad email", map[string]any{"first_name": "A", "last_name": "B", "email": "not-an-email", "password": "long-enough-1"}, 422},
		{"missing names", map[string]any{"email": "a-" + randHex(4) + "@example.com", "password": "long-enough-1"}, 422},
		{"2 MiB body", `{"first_name":"` + strings.Repeat("a", 2<<20) + `"}`, 413},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			expectProblem(t, call(t, "POST", "/api/v1/auth/register", "", tc.body, "X-Forwarded-For", ip), tc.status)
		})
	}
	expectProblem(t, call(t, "POST", "/api/v1/auth/login", "", `[1,2`, "X-Forwarded-For", ip), 400)
	expectProblem(t, call(t, "POST", "/api/v1/auth/login", "", map[string]any{"email": true}, "X-Forwarded-For", ip), 400)
}

func TestIdentityLoginSameAnswerForUnknownEmail(t *testing.T) {
	u := registerUser(t)
	wrong := expectProblem(t, call(t, "POST", "/api/v1/auth/login", "", map[string]any{"email": u.Email, "password": "wrong-password"},
		"X-Forwarded-For", testIP()), 401)
	unknown := expectProblem(t, call(t, "POST", "/api/v1/auth/login", "", map[string]any{"email": "nobody-" + randHex(6) + "@example.com",
		"password": "wrong-password"}, "X-Forwarded-For", testIP()), 401)
	if wrong["code"] != unknown["code"] || wrong["detail"] != unknown["detail"] || wrong["code"] != "invalid_credentials" {
		t.Fatalf("answers differ: %v vs %v", wrong, unknown)
	}
}

func TestIdentityAdminBootstrapAndRoles(t *testing.T) {
	admin := adminToken(t)
	me := expect(t, call(t, "GET", "/api/v1/auth/me", admin, nil), 200).JSON(t)
	if me["role"] != "ADMIN" || me["email"] != adminEmail {
		t.Fatalf("bootstrap admin me = %v", me)
	}
	u := registerUser(t)
	path := "/api/v1/admin/users/" + u.UserID + "/role"
	// A USER on an admin path: 403 at the gateway.
	expectProblem(t, call(t, "PUT", path, u.AccessToken, map[string]any{"role": "ADMIN"}), 403)
	expectProblem(t, call(t, "PUT", path, admin, map[string]any{"role": "ROOT"}), 422)
	expectProblem(t, call(t, "PUT", "/api/v1/admin/users/not-a-uuid/role", admin, map[string]any{"role": "ADMIN"}), 400)
	expectProblem(t, call(t, "PUT", "/api/v1/admin/users/0192a5d2-0000-7000-8000-000000000001/role", admin, map[string]any{"role": "ADMIN"}), 404)
	got := expect(t, call(t, "PUT", path, admin, map[string]any{"role": "ADMIN"}), 200).JSON(t)
	if got["role"] != "ADMIN" || got["id"] != u.UserID {
		t.Fatalf("role change answered %v", got)
	}
	// The new role reaches the user's tokens at the next refresh.
	r := expect(t, call(t, "POST", "/api/v1/auth/refresh", "", map[string]any{"refresh_token": u.RefreshToken},
		"X-Forwarded-For", testIP()), 200).JSON(t)
	promoted, _ := r["access_token"].(string)
	expect(t, call(t, "PUT", path, promoted, map[string]any{"role": "USER"}), 200)
}

func TestIdentityUserRegisteredInOutbox(t *testing.T) {
	if sys.DatabaseURL == "" {
		t.Skip("needs the private system's database")
	}
	u := registerUser(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, sys.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var n int
	var payload string
	err = c.QueryRow(ctx, `SELECT count(*) OVER (), payload::text FROM identity.outbox WHERE key = $1 AND type = $2`,
		u.UserID, "evently.identity.user.registered.v1").Scan(&n, &payload)
	if err != nil {
		t.Fatalf("no user.registered outbox row for %s: %v", u.UserID, err)
	}
	if n != 1 || !strings.Contains(payload, u.Email) {
		t.Fatalf("outbox rows %d payload %s", n, payload)
	}
}
