// Package inventory is the booking service's client of inventory's internal API: commit a
// hold for a booking. Calls go through servicecall (signed assertion, request id, trace
// context, one pool); idempotent calls are retried on transient errors.
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

	"evently.dev/services/booking/internal/domain"
)

// ServiceIdentity is who the booking service signs as when no user is acting (reconciler).
var ServiceIdentity = assertion.Identity{UserID: "service:booking", Role: "SERVICE"}

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

// New builds a client with a keep-alive pool sized for a rush of confirms (MaxIdleConns,
// default servicecall.DefaultMaxIdleConns).
func New(o Options) *Client {
	return &Client{call: servicecall.New(servicecall.Options{BaseURL: o.BaseURL, Secret: o.Secret,
		Service: ServiceIdentity, Timeout: o.Timeout, Retries: o.Retries, RetryBackoff: o.RetryBackoff,
		MaxIdleConns: o.MaxIdleConns})}
}

// Commit sells the hold's seats for the booking. It is idempotent by hold (for the same
// user) on inventory's side, and answers the booking id that owns the sale, so transport
// errors and 429/502/503/504 are retried. A 4xx answer is a *domain.InventoryRefusal;
// anything else is transient.
func (c *Client) Commit(ctx context.Context, holdID, bookingID uuid.UUID, userID string, eventID uuid.UUID) (domain.Commit, error) {
	req := inventoryapi.CommitRequest{BookingID: bookingID.String(), UserID: userID}
	if eventID != uuid.Nil {
		req.EventID = eventID.String()
	}
	var a inventoryapi.Commit
	if err := c.do(ctx, http.MethodPost, inventoryapi.CommitPath(holdID), &req, &a); err != nil {
		return domain.Commit{}, err
	}
	// The booking id may be another one than asked for: inventory answers the same user's
	// repeated commit of a hold with the sale it recorded, under that sale's booking.
	if a.BookingID == uuid.Nil || a.HoldID != holdID || a.UserID != userID || a.EventID == uuid.Nil || len(a.Seats) == 0 {
		return domain.Commit{}, fmt.Errorf("inventory commit answered an unexpected body (hold %s, booking %s, event %s, %d seats)",
			a.HoldID, a.BookingID, a.EventID, len(a.Seats))
	}
	seats := make([]domain.Seat, len(a.Seats))
	for i, s := range a.Seats {
		seats[i] = domain.Seat{SeatID: s.SeatID, SectionID: s.SectionID, Row: s.Row, Number: s.Number, Label: s.Label, Price: s.Price}
	}
	return domain.Commit{HoldID: a.HoldID, BookingID: a.BookingID, EventID: a.EventID, UserID: a.UserID,
		Seats: seats, TotalAmount: a.TotalAmount, Currency: a.Currency, CommittedAt: a.CommittedAt}, nil
}

// do sends in (a request type, or JSON bytes; may be nil) as an idempotent call (every
// call of the internal API booking makes is one) and turns a definite 4xx "no" into a
// *domain.InventoryRefusal; anything else stays transient.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	err := c.call.DoIdempotent(ctx, method, path, in, out)
	var e *servicecall.Error
	if errors.As(err, &e) && e.Refusal() {
		return &domain.InventoryRefusal{Status: e.Status, Code: e.Code, Detail: e.Detail}
	}
	if err != nil {
		return fmt.Errorf("inventory: %w", err)
	}
	return nil
}
