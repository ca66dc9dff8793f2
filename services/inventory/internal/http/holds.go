package http

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"evently.dev/libs/apperr"
	"evently.dev/libs/assertion"
	"evently.dev/libs/contracts/inventoryapi"
	"evently.dev/libs/httpserver"

	"evently.dev/services/inventory/internal/domain"
)

// holdDTO is a hold as clients see it, public and internal API alike: the internal API's
// contract defines it, so its callers decode what this encodes.
type holdDTO = inventoryapi.Hold

func toHoldDTO(h domain.Hold, now time.Time) holdDTO {
	return holdDTO{HoldID: h.ID, EventID: h.EventID, UserID: h.UserID, Purpose: h.Purpose,
		Seats: heldSeats(h.Seats), TotalAmount: h.TotalAmount, Currency: h.Currency, CreatedAt: h.CreatedAt,
		ExpiresAt: h.ExpiresAt, TTLSeconds: ttlSeconds(h.ExpiresAt, now)}
}

func heldSeats(seats []domain.HeldSeat) []inventoryapi.HeldSeat {
	out := make([]inventoryapi.HeldSeat, len(seats))
	for i, s := range seats {
		out[i] = inventoryapi.HeldSeat{SeatID: s.SeatID, SectionID: s.SectionID, Row: s.Row, Number: s.Number,
			Label: s.Label, Price: s.Price}
	}
	return out
}

// ttlSeconds rounds up, so a live hold never reports 0.
func ttlSeconds(exp, now time.Time) int {
	d := exp.Sub(now)
	if d <= 0 {
		return 0
	}
	return int((d + time.Second - 1) / time.Second)
}

// DecodeHoldRequest reads and validates a hold request body (outside input: fuzzed).
func DecodeHoldRequest(r io.Reader, maxSeats int) (domain.HoldSpec, error) {
	var req domain.HoldRequest
	if err := httpserver.DecodeJSON(r, &req); err != nil {
		return domain.HoldSpec{}, err
	}
	return req.Validate(maxSeats)
}

func (h *Handler) hold(c echo.Context) error {
	caller, err := assertion.Caller(c)
	if err != nil {
		return err
	}
	if err := httpserver.RequireJSON(c); err != nil {
		return err
	}
	spec, err := DecodeHoldRequest(c.Request().Body, h.App.Cfg.Hold.MaxSeats)
	if err != nil {
		return err
	}
	hold, err := h.App.HoldSeats(c.Request().Context(), caller.UserID, spec)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, toHoldDTO(hold, h.App.Now()))
}

func (h *Handler) release(c echo.Context) error {
	caller, err := assertion.Caller(c)
	if err != nil {
		return err
	}
	id, err := httpserver.PathUUID(c, "hold_id")
	if err != nil {
		return err
	}
	if err := h.App.ReleaseHold(c.Request().Context(), caller.UserID, id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

type validateDTO struct {
	HoldID     string     `json:"hold_id"`
	Valid      bool       `json:"valid"`
	ExpiresAt  *time.Time `json:"expires_at"`
	TTLSeconds int        `json:"ttl_seconds"`
}

// validate answers valid:false for any id that is not a live hold of the caller (expired,
// released, committed, unknown or someone else's) so it reveals nothing about others.
func (h *Handler) validate(c echo.Context) error {
	caller, err := assertion.Caller(c)
	if err != nil {
		return err
	}
	id, err := httpserver.PathUUID(c, "hold_id")
	if err != nil {
		return err
	}
	hold, err := h.App.FindHold(c.Request().Context(), caller.UserID, id)
	if errors.Is(err, domain.ErrHoldNotFound) {
		return c.JSON(http.StatusOK, validateDTO{HoldID: id.String()})
	}
	if err != nil {
		return err
	}
	exp := hold.ExpiresAt
	return c.JSON(http.StatusOK, validateDTO{HoldID: id.String(), Valid: true, ExpiresAt: &exp,
		TTLSeconds: ttlSeconds(exp, h.App.Now())})
}

type extendRequest struct {
	Seconds *int `json:"seconds"`
}

func (h *Handler) extend(c echo.Context) error {
	caller, err := assertion.Caller(c)
	if err != nil {
		return err
	}
	id, err := httpserver.PathUUID(c, "hold_id")
	if err != nil {
		return err
	}
	var by time.Duration
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return apperr.ErrInvalidJSON.WithDetail("the request body could not be read")
	}
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := httpserver.RequireJSON(c); err != nil {
			return err
		}
		var req extendRequest
		if err := httpserver.DecodeJSON(strings.NewReader(string(body)), &req); err != nil {
			return err
		}
		if req.Seconds != nil {
			if *req.Seconds < 1 {
				return apperr.Validation(apperr.KindUnprocessable, apperr.FieldError{Field: "seconds", Message: "must be at least 1"})
			}
			by = time.Duration(*req.Seconds) * time.Second
		}
	}
	hold, err := h.App.ExtendHold(c.Request().Context(), caller.UserID, id, by)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toHoldDTO(hold, h.App.Now()))
}

