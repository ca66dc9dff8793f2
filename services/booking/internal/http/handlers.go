package http

import (
	"bytes"
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
	if ct := c.Request().Header.Get(echo.HeaderContentType); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		return apperr.New(apperr.KindInvalid, "unsupported_media_type", "send the body as application/json")
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
	caller, err := assertion.Caller(c)
	if err != nil {
		return err
	}
	id, err := httpserver.PathUUID(c, "id")
	if err != nil {
		return err
	}
	b, err := h.App.GetBooking(c.Request().Context(), caller, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toBookingDTO(b))
}

func (h *Handler) myBookings(c echo.Context) error {
	caller, err := assertion.Caller(c)
	if err != nil {
		return err
	}
	f, err := bookingFilter(c, false)
	if err != nil {
		return err
	}
	f.UserID = caller.UserID
	return h.listBookings(c, f)
}

func (h *Handler) adminBookings(c echo.Context) error {
	f, err := bookingFilter(c, true)
	if err != nil {
		return err
	}
	return h.listBookings(c, f)
}

func (h *Handler) listBookings(c echo.Context, f domain.BookingFilter) error {
	items, total, err := h.App.ListBookings(c.Request().Context(), f)
	if err != nil {
		return err
	}
	out := make([]bookingDTO, len(items))
	for i, b := range items {
		out[i] = toBookingDTO(b)
	}
	return c.JSON(http.StatusOK, httpserver.NewList(out, f.Limit, f.Offset, total))
}

// bookingFilter reads limit, offset, status and (for admins) event_id and user_id.
func bookingFilter(c echo.Context, admin bool) (domain.BookingFilter, error) {
	var f domain.BookingFilter
	var err error
	if f.Limit, f.Offset, err = httpserver.ParsePage(c, 20); err != nil {
		return f, err
	}
	var bad apperr.Fields
	if s := c.QueryParam("status"); s != "" {
		st, ok := domain.ParseStatus(strings.ToUpper(s))
		if !ok {
			bad.Add("status", "must be one of PENDING, CONFIRMED, FAILED, CANCELLED")
		}
		f.Status = st
	}
	if admin {
		f.EventID = queryUUID(c, "event_id", &bad)
		if s := c.QueryParam("user_id"); s != "" {
			if len(s) > 64 {
				bad.Add("user_id", "must be at most 64 characters")
			}
			f.UserID = s
		}
	}
	return f, bad.BadRequest()
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
	if ct := c.Request().Header.Get(echo.HeaderContentType); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		return "", apperr.New(apperr.KindInvalid, "unsupported_media_type", "send the body as application/json")
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

func (h *Handler) getCancellation(c echo.Context) error {
	caller, err := assertion.Caller(c)
	if err != nil {
		return err
	}
	id, err := httpserver.PathUUID(c, "id")
	if err != nil {
		return err
	}
	cn, err := h.App.GetCancellation(c.Request().Context(), caller, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toCancellationDTO(cn))
}

func (h *Handler) myCancellations(c echo.Context) error {
	caller, err := assertion.Caller(c)
	if err != nil {
		return err
	}
	f, err := cancellationFilter(c, false)
	if err != nil {
		return err
	}
	f.UserID = caller.UserID
	return h.listCancellations(c, f)
}

func (h *Handler) adminCancellations(c echo.Context) error {
	f, err := cancellationFilter(c, true)
	if err != nil {
		return err
	}
	return h.listCancellations(c, f)
}

func (h *Handler) listCancellations(c echo.Context, f domain.CancellationFilter) error {
	items, total, err := h.App.ListCancellations(c.Request().Context(), f)
	if err != nil {
		return err
	}
	out := make([]cancellationDTO, len(items))
	for i, cn := range items {
		out[i] = toCancellationDTO(cn)
	}
	return c.JSON(http.StatusOK, httpserver.NewList(out, f.Limit, f.Offset, total))
}

func cancellationFilter(c echo.Context, admin bool) (domain.CancellationFilter, error) {
	var f domain.CancellationFilter
	var err error
	if f.Limit, f.Offset, err = httpserver.ParsePage(c, 20); err != nil {
		return f, err
	}
	var bad apperr.Fields
	if s := c.QueryParam("status"); s != "" {
		st, ok := domain.ParseCancellationStatus(strings.ToUpper(s))
		if !ok {
			bad.Add("status", "must be one of PENDING, PROCESSED, REJECTED")
		}
		f.Status = st
	}
	if admin {
		f.EventID = queryUUID(c, "event_id", &bad)
		if s := c.QueryParam("user_id"); s != "" {
			f.UserID = s
		}
	}
	return f, bad.BadRequest()
}
