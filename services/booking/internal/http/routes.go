// Package http is the booking service's Echo adapter: routes, request decoding and
// response DTOs. Business rules live in app.
package http

import (
	"github.com/labstack/echo/v4"

	"evently.dev/libs/assertion"

	"evently.dev/services/booking/internal/app"
)

// Handler serves the booking API.
type Handler struct {
	App *app.Service
}

// Register mounts every route on e. The gateway forwards full /api/v1 paths unchanged.
func (h *Handler) Register(e *echo.Echo) {
	api := e.Group("/api/v1")
	api.POST("/bookings/confirm", h.confirm, assertion.RequireUser)
	api.GET("/bookings/:id", h.getBooking, assertion.RequireUser)
	api.POST("/bookings/:id/cancel", h.cancel, assertion.RequireUser)
	api.POST("/bookings/:id/request-cancel", h.requestCancel, assertion.RequireUser)
	api.GET("/users/bookings", h.myBookings, assertion.RequireUser)
	api.GET("/cancellations/:id", h.getCancellation, assertion.RequireUser)
	api.GET("/users/cancellations", h.myCancellations, assertion.RequireUser)

	admin := api.Group("/admin", assertion.RequireAdmin)
	admin.GET("/bookings", h.adminBookings)
	admin.GET("/cancellations", h.adminCancellations)
	admin.POST("/cancellations/:id/approve", h.approve)
	admin.POST("/cancellations/:id/reject", h.reject)
}
