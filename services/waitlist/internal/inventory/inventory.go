// Package inventory is the waitlist's client of inventory: seat availability, the seat
// map, and holds placed for a user as a waitlist offer. Every call carries a signed
// identity assertion, as inventory accepts only those.
package inventory

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	"evently.dev/libs/assertion"
	"evently.dev/libs/logging"

	"evently.dev/services/waitlist/internal/domain"
)

// ServiceIdentity is who the waitlist signs as when it acts for no particular user.
var ServiceIdentity = assertion.Identity{UserID: "service:waitlist", Role: "SERVICE"}

// Client calls inventory over HTTP.
type Client struct {
	base   string
	secret string
	http   *http.Client
}

// New returns a client of the inventory at baseURL, signing with secret.
func New(baseURL, secret string, timeout time.Duration) *Client {
	return &Client{base: strings.TrimRight(baseURL, "/"), secret: secret,
		http: &http.Client{Timeout: timeout, Transport: otelhttp.NewTransport(http.DefaultTransport)}}
}

// Availability asks inventory's public per-section counts.
func (c *Client) Availability(ctx context.Context, eventID uuid.UUID) (domain.Availability, error) {
	var body struct {
		Status    string `json:"status"`
		OnSale    bool   `json:"on_sale"`
		Available int    `json:"available"`
		Sections  []struct {
			SectionID string `json:"section_id"`
			Available int    `json:"available"`
		} `json:"sections"`
	}
	if err := c.do(ctx, http.MethodGet, "/api/v1/events/"+eventID.String()+"/availability", ServiceIdentity, nil, &body); err != nil {
		return domain.Availability{}, err
	}
	a := domain.Availability{Status: body.Status, OnSale: body.OnSale, Available: body.Available, Sections: map[string]int{}}
	for _, s := range body.Sections {
		a.Sections[s.SectionID] = s.Available
	}
	return a, nil
}

// AvailableSeats returns the event's AVAILABLE seats in seat-map order.
func (c *Client) AvailableSeats(ctx context.Context, eventID uuid.UUID) ([]domain.Seat, error) {
	var body struct {
		Seats []struct {
			SeatID    string `json:"seat_id"`
			SectionID string `json:"section_id"`
			Row       string `json:"row"`
			Number    int    `json:"number"`
			Status    string `json:"status"`
			Price     int64  `json:"price"`
		} `json:"seats"`
	}
	if err := c.do(ctx, http.MethodGet, "/api/v1/events/"+eventID.String()+"/venue/layout", ServiceIdentity, nil, &body); err != nil {
		return nil, err
	}
	out := make([]domain.Seat, 0, len(body.Seats))
	for _, s := range body.Seats {
		if s.Status == "AVAILABLE" {
			out = append(out, domain.Seat{ID: s.SeatID, SectionID: s.SectionID, Row: s.Row, Number: s.Number, Price: s.Price})
		}
	}
	return out, nil
}

// HoldForUser asks inventory to hold exactly seatIDs for userID for ttl, as a waitlist
// offer. Seats someone else holds or bought come back as *domain.SeatsTakenError; an
// event no longer on sale as *domain.NotOnSaleError.
func (c *Client) HoldForUser(ctx context.Context, eventID uuid.UUID, userID string, seatIDs []string, ttl time.Duration) (domain.PlacedHold, error) {
	secs := int((ttl + time.Second - 1) / time.Second)
	req := map[string]any{"event_id": eventID.String(), "user_id": userID, "seat_ids": seatIDs,
		"ttl_seconds": secs, "purpose": "WAITLIST_OFFER"}
	var body struct {
		HoldID      string            `json:"hold_id"`
		Seats       []domain.HeldSeat `json:"seats"`
		TotalAmount int64             `json:"total_amount"`
		Currency    string            `json:"currency"`
		ExpiresAt   time.Time         `json:"expires_at"`
	}
	if err := c.do(ctx, http.MethodPost, "/internal/v1/holds", ServiceIdentity, req, &body); err != nil {
		return domain.PlacedHold{}, err
	}
	id, err := uuid.Parse(body.HoldID)
	if err != nil {
		return domain.PlacedHold{}, fmt.Errorf("inventory hold: bad hold id %q", body.HoldID)
	}
	return domain.PlacedHold{ID: id, Seats: body.Seats, TotalAmount: body.TotalAmount, Currency: body.Currency, ExpiresAt: body.ExpiresAt}, nil
}

// ReleaseHold gives up an offer's hold on its owner's behalf (the owner left the
// waitlist). A hold that is already gone is not an error.
func (c *Client) ReleaseHold(ctx context.Context, userID string, holdID uuid.UUID) error {
	err := c.do(ctx, http.MethodDelete, "/api/v1/seats/hold/"+holdID.String(),
		assertion.Identity{UserID: userID, Role: assertion.RoleUser}, nil, nil)
	var pe *problemError
	if errors.As(err, &pe) && pe.status == http.StatusNotFound {
		return nil
	}
	return err
}

// problemError is a refusal from inventory.
type problemError struct {
	status int
	code   string
	detail string
}

func (e *problemError) Error() string {
	return fmt.Sprintf("inventory answered %d %s: %s", e.status, e.code, e.detail)
}

func (c *Client) do(ctx context.Context, method, path string, id assertion.Identity, in, out any) error {
	var rd io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	rid := logging.RequestID(ctx)
	if rid == "" {
		rid = uuid.NewString()
	}
	req.Header.Set(assertion.HeaderRequestID, rid)
	assertion.Sign(req.Header, c.secret, id, rid, time.Now())
	res, err := c.http.Do(req)
	if err != nil {
		return domain.ErrInventoryDown.Wrap(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return domain.ErrInventoryDown.Wrap(err)
	}
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		if out == nil || len(b) == 0 {
			return nil
		}
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("inventory %s %s: decode: %w", method, path, err)
		}
		return nil
	}
	var p struct {
		Code               string   `json:"code"`
		Detail             string   `json:"detail"`
		ConflictingSeatIDs []string `json:"conflicting_seat_ids"`
		UnknownSeatIDs     []string `json:"unknown_seat_ids"`
	}
	_ = json.Unmarshal(b, &p)
	pe := &problemError{status: res.StatusCode, code: p.Code, detail: p.Detail}
	switch {
	case res.StatusCode >= 500 || res.StatusCode == http.StatusTooManyRequests:
		return domain.ErrInventoryDown.Wrap(pe)
	case res.StatusCode == http.StatusConflict && p.Code == "seats_unavailable":
		return &domain.SeatsTakenError{SeatIDs: p.ConflictingSeatIDs}
	case res.StatusCode == http.StatusNotFound && p.Code == "seat_not_found":
		return &domain.SeatsTakenError{SeatIDs: p.UnknownSeatIDs}
	case res.StatusCode == http.StatusUnprocessableEntity && p.Code == "hold_limit_exceeded":
		return domain.ErrOverUserLimit.Wrap(pe)
	case res.StatusCode == http.StatusConflict && p.Code == "event_not_on_sale":
		return &domain.NotOnSaleError{Detail: p.Detail}
	case res.StatusCode == http.StatusNotFound && (p.Code == "event_not_found" || p.Code == "not_found"):
		return domain.ErrEventNotFound.Wrap(pe)
	case res.StatusCode == http.StatusNotFound && p.Code == "section_not_found":
		return domain.ErrSectionNotFound.Wrap(pe)
	}
	return pe
}
