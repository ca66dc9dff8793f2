package http

import (
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"evently.dev/libs/apperr"
	"evently.dev/libs/assertion"
	"evently.dev/libs/httpserver"

	"evently.dev/services/waitlist/internal/domain"
)

type offerDTO struct {
	HoldID      string    `json:"hold_id"`
	SeatIDs     []string  `json:"seat_ids"`
	TotalAmount int64     `json:"total_amount"`
	Currency    string    `json:"currency"`
	OfferedAt   time.Time `json:"offered_at"`
	ExpiresAt   time.Time `json:"expires_at"`
}

type entryDTO struct {
	ID        string     `json:"id"`
	EventID   string     `json:"event_id"`
	UserID    string     `json:"user_id"`
	SectionID *string    `json:"section_id"`
	Quantity  int        `json:"quantity"`
	Position  int        `json:"position"`
	Status    string     `json:"status"`
	JoinedAt  time.Time  `json:"joined_at"`
	Offer     *offerDTO  `json:"offer,omitempty"`
	BookingID *string    `json:"booking_id,omitempty"`
	EndedAt   *time.Time `json:"ended_at,omitempty"`
	EndReason string     `json:"end_reason,omitempty"`
}

func toEntryDTO(e domain.Entry) entryDTO {
	d := entryDTO{ID: e.ID.String(), EventID: e.EventID.String(), UserID: e.UserID, Quantity: e.Quantity,
		Position: e.Position, Status: string(e.Status), JoinedAt: e.JoinedAt, EndedAt: e.EndedAt, EndReason: e.EndReason}
	if e.SectionID != "" {
		sec := e.SectionID
		d.SectionID = &sec
	}
	// The offer is shown while it is open, and kept on a converted or lapsed entry as history.
	if e.Offer != nil && e.Status != domain.StatusWaiting {
		d.Offer = &offerDTO{HoldID: e.Offer.HoldID.String(), SeatIDs: e.Offer.SeatIDs, TotalAmount: e.Offer.TotalAmount,
			Currency: e.Offer.Currency, OfferedAt: e.Offer.OfferedAt, ExpiresAt: e.Offer.ExpiresAt}
		if d.Offer.SeatIDs == nil {
			d.Offer.SeatIDs = []string{}
		}
	}
	if e.BookingID != nil {
		b := e.BookingID.String()
		d.BookingID = &b
	}
	return d
}

func (h *Handler) join(c echo.Context) error {
	caller, err := assertion.Caller(c)
	if err != nil {
		return err
	}
	var req domain.JoinRequest
	if err := httpserver.BindJSON(c, &req); err != nil {
		return err
	}
	spec, err := req.Validate()
	if err != nil {
		return err
	}
	e, err := h.App.JoinWaitlist(c.Request().Context(), caller.UserID, spec)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, toEntryDTO(e))
}

func (h *Handler) leave(c echo.Context) error {
	caller, err := assertion.Caller(c)
	if err != nil {
		return err
	}
	eventID, err := httpserver.PathUUID(c, "event_id")
	if err != nil {
		return err
	}
	if err := h.App.LeaveWaitlist(c.Request().Context(), caller.UserID, eventID); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h *Handler) status(c echo.Context) error {
	caller, err := assertion.Caller(c)
	if err != nil {
		return err
	}
	eventID, err := httpserver.PathUUID(c, "event_id")
	if err != nil {
		return err
	}
	e, err := h.App.WaitlistStatus(c.Request().Context(), caller.UserID, eventID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toEntryDTO(e))
}

func (h *Handler) listEntries(c echo.Context) error {
	eventID, err := httpserver.PathUUID(c, "event_id")
	if err != nil {
		return err
	}
	limit, offset, err := httpserver.ParsePage(c, 50)
	if err != nil {
		return err
	}
	f := domain.EntryFilter{EventID: eventID, Limit: limit, Offset: offset}
	if s := c.QueryParam("status"); s != "" {
		st, ok := domain.ParseStatus(strings.ToUpper(s))
		if !ok {
			return apperr.Validation(apperr.KindInvalid, apperr.FieldError{Field: "status",
				Message: "must be one of WAITING, OFFERED, CONVERTED, EXPIRED, CANCELLED"})
		}
		f.Status = st
	}
	list, total, err := h.App.ListEntries(c.Request().Context(), f)
	if err != nil {
		return err
	}
	items := make([]entryDTO, len(list))
	for i, e := range list {
		items[i] = toEntryDTO(e)
	}
	return c.JSON(http.StatusOK, httpserver.NewList(items, limit, offset, total))
}

