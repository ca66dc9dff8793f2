// Package http serves analytics' admin endpoints: routes, handlers and response shapes.
// No business rule lives here; handlers parse parameters and call app.Reports.
package http

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"evently.dev/libs/assertion"
	"evently.dev/libs/httpserver"

	"evently.dev/services/analytics/internal/app"
	"evently.dev/services/analytics/internal/domain"
)

// Handlers are the analytics endpoints.
type Handlers struct{ Reports *app.Reports }

// Routes registers every endpoint under /api/v1, ADMIN only.
func (h *Handlers) Routes(e *echo.Echo) {
	ad := e.Group("/api/v1/admin", assertion.RequireAdmin)
	ad.GET("/events/analytics", h.overview)
	ad.GET("/events/:id/analytics", h.event)
	ad.GET("/analytics/revenue", h.revenue)
	ad.GET("/analytics/popular-events", h.popular)
	ad.GET("/analytics/live", h.live)
}

func (h *Handlers) overview(c echo.Context) error {
	o, loc, err := h.Reports.Overview(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, overviewOf(o, loc.String()))
}

func (h *Handlers) event(c echo.Context) error {
	id, err := httpserver.PathUUID(c, "id")
	if err != nil {
		return err
	}
	r, loc, err := h.Reports.Event(c.Request().Context(), id.String())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, eventReportOf(r, loc.String()))
}

func (h *Handlers) revenue(c echo.Context) error {
	limit, offset, err := httpserver.ParsePage(c, httpserver.MaxLimit)
	if err != nil {
		return err
	}
	p := app.RevenueParams{From: c.QueryParam("from"), To: c.QueryParam("to"), GroupBy: c.QueryParam("group_by"),
		Currency: c.QueryParam("currency"), Limit: limit, Offset: offset}
	rep, q, loc, err := h.Reports.Revenue(c.Request().Context(), p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, revenueOf(rep, q, loc.String(), limit, offset))
}

func (h *Handlers) popular(c echo.Context) error {
	limit, _, err := httpserver.ParsePage(c, 10)
	if err != nil {
		return err
	}
	by, err := domain.ParsePopularBy(c.QueryParam("by"))
	if err != nil {
		return err
	}
	currency, err := domain.ParseCurrency(c.QueryParam("currency"))
	if err != nil {
		return err
	}
	list, err := h.Reports.Popular(c.Request().Context(), by, currency, limit)
	if err != nil {
		return err
	}
	out := popularDTO{By: string(by), Currency: currency, Limit: limit, Items: []popularItemDTO{}}
	for i, p := range list {
		out.Items = append(out.Items, popularItemDTO{Rank: i + 1, eventDTO: eventOf(p.Event, p.Sales), FillRate: p.FillRate()})
	}
	return c.JSON(http.StatusOK, out)
}

func (h *Handlers) live(c echo.Context) error {
	l, err := h.Reports.Live(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, liveOf(l))
}
