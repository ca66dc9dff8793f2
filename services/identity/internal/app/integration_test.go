package app_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"

	"evently.dev/libs/apperr"
	"evently.dev/libs/consumer"
	"evently.dev/libs/contracts"
	"evently.dev/libs/outbox"
	"evently.dev/libs/sessions"
	"evently.dev/libs/testkit"

	"evently.dev/services/identity/internal/app"
	"evently.dev/services/identity/internal/domain"
	"evently.dev/services/identity/internal/password"
	"evently.dev/services/identity/internal/revocation"
	"evently.dev/services/identity/internal/store"
	"evently.dev/services/identity/internal/throttle"
	"evently.dev/services/identity/internal/token"
	"evently.dev/services/identity/migrations"
)

type env struct {
	db     *bun.DB
	st     *store.Store
	svc    *app.Service
	keys   *token.KeySet
	rdb    *redis.Client
	prefix string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	db := testkit.MigratedDB(t, "identity", outbox.Migrations, consumer.Migrations, migrations.FS)
	st := store.New(db)
	keys, err := token.LoadKeySet(ctx, token.Source{KEK: testKEK(t)}, st)
	if err != nil {
		t.Fatal(err)
	}
	// Cheap parameters: these tests are about the flows, not the hash's cost.
	h, err := password.NewHasher(password.Params{MemoryKiB: 1024, Iterations: 1, Parallelism: 1}, 4)
	if err != nil {
		t.Fatal(err)
	}
	rdb, prefix := testkit.Redis(t)
	svc := &app.Service{Store: st, Hasher: h, RefreshTTL: time.Hour,
		Tokens:           token.NewIssuer(keys, "evently-identity", "evently-api", 15*time.Minute),
		Revoker:          revocation.Store{RDB: rdb, Prefix: prefix},
		RevocationMargin: time.Minute,
		Throttle: throttle.Logins{RDB: rdb, Prefix: prefix, Policy: throttle.Policy{FreeFailures: 5, BaseDelay: time.Second,
			MaxDelay: time.Minute, Memory: time.Minute}}}
	return &env{db: db, st: st, svc: svc, keys: keys, rdb: rdb, prefix: prefix}
}

