// Package inventory is the waitlist's client of inventory's internal API: seat
// availability, the seats still available, and holds placed (and given up) for a user as
// a waitlist offer. Calls go through servicecall like booking's: signed assertion, request
// id, trace context, one pool, reads and releases retried on transient errors.
package inventory

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"

	"evently.dev/libs/assertion"
	"evently.dev/libs/contracts/inventoryapi"
	"evently.dev/libs/servicecall"

	"evently.dev/services/waitlist/internal/domain"
)

// ServiceIdentity is who the waitlist signs as when it acts for no particular user.
var ServiceIdentity = assertion.Identity{UserID: "service:waitlist", Role: "SERVICE"}

// maxAnswerBytes bounds an answer: the available seats of a large event that freed many
// at once are the biggest, about 100 bytes a seat.
const maxAnswerBytes = 32 << 20

// Options configures a Client.
type Options struct {
	BaseURL      string
	Secret       string
	Timeout      time.Duration
	Retries      int
	RetryBackoff time.Duration
	MaxIdleConns int
}

// Client calls inventory's internal API.
type Client struct {
	call *servicecall.Client
}

// New returns a client of the inventory at o.BaseURL.
func New(o Options) *Client {
	return &Client{call: servicecall.New(servicecall.Options{BaseURL: o.BaseURL, Secret: o.Secret,
		Service: ServiceIdentity, Timeout: o.Timeout, Retries: o.Retries, RetryBackoff: o.RetryBackoff,
		MaxIdleConns: o.MaxIdleConns, MaxAnswerBytes: maxAnswerBytes})}
}

// Availability asks the event's per-section counts.
func (c *Client) Availability(ctx context.Context, eventID uuid.UUID) (domain.Availability, error) {
	var body inventoryapi.Availability
	if err := c.call.Do(ctx, http.MethodGet, inventoryapi.AvailabilityPath(eventID), nil, &body); err != nil {
		return domain.Availability{}, inventoryError(err)
	}
	a := domain.Availability{Status: body.Status, OnSale: body.OnSale, Available: body.Available, Sections: make(map[string]int, len(body.Sections))}
	for _, s := range body.Sections {
		a.Sections[s.SectionID] = s.Available
	}
	return a, nil
}

// AvailableSeats returns the event's AVAILABLE seats in seat-map order.
func (c *Client) AvailableSeats(ctx context.Context, eventID uuid.UUID) ([]domain.Seat, error) {
	var body inventoryapi.AvailableSeats
	if err := c.call.Do(ctx, http.MethodGet, inventoryapi.AvailableSeatsPath(eventID), nil, &body); err != nil {
		return nil, inventoryError(err)
	}
	out := make([]domain.Seat, len(body.Seats))
	for i, s := range body.Seats {
		out[i] = domain.Seat{ID: s.SeatID, SectionID: s.SectionID, Row: s.Row, Number: s.Number, Price: s.Price}
	}
	return out, nil
}

// HoldForUser asks inventory to hold exactly seatIDs for userID for ttl, as a waitlist
// offer. Seats someone else holds or bought come back as *domain.SeatsTakenError; an
// event no longer on sale as *domain.NotOnSaleError. It is not retried: a hold whose
// answer was lost would make the retry find its own seats taken.
func (c *Client) HoldForUser(ctx context.Context, eventID uuid.UUID, userID string, seatIDs []string, ttl time.Duration) (domain.PlacedHold, error) {
	req := inventoryapi.PlaceHoldRequest{EventID: eventID.String(), UserID: userID, SeatIDs: seatIDs,
		TTLSeconds: int((ttl + time.Second - 1) / time.Second), Purpose: inventoryapi.PurposeWaitlistOffer}
	var h inventoryapi.Hold
	if err := c.call.Do(ctx, http.MethodPost, inventoryapi.PathHolds, req, &h); err != nil {
		return domain.PlacedHold{}, inventoryError(err)
	}
	if h.HoldID == uuid.Nil {
		return domain.PlacedHold{}, errors.New("inventory hold: answered no hold id")
	}
	seats := make([]domain.HeldSeat, len(h.Seats))
	for i, s := range h.Seats {
		seats[i] = domain.HeldSeat{SeatID: s.SeatID, SectionID: s.SectionID, Label: s.Label, Price: s.Price}
	}
	return domain.PlacedHold{ID: h.HoldID, Seats: seats, TotalAmount: h.TotalAmount, Currency: h.Currency, ExpiresAt: h.ExpiresAt}, nil
}

// ReleaseHold gives up an offer's hold on its owner's behalf (the owner left the
// waitlist). A hold that is already gone is not an error, so the call is retried safely.
func (c *Client) ReleaseHold(ctx context.Context, userID string, holdID uuid.UUID) error {
	err := c.call.DoIdempotent(ctx, http.MethodPost, inventoryapi.ReleaseHoldPath(holdID), inventoryapi.ReleaseHoldRequest{UserID: userID}, nil)
	var e *servicecall.Error
	if errors.As(err, &e) && e.Status == http.StatusNotFound && e.Code == inventoryapi.CodeHoldNotFound {
		return nil
	}
	return inventoryError(err)
}

// inventoryError maps inventory's answers to the waitlist's errors: unreachable or
// overloaded is domain.ErrInventoryDown, refusals the offer round acts on are typed.
func inventoryError(err error) error {
	if err == nil {
		return nil
	}
	var e *servicecall.Error
	if !errors.As(err, &e) {
		return domain.ErrInventoryDown.Wrap(err)
	}
	var extra inventoryapi.SeatsProblem
	switch {
	case e.Temporary():
		return domain.ErrInventoryDown.Wrap(e)
	case e.Status == http.StatusConflict && e.Code == inventoryapi.CodeSeatsUnavailable:
		_ = e.DecodeProblem(&extra)
		return &domain.SeatsTakenError{SeatIDs: extra.ConflictingSeatIDs}
	case e.Status == http.StatusNotFound && e.Code == inventoryapi.CodeSeatNotFound:
		_ = e.DecodeProblem(&extra)
		return &domain.SeatsTakenError{SeatIDs: extra.UnknownSeatIDs}
	case e.Status == http.StatusUnprocessableEntity && e.Code == inventoryapi.CodeHoldLimitExceeded:
		return domain.ErrOverUserLimit.Wrap(e)
	case e.Status == http.StatusConflict && e.Code == inventoryapi.CodeEventNotOnSale:
		return &domain.NotOnSaleError{Detail: e.Detail}
	case e.Status == http.StatusNotFound && e.Code == inventoryapi.CodeEventNotFound:
		return domain.ErrEventNotFound.Wrap(e)
	case e.Status == http.StatusNotFound && e.Code == inventoryapi.CodeSectionNotFound:
		return domain.ErrSectionNotFound.Wrap(e)
	}
	return fmt.Errorf("inventory: %w", e)
}
