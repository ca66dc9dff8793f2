// Package http is the inventory's Echo adapter: routes, request decoding, response DTOs and
// the seat-map encoder and SSE stream. Business rules live in app.
package http

import (
	"compress/gzip"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"evently.dev/libs/apperr"
	"evently.dev/libs/assertion"
	"evently.dev/libs/contracts/inventoryapi"

	"evently.dev/services/inventory/internal/app"
	"evently.dev/services/inventory/internal/live"
)

// StreamPath is the SSE route, exempt from the request timeout.
const StreamPath = "/api/v1/events/:id/availability/stream"

// Handler serves the inventory's HTTP API.
type Handler struct {
	App *app.Service
	Hub *live.Hub
	// Heartbeat is the interval of the streams' keep-alive comments (SSE_HEARTBEAT);
	// MaxStream ends a stream after this long (SSE_MAX_DURATION, 0: never).
	Heartbeat, MaxStream time.Duration
	// layouts caches each event's pre-encoded seat JSON, maps its rendered seat maps (see
	// layout.go).
	layouts layoutCache
	maps    mapCache
}

// Register mounts every route on e.
func (h *Handler) Register(e *echo.Echo) {
	api := e.Group("/api/v1")
	api.POST("/seats/hold", h.hold, assertion.RequireUser)
	api.DELETE("/seats/hold/:hold_id", h.release, assertion.RequireUser)
	api.GET("/seats/hold/:hold_id/validate", h.validate, assertion.RequireUser)
	api.POST("/seats/hold/:hold_id/extend", h.extend, assertion.RequireUser)
	api.GET("/users/holds", h.listHolds, assertion.RequireUser)
	api.GET("/events/:id/availability", h.availability, compress)
	api.GET("/events/:id/availability/stream", h.stream)
	api.GET("/events/:id/venue/layout", h.layout, assertion.RequireUser) // gzips by itself

	// Internal API for booking and the waitlist. The gateway never routes /internal, and a
	// caller must still present a signed assertion (any identity: services sign as
	// themselves or on a user's behalf); the user acted for travels in the body.
	in := e.Group(inventoryapi.PathPrefix, requireAssertion)
	in.POST("/holds", h.internalHold)
	in.POST("/holds/:hold_id/commit", h.commit)
	in.POST("/holds/:hold_id/release", h.releaseHoldInternal)
	in.POST("/bookings/:booking_id/release", h.releaseBooking)
	in.GET("/events/:id/availability", h.availability, compress)
	in.GET("/events/:id/seats/available", h.availableSeats, compress)
}

// compress gzips large answers for clients that ask for it: a 20,000-seat map is 3.5 MB
// of JSON and about a tenth of that compressed. The fastest level keeps the CPU cost per
// answer small; answers under one packet are sent as they are.
var compress = middleware.GzipWithConfig(middleware.GzipConfig{Level: gzip.BestSpeed, MinLength: 1400})

// requireAssertion admits only requests whose identity assertion verified.
func requireAssertion(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, ok := assertion.FromContext(c.Request().Context()); !ok {
			return apperr.ErrUnauthenticated.WithDetail("internal endpoints need a signed service assertion")
		}
		return next(c)
	}
}
