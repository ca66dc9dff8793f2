// Package http is the catalog's Echo adapter: routes, request/response shapes and the
// mapping of query strings to filters. Business rules live in app and domain.
package http

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"evently.dev/libs/apperr"
	"evently.dev/libs/assertion"
	"evently.dev/libs/httpserver"

	"evently.dev/services/catalog/internal/app"
	"evently.dev/services/catalog/internal/domain"
)

// Handlers serves the catalog's public paths.
type Handlers struct {
	app *app.Catalog
}

// Register mounts every catalog route on e under /api/v1.
func Register(e *echo.Echo, a *app.Catalog) {
	h := &Handlers{app: a}
	v1 := e.Group("/api/v1")
	v1.GET("/events", h.listPublicEvents)
	v1.GET("/events/upcoming", h.upcoming)
	v1.GET("/events/:id", h.getEvent)
	v1.GET("/events/:id/sections", h.eventSections, assertion.RequireUser)
	v1.GET("/events/:id/cancellation-policy", h.publicPolicy)
	v1.GET("/tags/active", h.activeTags)

	ad := v1.Group("/admin", assertion.RequireAdmin)
	ad.POST("/events", h.createEvent)
	ad.GET("/events", h.listAdminEvents)
	ad.GET("/events/:id", h.getAdminEvent)
	ad.PUT("/events/:id", h.updateEvent)
	ad.PATCH("/events/:id", h.updateEvent)
	ad.DELETE("/events/:id", h.deleteEvent)
	ad.POST("/events/:id/publish", h.publishEvent)
	ad.POST("/events/:id/cancel", h.cancelEvent)
	ad.POST("/events/:id/cancellation-policy", h.createPolicy)
	ad.GET("/events/:id/cancellation-policy", h.adminPolicy)
	ad.PUT("/events/:id/cancellation-policy", h.updatePolicy)

	ad.POST("/venue-templates", h.createTemplate)
	ad.GET("/venue-templates", h.listTemplates)
	ad.GET("/venue-templates/:id", h.getTemplate)
	ad.PUT("/venue-templates/:id", h.updateTemplate)
	ad.DELETE("/venue-templates/:id", h.deleteTemplate)
	ad.POST("/venue-templates/:id/sections", h.addSection)
	ad.GET("/venue-templates/:id/sections", h.listSections)
	ad.GET("/venue-templates/:id/seats", h.listSeats)

	ad.GET("/tags", h.listTags)
	ad.POST("/tags", h.createTag)
	ad.GET("/tags/:id", h.getTag)
	ad.PUT("/tags/:id", h.updateTag)
	ad.DELETE("/tags/:id", h.deleteTag)
}

// ---- events ----

func (h *Handlers) listPublicEvents(c echo.Context) error { return h.listEvents(c, false) }
func (h *Handlers) listAdminEvents(c echo.Context) error  { return h.listEvents(c, true) }

func (h *Handlers) listEvents(c echo.Context, adminPath bool) error {
	limit, offset, err := httpserver.ParsePage(c, 20)
	if err != nil {
		return err
	}
	admin := adminPath || isAdmin(c)
	f, err := domain.ParseFilter(c.QueryParam, admin)
	if err != nil {
		return err
	}
	if !adminPath && len(f.Statuses) == 0 {
		// An admin on the public path without a status filter sees what the public sees.
		f.Statuses = []string{domain.StatusPublished}
	}
	f.Limit, f.Offset = limit, offset
	page, err := h.app.ListEvents(c.Request().Context(), f, !admin)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, eventList(page, limit, offset))
}

func eventList(page app.EventPage, limit, offset int) httpserver.List[eventResponse] {
	return httpserver.NewList(mapAll(page.Items, newEventResponse), limit, offset, page.Total)
}

func (h *Handlers) upcoming(c echo.Context) error {
	limit, _, err := httpserver.ParsePage(c, 10)
	if err != nil {
		return err
	}
	page, err := h.app.Upcoming(c.Request().Context(), limit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, eventList(page, limit, 0))
}

func (h *Handlers) getEvent(c echo.Context) error {
	return renderByID(c, h.app.GetEvent, newEventResponse)
}

func (h *Handlers) eventSections(c echo.Context) error {
	id, err := httpserver.PathUUID(c, "id")
	if err != nil {
		return err
	}
	e, err := h.app.GetEvent(c.Request().Context(), id)
	if err != nil {
		return err
	}
	secs := newEventSections(e)
	return c.JSON(http.StatusOK, map[string]any{"event_id": e.ID.String(), "currency": e.Currency,
		"total_capacity": e.TotalCapacity(), "available_tickets": e.Available(), "items": secs, "sections": secs})
}

func (h *Handlers) getAdminEvent(c echo.Context) error {
	return renderByID(c, h.app.GetAdminEvent, newEventResponse)
}

