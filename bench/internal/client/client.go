// Package client speaks Evently's public HTTP API for the load tool. It dials loopback
// addresses only: the check sits in the dialer, so no redirect or typo can send load
// anywhere else.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// ErrNotLoopback is returned for any target that is not an IPv4 loopback address.
var ErrNotLoopback = errors.New("the load tool only targets 127.0.0.0/8")

// Client sends requests to one base URL over a keep-alive pool sized for the load.
type Client struct {
	base string
	http *http.Client
}

// CheckLoopback refuses any host:port whose host is not a literal IPv4 loopback address.
func CheckLoopback(hostport string) error {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.To4() == nil || !ip.IsLoopback() {
		return fmt.Errorf("%w: %q", ErrNotLoopback, hostport)
	}
	return nil
}

// New returns a client for base (such as http://127.0.0.1:8080) keeping up to conns idle
// connections, so hundreds of concurrent buyers do not open a socket per request.
func New(base string, conns int) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	if err := CheckLoopback(u.Host); err != nil {
		return nil, err
	}
	dialer := &net.Dialer{Timeout: 3 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if err := CheckLoopback(addr); err != nil {
				return nil, err
			}
			return dialer.DialContext(ctx, network, addr)
		},
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		// Gzip is asked for explicitly where a scenario wants it; the transport must not
		// add it everywhere (and then hide the Content-Encoding the bench checks).
		DisableCompression: true,
	}
	return &Client{base: u.Scheme + "://" + u.Host, http: &http.Client{Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}, nil
}

// Base is the scheme://host:port the client talks to.
func (c *Client) Base() string { return c.base }

// Response is an answer read to the end.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Decode unmarshals the body into v.
func (r Response) Decode(v any) error {
	if err := json.Unmarshal(r.Body, v); err != nil {
		return fmt.Errorf("decode %d answer: %w: %.200s", r.Status, err, r.Body)
	}
	return nil
}

// Do sends one request. body may be nil or any JSON value; headers are name, value pairs.
// A transport failure is an error; any HTTP status is a Response.
func (c *Client) Do(ctx context.Context, method, path, token string, body any, headers ...string) (Response, error) {
	res, err := c.send(ctx, method, path, token, body, headers)
	if err != nil {
		return Response{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return Response{}, err
	}
	return Response{Status: res.StatusCode, Header: res.Header, Body: b}, nil
}

// Read sends a GET and reads the answer to the end without keeping it: a 2xx body is only
// counted (Response.Body stays nil, the byte count is returned), other answers are kept for
// their problem code. The browse runs use it because a 100,000-seat map is over a megabyte
// even gzipped: keeping every copy made the load tool's own allocation and garbage
// collection part of the latency it reports.
func (c *Client) Read(ctx context.Context, path, token string, headers ...string) (Response, int64, error) {
	res, err := c.send(ctx, http.MethodGet, path, token, nil, headers)
	if err != nil {
		return Response{}, 0, err
	}
	defer res.Body.Close()
	out := Response{Status: res.StatusCode, Header: res.Header}
	if res.StatusCode >= 300 {
		out.Body, err = io.ReadAll(io.LimitReader(res.Body, 1<<16))
		if err == nil {
			_, err = io.Copy(io.Discard, res.Body)
		}
		return out, int64(len(out.Body)), err
	}
	n, err := io.Copy(io.Discard, res.Body)
	return out, n, err
}

// send builds and sends one request; the caller reads and closes the answer's body.
func (c *Client) send(ctx context.Context, method, path, token string, body any, headers []string) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return c.http.Do(req)
}

// Call sends a request, requires one of the wanted statuses and decodes the body into out
// (when out is not nil).
func (c *Client) Call(ctx context.Context, method, path, token string, body, out any, want ...int) error {
	r, err := c.Do(ctx, method, path, token, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	ok := false
	for _, w := range want {
		ok = ok || r.Status == w
	}
	if !ok {
		return fmt.Errorf("%s %s: HTTP %d: %.300s", method, path, r.Status, r.Body)
	}
	if out != nil {
		return r.Decode(out)
	}
	return nil
}

// Session is a signed-in account.
type Session struct {
	AccessToken string `json:"access_token"`
	User        struct {
		ID string `json:"id"`
	} `json:"user"`
}

// Login signs in with a password.
func (c *Client) Login(ctx context.Context, email, password string) (Session, error) {
	var s Session
	err := c.Call(ctx, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"email": email, "password": password}, &s, http.StatusOK)
	return s, err
}

