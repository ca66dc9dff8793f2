// Package inventory is the booking service's client of inventory's internal API: commit a
// hold for a booking, and look a hold up. Calls carry a signed identity assertion, the
// caller's request id and trace context; idempotent calls are retried on transient errors.
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
	"evently.dev/libs/retry"

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
	base    string
	secret  string
	http    *http.Client
	retries int
	backoff time.Duration
}

// New builds a client with a keep-alive pool sized for a rush of confirms.
func New(o Options) *Client {
	if o.MaxIdleConns <= 0 {
		o.MaxIdleConns = 256
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = o.MaxIdleConns
	tr.MaxIdleConnsPerHost = o.MaxIdleConns
	tr.IdleConnTimeout = 90 * time.Second
	return &Client{base: strings.TrimRight(o.BaseURL, "/"), secret: o.Secret,
		http:    &http.Client{Timeout: o.Timeout, Transport: otelhttp.NewTransport(tr)},
		retries: max(o.Retries, 0), backoff: o.RetryBackoff}
}

type commitBody struct {
	BookingID string `json:"booking_id"`
	UserID    string `json:"user_id"`
	EventID   string `json:"event_id,omitempty"`
}

type commitAnswer struct {
	HoldID      uuid.UUID     `json:"hold_id"`
	BookingID   uuid.UUID     `json:"booking_id"`
	EventID     uuid.UUID     `json:"event_id"`
	UserID      string        `json:"user_id"`
	Seats       []domain.Seat `json:"seats"`
	TotalAmount int64         `json:"total_amount"`
	Currency    string        `json:"currency"`
	CommittedAt time.Time     `json:"committed_at"`
}

// Commit sells the hold's seats for the booking. It is idempotent by hold (for the same
// user) on inventory's side, and answers the booking id that owns the sale, so transport errors and 502/503/504 are retried. A 4xx answer is
// a *domain.InventoryRefusal; anything else is transient.
func (c *Client) Commit(ctx context.Context, holdID, bookingID uuid.UUID, userID string, eventID uuid.UUID) (domain.Commit, error) {
	cb := commitBody{BookingID: bookingID.String(), UserID: userID}
	if eventID != uuid.Nil {
		cb.EventID = eventID.String()
	}
	body, _ := json.Marshal(cb)
	var a commitAnswer
	path := "/internal/v1/holds/" + holdID.String() + "/commit"
	if err := c.do(ctx, http.MethodPost, path, body, &a); err != nil {
		return domain.Commit{}, err
	}
	// The booking id may be another one than asked for: inventory answers the same user's
	// repeated commit of a hold with the sale it recorded, under that sale's booking.
	if a.BookingID == uuid.Nil || a.HoldID != holdID || a.UserID != userID || a.EventID == uuid.Nil || len(a.Seats) == 0 {
		return domain.Commit{}, fmt.Errorf("inventory commit answered an unexpected body (hold %s, booking %s, event %s, %d seats)",
			a.HoldID, a.BookingID, a.EventID, len(a.Seats))
	}
	return domain.Commit{HoldID: a.HoldID, BookingID: a.BookingID, EventID: a.EventID, UserID: a.UserID,
		Seats: a.Seats, TotalAmount: a.TotalAmount, Currency: a.Currency, CommittedAt: a.CommittedAt}, nil
}

func (c *Client) do(ctx context.Context, method, path string, body []byte, out any) error {
	wait := c.backoff
	var last error
	for attempt := 0; ; attempt++ {
		status, raw, err := c.once(ctx, method, path, body)
		switch {
		case err == nil && status >= 200 && status < 300:
			if err := json.Unmarshal(raw, out); err != nil {
				return fmt.Errorf("inventory %s %s: decode answer: %w", method, path, err)
			}
			return nil
		case err == nil && status >= 400 && status < 500 && status != http.StatusUnauthorized &&
			status != http.StatusForbidden && status != http.StatusTooManyRequests && status != http.StatusRequestTimeout:
			return refusal(status, raw)
		case err == nil:
			last = fmt.Errorf("inventory %s %s: status %d: %s", method, path, status, truncate(raw))
			if status != http.StatusBadGateway && status != http.StatusServiceUnavailable &&
				status != http.StatusGatewayTimeout && status != http.StatusTooManyRequests {
				return last
			}
		default:
			last = fmt.Errorf("inventory %s %s: %w", method, path, err)
			if ctx.Err() != nil {
				return last
			}
		}
		if attempt >= c.retries {
			return last
		}
		if !retry.Sleep(ctx, wait) {
			return errors.Join(last, ctx.Err())
		}
		wait *= 2
	}
}

func (c *Client) once(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	id, ok := assertion.FromContext(ctx)
	if !ok {
		id = ServiceIdentity
	}
	rid := logging.RequestID(ctx)
	if rid == "" {
		rid = uuid.NewString()
	}
	req.Header.Set(assertion.HeaderRequestID, rid)
	assertion.Sign(req.Header, c.secret, id, rid, time.Now())
	res, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return 0, nil, err
	}
	return res.StatusCode, raw, nil
}

func refusal(status int, raw []byte) *domain.InventoryRefusal {
	var p struct {
		Code   string `json:"code"`
		Detail string `json:"detail"`
	}
	_ = json.Unmarshal(raw, &p)
	if p.Code == "" {
		p.Code = strings.ToLower(strings.ReplaceAll(http.StatusText(status), " ", "_"))
	}
	if p.Detail == "" {
		p.Detail = http.StatusText(status)
	}
	return &domain.InventoryRefusal{Status: status, Code: p.Code, Detail: p.Detail}
}

func truncate(b []byte) string {
	if len(b) > 200 {
		b = b[:200]
	}
	return string(b)
}