func (h *Handlers) createEvent(c echo.Context) error {
	var req eventRequest
	if err := httpserver.BindJSON(c, &req); err != nil {
		return err
	}
	e, err := h.app.CreateEvent(c.Request().Context(), req.toInput())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, newEventResponse(e))
}

func (h *Handlers) updateEvent(c echo.Context) error {
	id, req, err := idAndBody[eventRequest](c)
	if err != nil {
		return err
	}
	e, err := h.app.UpdateEvent(c.Request().Context(), id, req.toInput())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newEventResponse(e))
}

func (h *Handlers) deleteEvent(c echo.Context) error {
	id, err := httpserver.PathUUID(c, "id")
	if err != nil {
		return err
	}
	e, deleted, err := h.app.DeleteEvent(c.Request().Context(), id)
	if err != nil {
		return err
	}
	if deleted {
		return c.NoContent(http.StatusNoContent)
	}
	return c.JSON(http.StatusOK, newEventResponse(e))
}

func (h *Handlers) publishEvent(c echo.Context) error {
	return renderByID(c, h.app.PublishEvent, newEventResponse)
}

func (h *Handlers) cancelEvent(c echo.Context) error {
	id, err := httpserver.PathUUID(c, "id")
	if err != nil {
		return err
	}
	var req cancelRequest
	if c.Request().ContentLength != 0 {
		if err := httpserver.BindJSON(c, &req); err != nil {
			return err
		}
	}
	if len(req.Reason) > 500 {
		return apperr.Fields{{Field: "reason", Message: "must be at most 500 characters"}}.Err()
	}
	e, err := h.app.CancelEvent(c.Request().Context(), id, strings.TrimSpace(req.Reason))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newEventResponse(e))
}

// ---- cancellation policies ----

func (h *Handlers) createPolicy(c echo.Context) error { return h.setPolicy(c, true) }
func (h *Handlers) updatePolicy(c echo.Context) error { return h.setPolicy(c, false) }

func (h *Handlers) setPolicy(c echo.Context, create bool) error {
	id, req, err := idAndBody[policyRequest](c)
	if err != nil {
		return err
	}
	p, err := h.app.SetPolicy(c.Request().Context(), id, req.toInput(), create)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if create {
		status = http.StatusCreated
	}
	return c.JSON(status, newPolicyResponse(p))
}

func (h *Handlers) publicPolicy(c echo.Context) error { return h.getPolicy(c, true) }
func (h *Handlers) adminPolicy(c echo.Context) error  { return h.getPolicy(c, false) }

func (h *Handlers) getPolicy(c echo.Context, public bool) error {
	return renderByID(c, func(ctx context.Context, id uuid.UUID) (domain.Policy, error) {
		return h.app.GetPolicy(ctx, id, public)
	}, newPolicyResponse)
}

// ---- venue templates ----

func templateInput(req templateRequest) (domain.TemplateInput, error) {
	in := domain.TemplateInput{Name: req.Name, Description: req.Description, Address: req.Address, LayoutType: req.LayoutType}
	if req.Sections != nil {
		in.HasSections = true
		var f apperr.Fields
		for i, s := range *req.Sections {
			si, ok := s.toInput()
			if !ok {
				f.Add(fmt.Sprintf("sections[%d].id", i), "must be a UUID")
			}
			in.Sections = append(in.Sections, si)
		}
		if err := f.Err(); err != nil {
			return in, err
		}
	}
	return in, nil
}

func (h *Handlers) createTemplate(c echo.Context) error {
	var req templateRequest
	if err := httpserver.BindJSON(c, &req); err != nil {
		return err
	}
	in, err := templateInput(req)
	if err != nil {
		return err
	}
	t, err := h.app.CreateTemplate(c.Request().Context(), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, newTemplateResponse(t))
}

func (h *Handlers) listTemplates(c echo.Context) error {
	limit, offset, err := httpserver.ParsePage(c, 20)
	if err != nil {
		return err
	}
	q := c.QueryParam("q")
	if len(q) > 200 || !domain.ValidSearchText(q) {
		return apperr.Validation(apperr.KindInvalid, apperr.FieldError{Field: "q",
			Message: "must be at most 200 characters of UTF-8 text without control characters"})
	}
	ts, total, err := h.app.ListTemplates(c.Request().Context(), q, limit, offset)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, httpserver.NewList(mapAll(ts, newTemplateResponse), limit, offset, total))
}

func (h *Handlers) getTemplate(c echo.Context) error {
	return renderByID(c, h.app.GetTemplate, newTemplateResponse)
}