// Register creates a USER account and returns its session.
func (c *Client) Register(ctx context.Context, email, password string) (Session, error) {
	var s Session
	err := c.Call(ctx, http.MethodPost, "/api/v1/auth/register", "", map[string]string{"first_name": "Bench",
		"last_name": "Buyer", "email": email, "password": password}, &s, http.StatusCreated)
	return s, err
}

// Template is a venue template as the admin API answers it.
type Template struct {
	ID         string `json:"id"`
	TotalSeats int    `json:"total_seats"`
	Sections   []struct {
		ID string `json:"id"`
	} `json:"sections"`
}

// Event is a published event as GET /events/{id} shows it.
type Event struct {
	ID            string `json:"id"`
	Status        string `json:"status"`
	TotalCapacity int    `json:"total_capacity"`
	Sections      []struct {
		SectionID string `json:"section_id"`
		Capacity  int    `json:"capacity"`
	} `json:"sections"`
}

// Section is one section of a venue template to create.
type Section struct {
	Name        string `json:"name"`
	RowStart    string `json:"row_start"`
	RowEnd      string `json:"row_end"`
	SeatsPerRow int    `json:"seats_per_row"`
}

// CreatePublishedEvent creates a venue template with the given sections and a PUBLISHED
// event on it (a month ahead, hold limit 50), and returns the event.
func (c *Client) CreatePublishedEvent(ctx context.Context, adminToken, name string, sections []Section) (Event, error) {
	var tpl Template
	if err := c.Call(ctx, http.MethodPost, "/api/v1/admin/venue-templates", adminToken, map[string]any{
		"name": name, "description": "made by the bench", "layout_type": "STADIUM", "sections": sections,
	}, &tpl, http.StatusCreated); err != nil {
		return Event{}, err
	}
	start := time.Now().Add(30 * 24 * time.Hour).UTC().Truncate(time.Hour)
	var ev Event
	err := c.Call(ctx, http.MethodPost, "/api/v1/admin/events", adminToken, map[string]any{
		"name": name, "description": "made by the bench", "category": "bench", "tags": []string{"bench"},
		"venue_template_id": tpl.ID, "date_time": start.Format(time.RFC3339),
		"end_time": start.Add(3 * time.Hour).Format(time.RFC3339), "base_price": 5000, "currency": "EUR",
		"hold_limit_per_user": 50, "status": "PUBLISHED",
	}, &ev, http.StatusCreated)
	return ev, err
}

// WaitOnSale polls the public availability until inventory has built the event's ledger
// (404 before), bounded by timeout.
func (c *Client) WaitOnSale(ctx context.Context, eventID string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		r, err := c.Do(ctx, http.MethodGet, "/api/v1/events/"+eventID+"/availability", "", nil)
		if err == nil && r.Status == http.StatusOK {
			return nil
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("HTTP %d: %.200s", r.Status, r.Body)
			}
			return fmt.Errorf("event %s not on sale after %s: %w", eventID, timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// SeatMap is the part of GET /events/{id}/venue/layout the bench uses.
type SeatMap struct {
	Seats []struct {
		SeatID    string `json:"seat_id"`
		SectionID string `json:"section_id"`
		Row       string `json:"row"`
		Number    int    `json:"number"`
		Status    string `json:"status"`
	} `json:"seats"`
}

// Layout reads an event's seat map.
func (c *Client) Layout(ctx context.Context, token, eventID string) (SeatMap, error) {
	var m SeatMap
	err := c.Call(ctx, http.MethodGet, "/api/v1/events/"+eventID+"/venue/layout", token, nil, &m, http.StatusOK)
	return m, err
}

// RowName is the name of row i (0-based) in a numbered section: "1", "2", ...
func RowName(i int) string { return strconv.Itoa(i + 1) }