func (h *Handler) listHolds(c echo.Context) error {
	caller, err := assertion.Caller(c)
	if err != nil {
		return err
	}
	list, err := h.App.ListHolds(c.Request().Context(), caller.UserID)
	if err != nil {
		return err
	}
	now := h.App.Now()
	items := make([]holdDTO, 0, len(list))
	for _, hd := range list {
		if hd.ExpiresAt.After(now) {
			items = append(items, toHoldDTO(hd, now))
		}
	}
	return c.JSON(http.StatusOK, httpserver.NewList(items, len(items), 0, len(items)))
}

// internalHoldRequest is the waitlist's "hold these seats for this user" call.
type internalHoldRequest = inventoryapi.PlaceHoldRequest

func (h *Handler) internalHold(c echo.Context) error {
	var req internalHoldRequest
	if err := httpserver.BindJSON(c, &req); err != nil {
		return err
	}
	cfg := h.App.Cfg.Hold
	var bad, rules apperr.Fields
	eventID, err := uuid.Parse(req.EventID)
	if err != nil {
		bad.Add("event_id", "must be a UUID")
	}
	if strings.TrimSpace(req.UserID) == "" || len(req.UserID) > 64 {
		rules.Add("user_id", "is required (at most 64 characters)")
	}
	spec, verr := domain.HoldRequest{EventID: req.EventID, SeatIDs: append([]string{}, req.SeatIDs...)}.Validate(cfg.MaxSeats)
	if ae, ok := apperr.As(verr); ok && verr != nil {
		for _, f := range ae.Fields {
			if f.Field != "event_id" {
				rules = append(rules, f)
			}
		}
	}
	ttl := cfg.TTL
	if req.TTLSeconds != 0 {
		ttl = time.Duration(req.TTLSeconds) * time.Second
		if req.TTLSeconds < 1 || ttl > cfg.OfferMaxTTL {
			rules.Add("ttl_seconds", "must be between 1 and %d", int(cfg.OfferMaxTTL/time.Second))
		}
	}
	purpose := req.Purpose
	if purpose == "" {
		purpose = domain.PurposeWaitlistOffer
	}
	if purpose != domain.PurposeWaitlistOffer && purpose != domain.PurposeUser {
		rules.Add("purpose", "must be WAITLIST_OFFER or USER")
	}
	if err := bad.BadRequest(); err != nil {
		return err
	}
	if err := rules.Err(); err != nil {
		return err
	}
	hold, err := h.App.HoldForUser(c.Request().Context(), eventID, req.UserID, spec.SeatIDs, ttl, purpose)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, toHoldDTO(hold, h.App.Now()))
}

type (
	commitRequest = inventoryapi.CommitRequest
	commitDTO     = inventoryapi.Commit
)

func (h *Handler) commit(c echo.Context) error {
	holdID, err := httpserver.PathUUID(c, "hold_id")
	if err != nil {
		return err
	}
	var req commitRequest
	if err := httpserver.BindJSON(c, &req); err != nil {
		return err
	}
	var bad apperr.Fields
	bookingID, err := uuid.Parse(req.BookingID)
	if err != nil {
		bad.Add("booking_id", "must be a UUID")
	}
	if strings.TrimSpace(req.UserID) == "" || len(req.UserID) > 64 {
		bad.Add("user_id", "is required (at most 64 characters)")
	}
	var eventID uuid.UUID
	if req.EventID != "" {
		if eventID, err = uuid.Parse(req.EventID); err != nil {
			bad.Add("event_id", "must be a UUID")
		}
	}
	if err := bad.BadRequest(); err != nil {
		return err
	}
	cm, replayed, err := h.App.CommitHold(c.Request().Context(), holdID, bookingID, req.UserID, eventID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, commitDTO{HoldID: cm.HoldID, BookingID: cm.BookingID,
		EventID: cm.EventID, UserID: cm.UserID, Seats: heldSeats(cm.Seats), TotalAmount: cm.TotalAmount,
		Currency: cm.Currency, CommittedAt: cm.CommittedAt, Replayed: replayed})
}

type releaseDTO = inventoryapi.BookingRelease

func (h *Handler) releaseBooking(c echo.Context) error {
	id, err := httpserver.PathUUID(c, "booking_id")
	if err != nil {
		return err
	}
	res, changed, err := h.App.ReleaseBooking(c.Request().Context(), id)
	if err != nil {
		return err
	}
	out := releaseDTO{BookingID: id, SeatIDs: res.SeatIDs, Released: changed}
	if out.SeatIDs == nil {
		out.SeatIDs = []string{}
	}
	if changed {
		out.EventID = res.EventID
	}
	return c.JSON(http.StatusOK, out)
}

// releaseHoldInternal gives up a live hold on its owner's behalf (the waitlist, when the
// owner of an offer leaves): the owner travels in the body, as on every internal route.
func (h *Handler) releaseHoldInternal(c echo.Context) error {
	id, err := httpserver.PathUUID(c, "hold_id")
	if err != nil {
		return err
	}
	var req inventoryapi.ReleaseHoldRequest
	if err := httpserver.BindJSON(c, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.UserID) == "" || len(req.UserID) > 64 {
		return apperr.Validation(apperr.KindInvalid, apperr.FieldError{Field: "user_id", Message: "is required (at most 64 characters)"})
	}
	if err := h.App.ReleaseHold(c.Request().Context(), req.UserID, id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