func (e *env) register(t *testing.T, email string) app.Session {
	t.Helper()
	reg, err := domain.NewRegistration("Ada", "Lovelace", email, "correct-horse", nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := e.svc.Register(context.Background(), reg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (e *env) outboxCount(t *testing.T, key string) int {
	t.Helper()
	n, err := e.db.NewSelect().Table("outbox").Where("key = ? AND type = ? AND topic = ?", key,
		contracts.TypeUserRegistered, contracts.TopicIdentityUsers).Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

func TestIntegrationRegisterPublishesUserRegisteredInSameTx(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	s := e.register(t, " Ada@Example.COM ")
	if s.User.Email != "ada@example.com" || s.User.Role != domain.RoleUser {
		t.Fatalf("user %+v", s.User)
	}
	if n := e.outboxCount(t, s.User.ID.String()); n != 1 {
		t.Fatalf("outbox rows for the new user: %d, want 1", n)
	}
	var payload string
	if err := e.db.NewSelect().Table("outbox").Column("payload").Where("key = ?", s.User.ID.String()).Scan(ctx, &payload); err != nil {
		t.Fatal(err)
	}
	if err := contracts.Validate(contracts.TypeUserRegistered, []byte(payload)); err != nil {
		t.Fatalf("payload breaks the contract: %v", err)
	}

	// A duplicate rolls back completely: no user, no event, no refresh token.
	total, _ := e.db.NewSelect().Table("outbox").Count(ctx)
	reg, _ := domain.NewRegistration("B", "C", "ADA@example.com", "correct-horse", nil)
	if _, err := e.svc.Register(ctx, reg); !errors.Is(err, domain.ErrEmailTaken) {
		t.Fatalf("duplicate register: %v, want ErrEmailTaken", err)
	}
	if after, _ := e.db.NewSelect().Table("outbox").Count(ctx); after != total {
		t.Fatalf("outbox grew from %d to %d on a failed registration", total, after)
	}
	// An event is written only with its user: a transaction that fails after the insert
	// leaves neither behind.
	id := uuid.Must(uuid.NewV7())
	boom := errors.New("boom")
	err := e.st.InTx(ctx, func(ctx context.Context, r domain.Repository) error {
		u := domain.User{ID: id, Email: "ghost@example.com", FirstName: "G", LastName: "H", PasswordHash: "x", Role: domain.RoleUser,
			CreatedAt: time.Now(), UpdatedAt: time.Now(), PasswordChangedAt: time.Now()}
		if err := r.CreateUser(ctx, u); err != nil {
			return err
		}
		if err := r.PublishUserRegistered(ctx, u); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if n := e.outboxCount(t, id.String()); n != 0 {
		t.Fatal("outbox row survived a rolled-back registration")
	}
	if _, err := e.st.UserByID(ctx, id); !errors.Is(err, domain.ErrUserNotFound) {
		t.Fatal("user survived a rolled-back registration")
	}
}

func TestIntegrationLoginAndAccessToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	s := e.register(t, "grace@example.com")
	if _, err := e.svc.Login(ctx, "grace@example.com", "wrong-password"); !errors.Is(err, domain.ErrInvalidCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := e.svc.Login(ctx, "nobody@example.com", "correct-horse"); !errors.Is(err, domain.ErrInvalidCredentials) {
		t.Fatalf("unknown email: %v", err)
	}
	l, err := e.svc.Login(ctx, "GRACE@example.com", "correct-horse")
	if err != nil {
		t.Fatal(err)
	}
	// The access token verifies against the published key and carries the contract's claims.
	pub := e.keys.Published[0]
	var claims token.Claims
	tok, err := jwt.ParseWithClaims(l.AccessToken, &claims, func(tk *jwt.Token) (any, error) { return pub.Public, nil },
		jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithAudience("evently-api"), jwt.WithIssuer("evently-identity"))
	if err != nil || !tok.Valid {
		t.Fatalf("token invalid: %v", err)
	}
	if tok.Header["kid"] != pub.ID || claims.Subject != s.User.ID.String() || claims.Role != "USER" || claims.ID == "" ||
		claims.IssuedAt == nil || claims.ExpiresAt.Sub(claims.IssuedAt.Time) != 15*time.Minute {
		t.Fatalf("claims %+v header %v", claims, tok.Header)
	}
}

func TestIntegrationRefreshRotationAndReuse(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	s := e.register(t, "alan@example.com")
	s2, err := e.svc.Refresh(ctx, s.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if s2.RefreshToken == s.RefreshToken {
		t.Fatal("refresh did not rotate")
	}
	// Only hashes are stored.
	n, _ := e.db.NewSelect().Table("refresh_tokens").Where("token_hash = ?", []byte(s2.RefreshToken)).Count(ctx)
	if n != 0 {
		t.Fatal("a refresh token is stored in clear")
	}
	// Reuse of the spent token: refused, and the whole family is revoked.
	if _, err := e.svc.Refresh(ctx, s.RefreshToken); !errors.Is(err, domain.ErrInvalidRefreshToken) {
		t.Fatalf("reuse: %v", err)
	}
	if _, err := e.svc.Refresh(ctx, s2.RefreshToken); !errors.Is(err, domain.ErrInvalidRefreshToken) {
		t.Fatalf("family member after reuse: %v", err)
	}
	// Concurrent refreshes of one token: exactly one wins.
	l, _ := e.svc.Login(ctx, "alan@example.com", "correct-horse")
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := 0; i < 5; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.svc.Refresh(ctx, l.RefreshToken); err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d concurrent refreshes of one token succeeded, want 1", wins)
	}
	// Expired tokens are refused.
	e.svc.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	l2, _ := e.svc.Login(ctx, "alan@example.com", "correct-horse")
	e.svc.Now = func() time.Time { return time.Now().Add(4 * time.Hour) }
	if _, err := e.svc.Refresh(ctx, l2.RefreshToken); !errors.Is(err, domain.ErrInvalidRefreshToken) {
		t.Fatalf("expired token: %v", err)
	}
}

func TestIntegrationLogoutAndChangePassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	s := e.register(t, "barbara@example.com")
	other := e.register(t, "edsger@example.com")
	// Someone else's token is not theirs to revoke.
	if err := e.svc.Logout(ctx, other.User.ID, s.RefreshToken); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Refresh(ctx, s.RefreshToken); err != nil {
		t.Fatalf("another user's logout revoked the token: %v", err)
	}
	l, _ := e.svc.Login(ctx, "barbara@example.com", "correct-horse")
	if err := e.svc.Logout(ctx, s.User.ID, l.RefreshToken); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Refresh(ctx, l.RefreshToken); !errors.Is(err, domain.ErrInvalidRefreshToken) {
		t.Fatalf("after logout: %v", err)
	}
	l3, _ := e.svc.Login(ctx, "barbara@example.com", "correct-horse")
	if err := e.svc.ChangePassword(ctx, s.User.ID, "wrong", "new-password-1"); !errors.Is(err, domain.ErrWrongPassword) {
		t.Fatalf("wrong current password: %v", err)
	}
	if err := e.svc.ChangePassword(ctx, s.User.ID, "correct-horse", "short"); err == nil {
		t.Fatal("short new password accepted")
	}
	for _, weak := range []string{"password123", "Barbara@Example.com", "        "} {
		if err := e.svc.ChangePassword(ctx, s.User.ID, "correct-horse", weak); err == nil {
			t.Fatalf("new password %q accepted", weak)
		}
	}
	if err := e.svc.ChangePassword(ctx, s.User.ID, "correct-horse", "new-password-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Refresh(ctx, l3.RefreshToken); !errors.Is(err, domain.ErrInvalidRefreshToken) {
		t.Fatalf("refresh after password change: %v", err)
	}
	if _, err := e.svc.Login(ctx, "barbara@example.com", "correct-horse"); !errors.Is(err, domain.ErrInvalidCredentials) {
		t.Fatalf("old password: %v", err)
	}
	if _, err := e.svc.Login(ctx, "barbara@example.com", "new-password-1"); err != nil {
		t.Fatalf("new password: %v", err)
	}
}

func TestIntegrationBootstrapAdminAndRoles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	a, err := e.svc.BootstrapAdmin(ctx, "Admin@Evently.local", "evently-admin", "Evently", "Admin")
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.svc.BootstrapAdmin(ctx, "admin@evently.local", "evently-admin", "Evently", "Admin")
	if err != nil || again.ID != a.ID || again.Role != domain.RoleAdmin {
		t.Fatalf("second bootstrap: %+v %v", again, err)
	}
	if n := e.outboxCount(t, a.ID.String()); n != 1 {
		t.Fatalf("bootstrap published %d user.registered, want 1", n)
	}
	// A changed configured password is applied.
	if _, err := e.svc.BootstrapAdmin(ctx, "admin@evently.local", "rotated-admin-pw", "Evently", "Admin"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Login(ctx, "admin@evently.local", "rotated-admin-pw"); err != nil {
		t.Fatalf("login with the new admin password: %v", err)
	}
	// The last admin cannot be demoted; with two, one can.
	if _, err := e.svc.ChangeRole(ctx, a.ID, "USER"); !errors.Is(err, domain.ErrLastAdmin) {
		t.Fatalf("demote last admin: %v", err)
	}
	u := e.register(t, "linus@example.com")
	if _, err := e.svc.ChangeRole(ctx, u.User.ID, "SUPERUSER"); err == nil {
		t.Fatal("unknown role accepted")
	}
	if _, err := e.svc.ChangeRole(ctx, uuid.Must(uuid.NewV7()), "ADMIN"); !errors.Is(err, domain.ErrUserNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
	p, err := e.svc.ChangeRole(ctx, u.User.ID, "ADMIN")
	if err != nil || p.Role != domain.RoleAdmin {
		t.Fatalf("promote: %+v %v", p, err)
	}
	if _, err := e.svc.ChangeRole(ctx, a.ID, "USER"); err != nil {
		t.Fatalf("demote one of two admins: %v", err)
	}
}

func TestIntegrationGeneratedSigningKeyIsShared(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	// Replicas starting together agree on one key.
	var wg sync.WaitGroup
	kids := make([]string, 4)
	for i := range kids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ks, err := token.LoadKeySet(ctx, token.Source{KEK: testKEK(t)}, e.st)
			if err != nil {
				t.Error(err)
				return
			}
			kids[i] = ks.Signing.ID
		}()
	}
	wg.Wait()
	for _, k := range kids {
		if k != e.keys.Signing.ID {
			t.Fatalf("replicas disagree on the signing key: %v vs %s", kids, e.keys.Signing.ID)
		}
	}
	// After a rotation the new key signs and the JWKS still lists the previous one.
	k, _ := token.Generate()
	pemText, _ := k.PrivatePEM()
	time.Sleep(10 * time.Millisecond) // created_at orders keys
	// A row stored in clear (before sealing existed) is sealed in place when loaded.
	if err := e.st.AddSigningKey(ctx, token.StoredKey{ID: k.ID, Alg: k.Alg, PEM: pemText}); err != nil {
		t.Fatal(err)
	}
	ks, err := token.LoadKeySet(ctx, token.Source{KEK: testKEK(t)}, e.st)
	if err != nil {
		t.Fatal(err)
	}
	if ks.Signing.ID != k.ID || len(ks.Published) != 2 || ks.Published[1].ID != e.keys.Signing.ID {
		t.Fatalf("after rotation: signing %s, published %d", ks.Signing.ID, len(ks.Published))
	}
	var stored []string
	if err := e.db.NewSelect().Table("signing_keys").Column("private_key_pem").Scan(ctx, &stored); err != nil {
		t.Fatal(err)
	}
	for _, v := range stored {
		if !token.IsSealed(v) || strings.Contains(v, "PRIVATE KEY") {
			t.Fatalf("a signing key is stored in clear: %.40q", v)
		}
	}
	// Without the KEK, or with another one, nothing starts.
	if _, err := token.LoadKeySet(ctx, token.Source{}, e.st); !errors.Is(err, token.ErrNoKEK) {
		t.Fatalf("no KEK: %v", err)
	}
	other, _ := token.ParseKEK(strings.Repeat("ab", 32))
	if _, err := token.LoadKeySet(ctx, token.Source{KEK: other}, e.st); err == nil {
		t.Fatal("keys opened with the wrong KEK")
	}
}

// testKEK is a fixed key-encryption key for tests.
func testKEK(t *testing.T) *token.KEK {
	t.Helper()
	k, err := token.ParseKEK("bG9jYWwtZGV2LWtlay1ub3QtZm9yLXByb2R1Y3Rpb24=")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestIntegrationLoginThrottlePerAccount checks identity's own guessing limit: after five
// failures for one address (known or not) the next attempt is refused with a wait, even
// with the right password, until the wait passes; a success clears the count.
func TestIntegrationLoginThrottlePerAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.register(t, "kurt@example.com")
	for _, email := range []string{"kurt@example.com", "nobody-here@example.com"} {
		for i := 0; i < 5; i++ {
			if _, err := e.svc.Login(ctx, email, "wrong-password"); !errors.Is(err, domain.ErrInvalidCredentials) {
				t.Fatalf("%s attempt %d: %v", email, i+1, err)
			}
		}
		_, err := e.svc.Login(ctx, email, "correct-horse")
		ae, ok := apperr.As(err)
		if !errors.Is(err, domain.ErrLoginThrottled) || !ok || ae.Extra["retry_after_seconds"] != 1 {
			t.Fatalf("%s 6th attempt: %v", email, err)
		}
	}
	// Another address is not slowed by these failures.
	e.register(t, "emmy@example.com")
	if _, err := e.svc.Login(ctx, "emmy@example.com", "correct-horse"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	if _, err := e.svc.Login(ctx, "Kurt@example.com", "correct-horse"); err != nil {
		t.Fatalf("after the wait: %v", err)
	}
	// The success cleared the failures: a new wrong guess is an ordinary 401.
	if _, err := e.svc.Login(ctx, "kurt@example.com", "wrong-password"); !errors.Is(err, domain.ErrInvalidCredentials) {
		t.Fatalf("after success: %v", err)
	}
}

// revocationOf reads what the gateway would see for the user.
func (e *env) revocationOf(t *testing.T, userID uuid.UUID) (sessions.Revocation, bool) {
	t.Helper()
	v, err := e.rdb.Get(context.Background(), sessions.Key(e.prefix, userID.String())).Result()
	if errors.Is(err, redis.Nil) {
		return sessions.Revocation{}, false
	}
	if err != nil {
		t.Fatal(err)
	}
	r, err := sessions.Parse(v)
	if err != nil {
		t.Fatal(err)
	}
	return r, true
}

func issuedAt(t *testing.T, e *env, access string) time.Time {
	t.Helper()
	var claims token.Claims
	if _, err := jwt.ParseWithClaims(access, &claims, func(*jwt.Token) (any, error) { return e.keys.Published[0].Public, nil },
		jwt.WithLeeway(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	return claims.IssuedAt.Time
}

// TestIntegrationSessionsRevokedAtOnce checks that logout, a password change and a role
// change each void the user's access tokens issued so far (recorded for the gateway and
// announced on the identity topic), while tokens issued afterwards, even within the same
// second, stay valid.
func TestIntegrationSessionsRevokedAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.svc.BootstrapAdmin(ctx, "root@example.com", "evently-admin", "R", "Oot"); err != nil {
		t.Fatal(err)
	}
	s := e.register(t, "alonzo@example.com")
	if _, ok := e.revocationOf(t, s.User.ID); ok {
		t.Fatal("revocation before anything happened")
	}
	steps := []struct {
		reason string
		do     func(current app.Session) error
	}{
		{"role_changed", func(app.Session) error { _, err := e.svc.ChangeRole(ctx, s.User.ID, "ADMIN"); return err }},
		{"password_changed", func(app.Session) error {
			return e.svc.ChangePassword(ctx, s.User.ID, "correct-horse", "another-horse-9")
		}},
		{"logout", func(cur app.Session) error { return e.svc.Logout(ctx, s.User.ID, cur.RefreshToken) }},
	}
	cur := s
	for _, st := range steps {
		before := issuedAt(t, e, cur.AccessToken)
		if err := st.do(cur); err != nil {
			t.Fatalf("%s: %v", st.reason, err)
		}
		r, ok := e.revocationOf(t, s.User.ID)
		if !ok || !r.Voids(before) {
			t.Fatalf("%s: token issued at %v not voided by %+v", st.reason, before, r)
		}
		if ttl := e.rdb.PTTL(ctx, sessions.Key(e.prefix, s.User.ID.String())).Val(); ttl <= 15*time.Minute || ttl > 17*time.Minute {
			t.Fatalf("%s: revocation kept for %v, want the token TTL plus the margin", st.reason, ttl)
		}
		n, err := e.db.NewSelect().Table("outbox").Where("key = ? AND type = ? AND payload::jsonb->>'reason' = ?",
			s.User.ID.String(), contracts.TypeUserSessionsRevoked, st.reason).Count(ctx)
		if err != nil || n != 1 {
			t.Fatalf("%s: %d outbox rows (%v)", st.reason, n, err)
		}
		// A session started right after, in the same second, is not caught by it.
		next, err := e.svc.Login(ctx, "alonzo@example.com", "another-horse-9")
		if st.reason == "role_changed" {
			next, err = e.svc.Login(ctx, "alonzo@example.com", "correct-horse")
		}
		if err != nil {
			t.Fatal(err)
		}
		if r.Voids(issuedAt(t, e, next.AccessToken)) {
			t.Fatalf("%s: a token issued after the revocation is void", st.reason)
		}
		cur = next
	}
	var payload string
	if err := e.db.NewSelect().Table("outbox").Column("payload").Where("type = ?", contracts.TypeUserSessionsRevoked).
		Limit(1).Scan(ctx, &payload); err != nil {
		t.Fatal(err)
	}
	if err := contracts.Validate(contracts.TypeUserSessionsRevoked, []byte(payload)); err != nil {
		t.Fatal(err)
	}
}
