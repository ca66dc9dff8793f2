// Package http is the waitlist's Echo adapter: routes, request decoding and response
// DTOs. Business rules live in app.
package http

import (
	"github.com/labstack/echo/v4"

	"evently.dev/libs/assertion"

	"evently.dev/services/waitlist/internal/app"
)

// Handler serves the waitlist's HTTP API.
type Handler struct {
	App *app.Service
}

// Register mounts every route on e (full public paths: the gateway forwards them unchanged).
func (h *Handler) Register(e *echo.Echo) {
	api := e.Group("/api/v1")
	api.POST("/waitlist", h.join, assertion.RequireUser)
	api.DELETE("/waitlist/:event_id", h.leave, assertion.RequireUser)
	api.GET("/waitlist/status/:event_id", h.status, assertion.RequireUser)

	admin := api.Group("/admin/waitlist", assertion.RequireAdmin)
	admin.GET("/entries/:event_id", h.listEntries)
	admin.GET("/stats/:event_id", h.stats)
	admin.POST("/notify/:event_id", h.notify)
	admin.POST("/notifications/requeue", h.requeueNotifications)
}
