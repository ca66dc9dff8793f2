package auth

import (
	"errors"
	"strings"

	"github.com/golang-jwt/jwt/v5"
	"github.com/labstack/echo/v4"

	"evently.dev/libs/apperr"
	"evently.dev/libs/assertion"

	"evently.dev/gateway/internal/route"
)

var (
	errMissing = apperr.New(apperr.KindUnauthenticated, "unauthenticated", "this path needs an access token (Authorization: Bearer <token>)")
	errInvalid = apperr.New(apperr.KindUnauthenticated, "invalid_token", "the access token is invalid")
	errExpired = apperr.New(apperr.KindUnauthenticated, "token_expired", "the access token has expired; refresh it")
	errRevoked = apperr.New(apperr.KindUnauthenticated, "token_revoked",
		"the access token's session was ended (logout, password or role change); refresh it or log in again")
	errAdmin = apperr.New(apperr.KindForbidden, "forbidden", "this requires the ADMIN role")
)

// Middleware authenticates every proxied request. Public paths pass without a token, but a
// token that is present must be valid (and then identifies the caller); every other path
// needs a valid token; /api/v1/admin/... needs role ADMIN. The verified caller goes into
// the request context, where the proxy signs it for the service.
func Middleware(v *Verifier) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			rule, known := route.Match(req.URL.Path)
			if !known {
				return next(c) // the proxy answers 404
			}
			raw, present, bad := bearer(req.Header.Get(echo.HeaderAuthorization))
			if bad {
				return challenge(c, errInvalid.WithDetail("the Authorization header must be \"Bearer <token>\""), "invalid_request")
			}
			if !present {
				if rule.IsPublic(req.Method) {
					return next(c)
				}
				return challenge(c, errMissing, "")
			}
			id, err := v.Verify(req.Context(), raw)
			if err != nil {
				if errors.Is(err, jwt.ErrTokenExpired) {
					return challenge(c, errExpired, "invalid_token")
				}
				if errors.Is(err, ErrRevoked) {
					return challenge(c, errRevoked, "invalid_token")
				}
				return challenge(c, errInvalid, "invalid_token")
			}
			if route.IsAdmin(req.URL.Path) && !id.IsAdmin() {
				return errAdmin
			}
			c.SetRequest(req.WithContext(assertion.WithIdentity(req.Context(), id)))
			return next(c)
		}
	}
}

// bearer extracts the token; bad means an Authorization header that is not a bearer token.
func bearer(h string) (token string, present, bad bool) {
	if h == "" {
		return "", false, false
	}
	scheme, tok, ok := strings.Cut(h, " ")
	tok = strings.TrimSpace(tok)
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return "", false, true
	}
	return tok, true, false
}

// challenge answers 401 with the RFC 6750 WWW-Authenticate header.
func challenge(c echo.Context, e *apperr.Error, code string) error {
	v := `Bearer realm="evently"`
	if code != "" {
		v += `, error="` + code + `"`
	}
	c.Response().Header().Set(echo.HeaderWWWAuthenticate, v)
	return e
}
