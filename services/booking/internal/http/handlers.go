package http

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"evently.dev/libs/apperr"
	"evently.dev/libs/assertion"
	"evently.dev/libs/httpserver"

	"evently.dev/services/booking/internal/domain"
)

// HeaderIdempotencyKey is the optional header that makes a confirm safe to repeat.
const HeaderIdempotencyKey = "Idempotency-Key"

// DecodeConfirm reads and validates a confirm request body plus its Idempotency-Key.
func DecodeConfirm(body io.Reader, idemKey string) (domain.ConfirmRequest, error) {
	var in confirmBody
	if err := httpserver.DecodeJSON(body, &in); err != nil {
		return domain.ConfirmRequest{}, err
	}
	return domain.ParseConfirm(domain.ConfirmInput{HoldID: in.HoldID, EventID: in.EventID,
		PaymentMethod: in.PaymentMethod, IdempotencyKey: idemKey})
}

func (h *Handler) confirm(c echo.Context) error {
	caller, err := assertion.Caller(c)
	if err != nil {
		return err
	}
	if err := httpserver.RequireJSON(c); err != nil {
		return err
	}
	req, err := DecodeConfirm(c.Request().Body, c.Request().Header.Get(HeaderIdempotencyKey))
	if err != nil {
		return err
	}
	b, created, err := h.App.ConfirmBooking(c.Request().Context(), caller.UserID, req)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		c.Response().Header().Set(echo.HeaderLocation, "/api/v1/bookings/"+b.ID.String())
	}
	return c.JSON(status, toBookingDTO(b))
}

func (h *Handler) getBooking(c echo.Context) error {
	return getOne(c, h.App.GetBooking, toBookingDTO)
}

func (h *Handler) myBookings(c echo.Context) error    { return h.listBookings(c, false) }
func (h *Handler) adminBookings(c echo.Context) error { return h.listBookings(c, true) }

func (h *Handler) listBookings(c echo.Context, admin bool) error {
	f, err := listFilter(c, admin, domain.ParseStatus, "PENDING, CONFIRMED, FAILED, CANCELLED")
	if err != nil {
		return err
	}
	items, total, err := h.App.ListBookings(c.Request().Context(), f)
	return writeList(c, f, items, total, err, toBookingDTO)
}

func (h *Handler) getCancellation(c echo.Context) error {
	return getOne(c, h.App.GetCancellation, toCancellationDTO)
}

func (h *Handler) myCancellations(c echo.Context) error    { return h.listCancellations(c, false) }
func (h *Handler) adminCancellations(c echo.Context) error { return h.listCancellations(c, true) }

func (h *Handler) listCancellations(c echo.Context, admin bool) error {
	f, err := listFilter(c, admin, domain.ParseCancellationStatus, "PENDING, PROCESSED, REJECTED")
	if err != nil {
		return err
	}
	items, total, err := h.App.ListCancellations(c.Request().Context(), f)
	return writeList(c, f, items, total, err, toCancellationDTO)
}

// getOne serves GET .../:id for bookings and cancellations: the use case decides who may
// see the record.
func getOne[T, D any](c echo.Context, get func(context.Context, assertion.Identity, uuid.UUID) (T, error), dto func(T) D) error {
	caller, err := assertion.Caller(c)
	if err != nil {
		return err
	}
	id, err := httpserver.PathUUID(c, "id")
	if err != nil {
		return err
	}
	v, err := get(c.Request().Context(), caller, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, dto(v))
}

