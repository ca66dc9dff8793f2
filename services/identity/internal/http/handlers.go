package http

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"evently.dev/libs/apperr"
	"evently.dev/libs/assertion"
	"evently.dev/libs/httpserver"

	"evently.dev/services/identity/internal/app"
	"evently.dev/services/identity/internal/domain"
)

// Handlers serves identity's public API.
type Handlers struct {
	App  *app.Service
	JWKS []byte
}

// Register mounts the routes; identity assertions are already verified by the platform.
func (h *Handlers) Register(e *echo.Echo) {
	e.GET("/.well-known/jwks.json", h.jwks)
	g := e.Group("/api/v1")
	g.POST("/auth/register", h.register)
	g.POST("/auth/login", h.login)
	g.POST("/auth/refresh", h.refresh)
	g.POST("/auth/logout", h.logout, assertion.RequireUser)
	g.POST("/auth/change-password", h.changePassword, assertion.RequireUser)
	g.PUT("/auth/change-password", h.changePassword, assertion.RequireUser)
	g.GET("/auth/me", h.me, assertion.RequireUser)
	g.PUT("/admin/users/:id/role", h.changeRole, assertion.RequireAdmin)
}

func (h *Handlers) jwks(c echo.Context) error {
	// Short caching: verifiers refetch on an unknown kid anyway, so rotations propagate.
	c.Response().Header().Set("Cache-Control", "public, max-age=300")
	return c.Blob(http.StatusOK, "application/jwk-set+json", h.JWKS)
}

func session(c echo.Context, status int, s app.Session) error {
	// Token responses must not be cached by anything in between (RFC 6749 §5.1).
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(status, toSession(s))
}

func (h *Handlers) register(c echo.Context) error {
	var req registerRequest
	if err := httpserver.BindJSON(c, &req); err != nil {
		return err
	}
	reg, err := req.registration()
	if err != nil {
		return err
	}
	s, err := h.App.Register(c.Request().Context(), reg)
	if err != nil {
		return err
	}
	return session(c, http.StatusCreated, s)
}

func (h *Handlers) login(c echo.Context) error {
	// Missing fields are not reported one by one: a login with an empty email is simply
	// wrong credentials.
	var req loginRequest
	if err := httpserver.BindJSON(c, &req); err != nil {
		return err
	}
	s, err := h.App.Login(c.Request().Context(), req.Email, req.Password)
	if ae, ok := apperr.As(err); ok && ae.Kind == apperr.KindRateLimited {
		if secs, ok := ae.Extra["retry_after_seconds"].(int); ok {
			c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
		}
	}
	if err != nil {
		return err
	}
	return session(c, http.StatusOK, s)
}

func (h *Handlers) refresh(c echo.Context) error {
	var req refreshRequest
	if err := httpserver.BindJSON(c, &req); err != nil {
		return err
	}
	s, err := h.App.Refresh(c.Request().Context(), req.RefreshToken)
	if err != nil {
		return err
	}
	return session(c, http.StatusOK, s)
}

func (h *Handlers) logout(c echo.Context) error {
	id, err := callerID(c)
	if err != nil {
		return err
	}
	var req refreshRequest
	if err := httpserver.BindJSON(c, &req); err != nil {
		return err
	}
	if req.RefreshToken == "" {
		return apperr.Validation(apperr.KindUnprocessable, apperr.FieldError{Field: "refresh_token", Message: "is required"})
	}
	if err := h.App.Logout(c.Request().Context(), id, req.RefreshToken); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h *Handlers) changePassword(c echo.Context) error {
	id, err := callerID(c)
	if err != nil {
		return err
	}
	var req changePasswordRequest
	if err := httpserver.BindJSON(c, &req); err != nil {
		return err
	}
	if err := h.App.ChangePassword(c.Request().Context(), id, req.CurrentPassword, req.NewPassword); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h *Handlers) me(c echo.Context) error {
	id, err := callerID(c)
	if err != nil {
		return err
	}
	u, err := h.App.GetUser(c.Request().Context(), id)
	if errors.Is(err, domain.ErrUserNotFound) {
		// The token outlived its account: the caller is no longer anyone.
		return apperr.ErrUnauthenticated.WithDetail("the account of this token no longer exists")
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toUser(u))
}

func (h *Handlers) changeRole(c echo.Context) error {
	id, err := httpserver.PathUUID(c, "id")
	if err != nil {
		return err
	}
	var req roleRequest
	if err := httpserver.BindJSON(c, &req); err != nil {
		return err
	}
	u, err := h.App.ChangeRole(c.Request().Context(), id, req.Role)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toUser(u))
}

func callerID(c echo.Context) (uuid.UUID, error) {
	who, err := assertion.Caller(c)
	if err != nil {
		return uuid.Nil, err
	}
	id, err := uuid.Parse(who.UserID)
	if err != nil {
		return uuid.Nil, apperr.ErrUnauthenticated.WithDetail("the token's subject is not a user")
	}
	return id, nil
}