type statsDTO struct {
	EventID           string         `json:"event_id"`
	Total             int            `json:"total"`
	ByStatus          map[string]int `json:"by_status"`
	Waiting           int            `json:"waiting"`
	SeatsWaiting      int            `json:"seats_waiting"`
	OffersMade        int            `json:"offers_made"`
	Converted         int            `json:"converted"`
	ConversionRate    float64        `json:"conversion_rate"`
	MedianWaitSeconds *float64       `json:"median_wait_seconds"`
	OldestWaitingAt   *time.Time     `json:"oldest_waiting_at"`
}

func (h *Handler) stats(c echo.Context) error {
	eventID, err := httpserver.PathUUID(c, "event_id")
	if err != nil {
		return err
	}
	s, err := h.App.Stats(c.Request().Context(), eventID)
	if err != nil {
		return err
	}
	d := statsDTO{EventID: eventID.String(), Total: s.Total, ByStatus: map[string]int{}, Waiting: s.ByStatus[domain.StatusWaiting],
		SeatsWaiting: s.SeatsWaiting, OffersMade: s.OffersMade, Converted: s.ByStatus[domain.StatusConverted],
		ConversionRate: s.ConversionRate, OldestWaitingAt: s.OldestWaiting}
	for _, st := range domain.Statuses {
		d.ByStatus[string(st)] = s.ByStatus[st]
	}
	if s.MedianWait != nil {
		sec := s.MedianWait.Seconds()
		d.MedianWaitSeconds = &sec
	}
	return c.JSON(http.StatusOK, d)
}

type offerMadeDTO struct {
	EntryID   string    `json:"entry_id"`
	UserID    string    `json:"user_id"`
	HoldID    string    `json:"hold_id"`
	SeatIDs   []string  `json:"seat_ids"`
	ExpiresAt time.Time `json:"expires_at"`
}

type notifyDTO struct {
	EventID    string         `json:"event_id"`
	OffersMade int            `json:"offers_made"`
	Offers     []offerMadeDTO `json:"offers"`
}

func (h *Handler) notify(c echo.Context) error {
	eventID, err := httpserver.PathUUID(c, "event_id")
	if err != nil {
		return err
	}
	made, err := h.App.NotifyNow(c.Request().Context(), eventID)
	if err != nil {
		return err
	}
	out := notifyDTO{EventID: eventID.String(), OffersMade: len(made), Offers: make([]offerMadeDTO, len(made))}
	for i, m := range made {
		out.Offers[i] = offerMadeDTO{EntryID: m.EntryID.String(), UserID: m.UserID, HoldID: m.HoldID.String(), SeatIDs: m.SeatIDs, ExpiresAt: m.ExpiresAt}
	}
	return c.JSON(http.StatusOK, out)
}

// requeueNotifications puts FAILED e-mails back in the delivery queue; the optional
// event_id query parameter limits it to one event's.
func (h *Handler) requeueNotifications(c echo.Context) error {
	var eventID *uuid.UUID
	if raw := c.QueryParam("event_id"); raw != "" {
		id, err := uuid.Parse(raw)
		if err != nil {
			return apperr.Validation(apperr.KindInvalid, apperr.FieldError{Field: "event_id", Message: "must be a UUID"})
		}
		eventID = &id
	}
	n, err := h.App.RequeueFailedNotifications(c.Request().Context(), eventID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, requeueDTO{Requeued: n})
}

// requeueDTO answers a requeue: how many e-mails went back to the queue.
type requeueDTO struct {
	Requeued int `json:"requeued"`
}