// listFilter reads limit, offset and status; an admin may filter by event_id and user_id,
// anyone else sees only their own records.
func listFilter[S ~string](c echo.Context, admin bool, parse func(string) (S, bool), statuses string) (domain.ListFilter[S], error) {
	var f domain.ListFilter[S]
	var err error
	if f.Limit, f.Offset, err = httpserver.ParsePage(c, 20); err != nil {
		return f, err
	}
	var bad apperr.Fields
	if s := c.QueryParam("status"); s != "" {
		st, ok := parse(strings.ToUpper(s))
		if !ok {
			bad.Add("status", "must be one of %s", statuses)
		}
		f.Status = st
	}
	if !admin {
		caller, err := assertion.Caller(c)
		if err != nil {
			return f, err
		}
		f.UserID = caller.UserID
		return f, bad.BadRequest()
	}
	f.EventID = queryUUID(c, "event_id", &bad)
	if s := c.QueryParam("user_id"); s != "" {
		if len(s) > 64 {
			bad.Add("user_id", "must be at most 64 characters")
		}
		f.UserID = s
	}
	return f, bad.BadRequest()
}

// writeList answers one page of a list as {"items": [...], "page": {...}}.
func writeList[S ~string, T, D any](c echo.Context, f domain.ListFilter[S], items []T, total int, err error, dto func(T) D) error {
	if err != nil {
		return err
	}
	out := make([]D, len(items))
	for i, v := range items {
		out[i] = dto(v)
	}
	return c.JSON(http.StatusOK, httpserver.NewList(out, f.Limit, f.Offset, total))
}

func queryUUID(c echo.Context, name string, bad *apperr.Fields) uuid.UUID {
	s := c.QueryParam(name)
	if s == "" {
		return uuid.Nil
	}
	id, err := uuid.Parse(s)
	if err != nil {
		bad.Add(name, "must be a UUID")
	}
	return id
}

// readReason decodes an optional {"reason": "..."} body; an empty body is no reason.
func readReason(c echo.Context) (string, error) {
	raw, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return "", httpserver.DecodeJSON(errReader{err}, &reasonBody{})
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return "", nil
	}
	if err := httpserver.RequireJSON(c); err != nil {
		return "", err
	}
	var in reasonBody
	if err := httpserver.DecodeJSON(bytes.NewReader(raw), &in); err != nil {
		return "", err
	}
	if in.Reason == nil {
		return "", nil
	}
	return domain.ParseReason(*in.Reason)
}

// errReader hands a read error (e.g. the body limit) to the shared decoder to classify.
type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

type cancelFunc func(c echo.Context, caller assertion.Identity, id uuid.UUID, reason string) (domain.Booking, domain.Cancellation, error)

func (h *Handler) cancelLike(c echo.Context, status int, fn cancelFunc) error {
	caller, err := assertion.Caller(c)
	if err != nil {
		return err
	}
	id, err := httpserver.PathUUID(c, "id")
	if err != nil {
		return err
	}
	reason, err := readReason(c)
	if err != nil {
		return err
	}
	b, cn, err := fn(c, caller, id, reason)
	if err != nil {
		return err
	}
	return c.JSON(status, cancelDTO{Booking: toBookingDTO(b), Cancellation: toCancellationDTO(cn)})
}

func (h *Handler) cancel(c echo.Context) error {
	return h.cancelLike(c, http.StatusOK, func(c echo.Context, caller assertion.Identity, id uuid.UUID, reason string) (domain.Booking, domain.Cancellation, error) {
		return h.App.CancelBooking(c.Request().Context(), caller, id, reason)
	})
}

func (h *Handler) requestCancel(c echo.Context) error {
	return h.cancelLike(c, http.StatusCreated, func(c echo.Context, caller assertion.Identity, id uuid.UUID, reason string) (domain.Booking, domain.Cancellation, error) {
		return h.App.RequestCancellation(c.Request().Context(), caller, id, reason)
	})
}

func (h *Handler) approve(c echo.Context) error {
	return h.cancelLike(c, http.StatusOK, func(c echo.Context, caller assertion.Identity, id uuid.UUID, note string) (domain.Booking, domain.Cancellation, error) {
		return h.App.ApproveCancellation(c.Request().Context(), caller, id, note)
	})
}

func (h *Handler) reject(c echo.Context) error {
	return h.cancelLike(c, http.StatusOK, func(c echo.Context, caller assertion.Identity, id uuid.UUID, note string) (domain.Booking, domain.Cancellation, error) {
		return h.App.RejectCancellation(c.Request().Context(), caller, id, note)
	})
}