func (h *Handlers) updateTemplate(c echo.Context) error {
	id, req, err := idAndBody[templateRequest](c)
	if err != nil {
		return err
	}
	in, err := templateInput(req)
	if err != nil {
		return err
	}
	t, err := h.app.UpdateTemplate(c.Request().Context(), id, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newTemplateResponse(t))
}

func (h *Handlers) deleteTemplate(c echo.Context) error {
	id, err := httpserver.PathUUID(c, "id")
	if err != nil {
		return err
	}
	if err := h.app.DeleteTemplate(c.Request().Context(), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h *Handlers) addSection(c echo.Context) error {
	id, req, err := idAndBody[sectionRequest](c)
	if err != nil {
		return err
	}
	in, _ := req.toInput()
	_, s, err := h.app.AddSection(c.Request().Context(), id, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, newSectionResponse(s))
}

func (h *Handlers) listSections(c echo.Context) error {
	id, err := httpserver.PathUUID(c, "id")
	if err != nil {
		return err
	}
	t, err := h.app.GetTemplate(c.Request().Context(), id)
	if err != nil {
		return err
	}
	items := mapAll(t.Sections, newSectionResponse)
	return c.JSON(http.StatusOK, httpserver.NewList(items, len(items), 0, len(items)))
}

// listSeats pages through the seats derived from a template, with ids, labels and
// drawing coordinates, so an organiser can check the seat map before publishing.
func (h *Handlers) listSeats(c echo.Context) error {
	id, err := httpserver.PathUUID(c, "id")
	if err != nil {
		return err
	}
	limit, offset, err := httpserver.ParsePage(c, 100)
	if err != nil {
		return err
	}
	t, err := h.app.GetTemplate(c.Request().Context(), id)
	if err != nil {
		return err
	}
	seats, err := domain.Seats(mapAll(t.Sections, domain.Section.Shape))
	if err != nil {
		return err
	}
	total := len(seats)
	// offset+limit could overflow int for an offset near its maximum: bound by what is left.
	lo := min(offset, total)
	hi := lo + min(limit, total-lo)
	return c.JSON(http.StatusOK, httpserver.NewList(seats[lo:hi], limit, offset, total))
}

// ---- tags ----

func (h *Handlers) activeTags(c echo.Context) error {
	limit, offset, err := httpserver.ParsePage(c, 100)
	if err != nil {
		return err
	}
	ts, total, err := h.app.ActiveTags(c.Request().Context(), limit, offset)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, tagList(ts, limit, offset, total))
}

func tagList(ts []domain.Tag, limit, offset, total int) httpserver.List[tagResponse] {
	return httpserver.NewList(mapAll(ts, newTagResponse), limit, offset, total)
}

func (h *Handlers) listTags(c echo.Context) error {
	limit, offset, err := httpserver.ParsePage(c, 100)
	if err != nil {
		return err
	}
	ts, total, err := h.app.ListTags(c.Request().Context(), limit, offset)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, tagList(ts, limit, offset, total))
}

func (h *Handlers) getTag(c echo.Context) error {
	return renderByID(c, h.app.GetTag, newTagResponse)
}

func (h *Handlers) createTag(c echo.Context) error {
	var req tagRequest
	if err := httpserver.BindJSON(c, &req); err != nil {
		return err
	}
	t, err := h.app.CreateTag(c.Request().Context(), domain.TagInput{Slug: req.Slug, Name: req.Name})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, newTagResponse(t))
}

func (h *Handlers) updateTag(c echo.Context) error {
	id, req, err := idAndBody[tagRequest](c)
	if err != nil {
		return err
	}
	t, err := h.app.UpdateTag(c.Request().Context(), id, domain.TagInput{Slug: req.Slug, Name: req.Name})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newTagResponse(t))
}

func (h *Handlers) deleteTag(c echo.Context) error {
	id, err := httpserver.PathUUID(c, "id")
	if err != nil {
		return err
	}
	if err := h.app.DeleteTag(c.Request().Context(), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func isAdmin(c echo.Context) bool {
	id, ok := assertion.FromContext(c.Request().Context())
	return ok && id.IsAdmin()
}

// renderByID is the shape of the read-style routes: the path id, one use case, 200 with
// its rendering.
func renderByID[T, R any](c echo.Context, run func(context.Context, uuid.UUID) (T, error), render func(T) R) error {
	id, err := httpserver.PathUUID(c, "id")
	if err != nil {
		return err
	}
	v, err := run(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, render(v))
}

// idAndBody reads the path id and the strict JSON body of a write to one resource.
func idAndBody[Req any](c echo.Context) (uuid.UUID, Req, error) {
	var req Req
	id, err := httpserver.PathUUID(c, "id")
	if err != nil {
		return id, req, err
	}
	return id, req, httpserver.BindJSON(c, &req)
}

// mapAll renders each item of a list.
func mapAll[T, R any](in []T, f func(T) R) []R {
	out := make([]R, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}
