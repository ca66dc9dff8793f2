// Package assertion carries the caller's identity from the gateway to a service. The
// gateway signs user id, role, request id and time with a secret only it and the services
// share; a service trusts identity headers only with a valid, fresh signature, so a
// request that bypasses the gateway cannot claim to be anyone.
package assertion

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"evently.dev/libs/apperr"
)

// Header names of the assertion. X-Request-ID is signed too, so logs cannot be forged.
const (
	HeaderUserID    = "X-User-ID"
	HeaderUserRole  = "X-User-Role"
	HeaderRequestID = "X-Request-ID"
	HeaderAssertion = "X-Evently-Assertion"
)

// Roles known to every service.
const (
	RoleUser  = "USER"
	RoleAdmin = "ADMIN"
)

// MaxSkew bounds how old (or early) an assertion may be, limiting replay.
const MaxSkew = 60 * time.Second

// Config holds the shared secret.
type Config struct {
	Secret string `envconfig:"IDENTITY_ASSERTION_SECRET" required:"true" mask:"true"`
}

// Identity is the authenticated caller as the gateway vouched for it.
type Identity struct {
	UserID string
	Role   string
}

// IsAdmin reports whether the caller has the ADMIN role.
func (i Identity) IsAdmin() bool { return i.Role == RoleAdmin }

var (
	errInvalid = apperr.New(apperr.KindUnauthenticated, "invalid_identity_assertion",
		"identity headers are accepted only from the gateway")
)

func mac(secret, userID, role, requestID string, ts int64) string {
	h := hmac.New(sha256.New, []byte(secret))
	_, _ = h.Write([]byte("v1\n" + userID + "\n" + role + "\n" + requestID + "\n" + strconv.FormatInt(ts, 10)))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// Sign sets the identity headers on h (removing any that were there) for the given
// identity, which may be empty for an anonymous request.
func Sign(h http.Header, secret string, id Identity, requestID string, now time.Time) {
	h.Del(HeaderUserID)
	h.Del(HeaderUserRole)
	h.Del(HeaderAssertion)
	if id.UserID != "" {
		h.Set(HeaderUserID, id.UserID)
		h.Set(HeaderUserRole, id.Role)
	}
	ts := now.Unix()
	h.Set(HeaderAssertion, "v1;t="+strconv.FormatInt(ts, 10)+";sig="+mac(secret, id.UserID, id.Role, requestID, ts))
}

// Verify checks h's assertion. ok is false (with no error) when the request carries no
// identity headers at all: an anonymous caller. A present but invalid assertion is an error.
func Verify(h http.Header, secret string, now time.Time) (id Identity, ok bool, err error) {
	raw := h.Get(HeaderAssertion)
	userID, role := h.Get(HeaderUserID), h.Get(HeaderUserRole)
	if raw == "" {
		if userID != "" || role != "" {
			return Identity{}, false, errInvalid
		}
		return Identity{}, false, nil
	}
	var ts int64
	var sig string
	parts := strings.Split(raw, ";")
	if len(parts) != 3 || parts[0] != "v1" {
		return Identity{}, false, errInvalid
	}
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(p, "=")
		switch k {
		case "t":
			n, perr := strconv.ParseInt(v, 10, 64)
			if perr != nil {
				return Identity{}, false, errInvalid
			}
			ts = n
		case "sig":
			sig = v
		}
	}
	if d := now.Sub(time.Unix(ts, 0)); d > MaxSkew || d < -MaxSkew {
		return Identity{}, false, errInvalid
	}
	want := mac(secret, userID, role, h.Get(HeaderRequestID), ts)
	if !hmac.Equal([]byte(want), []byte(sig)) {
		return Identity{}, false, errInvalid
	}
	if userID == "" {
		return Identity{}, false, nil
	}
	return Identity{UserID: userID, Role: role}, true, nil
}

type ctxKey struct{}

// WithIdentity stores id in ctx, for use cases that need the caller.
func WithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// FromContext returns the caller stored by the middleware.
func FromContext(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(ctxKey{}).(Identity)
	return id, ok
}

// Middleware verifies the assertion on every request: valid → identity in the request
// context; absent → anonymous; forged or stale → 401.
func Middleware(secret string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			id, ok, err := Verify(c.Request().Header, secret, time.Now())
			if err != nil {
				return err
			}
			if ok {
				c.SetRequest(c.Request().WithContext(WithIdentity(c.Request().Context(), id)))
			}
			return next(c)
		}
	}
}

// RequireUser answers 401 unless a signed-in caller is present.
func RequireUser(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, ok := FromContext(c.Request().Context()); !ok {
			return apperr.ErrUnauthenticated
		}
		return next(c)
	}
}

// RequireAdmin answers 401 without a caller and 403 for a caller who is not ADMIN.
func RequireAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, ok := FromContext(c.Request().Context())
		if !ok {
			return apperr.ErrUnauthenticated
		}
		if !id.IsAdmin() {
			return apperr.ErrForbidden.WithDetail("this requires the ADMIN role")
		}
		return next(c)
	}
}

// Caller returns the signed-in caller or a 401 error, for handlers behind RequireUser.
func Caller(c echo.Context) (Identity, error) {
	id, ok := FromContext(c.Request().Context())
	if !ok {
		return Identity{}, apperr.ErrUnauthenticated
	}
	return id, nil
}
