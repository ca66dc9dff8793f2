// Package servicecall is how one service calls another's HTTP API: a RoundTripper that
// signs each request with the identity assertion and its request id, traced by otelhttp
// over one keep-alive pool, and a JSON client on top with bounded answers, problem+json
// refusals as *Error, and one retry policy (idempotent calls only).
package servicecall

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"evently.dev/libs/assertion"
	"evently.dev/libs/logging"
	"evently.dev/libs/retry"
	"evently.dev/libs/telemetry"
)

// Defaults of Options.
const (
	// DefaultMaxIdleConns keeps a rush of concurrent calls on warm connections: net/http's
	// default of 2 idle connections per host makes every call beyond that dial anew.
	DefaultMaxIdleConns = 256
	// DefaultMaxAnswerBytes bounds an answer read into memory.
	DefaultMaxAnswerBytes = 1 << 20
)

// Transport signs every request with the identity assertion before handing it to Base
// (http.DefaultTransport when nil).
// The identity is the caller's from the request context (assertion.WithIdentity), else
// Service; the request id is the request's X-Request-ID, else the context's, else new.
type Transport struct {
	Base    http.RoundTripper
	Secret  string
	Service assertion.Identity
}

// RoundTrip implements http.RoundTripper. It signs a copy: a RoundTripper must not change
// the caller's request, and each attempt of a retry is signed afresh.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	id, ok := assertion.FromContext(ctx)
	if !ok {
		id = t.Service
	}
	rid := req.Header.Get(assertion.HeaderRequestID)
	if rid == "" {
		rid = logging.RequestID(ctx)
	}
	if rid == "" {
		rid = uuid.NewString()
	}
	out := *req
	out.Header = make(http.Header, len(req.Header)+4)
	for k, v := range req.Header {
		out.Header[k] = v
	}
	out.Header[assertion.HeaderRequestID] = []string{rid}
	assertion.Sign(out.Header, t.Secret, id, rid, time.Now())
	if t.Base == nil {
		return http.DefaultTransport.RoundTrip(&out)
	}
	return t.Base.RoundTrip(&out)
}

// Options configures a Client.
type Options struct {
	// BaseURL is the called service's root, e.g. http://inventory:8083.
	BaseURL string
	// Secret signs the identity assertion (IDENTITY_ASSERTION_SECRET).
	Secret string
	// Service is the identity calls are signed with outside any caller's request.
	Service assertion.Identity
	// Timeout bounds one attempt, answer included.
	Timeout time.Duration
	// Retries is how many more attempts an idempotent call gets after a transport error
	// or a 429/502/503/504; refusals are never retried, nor are non-idempotent calls.
	Retries int
	// RetryBackoff is the first wait between attempts; it doubles each time.
	RetryBackoff time.Duration
	// MaxIdleConns is the keep-alive pool size towards the service (per host, too);
	// default DefaultMaxIdleConns.
	MaxIdleConns int
	// MaxAnswerBytes bounds an answer's body; a longer one is an error. Default
	// DefaultMaxAnswerBytes.
	MaxAnswerBytes int64
}

// Client calls one service's JSON API.
type Client struct {
	base     string
	http     *http.Client
	timeout  time.Duration
	retries  int
	backoff  time.Duration
	maxBytes int64
}

// New builds a client: Transport over otelhttp over a pool of MaxIdleConns keep-alive
// connections.
func New(o Options) *Client {
	if o.MaxIdleConns <= 0 {
		o.MaxIdleConns = DefaultMaxIdleConns
	}
	if o.MaxAnswerBytes <= 0 {
		o.MaxAnswerBytes = DefaultMaxAnswerBytes
	}
	pool := http.DefaultTransport.(*http.Transport).Clone()
	pool.MaxIdleConns = o.MaxIdleConns
	pool.MaxIdleConnsPerHost = o.MaxIdleConns
	pool.IdleConnTimeout = 90 * time.Second
	tr := &Transport{Base: telemetry.Transport(pool), Secret: o.Secret, Service: o.Service}
	return &Client{base: strings.TrimRight(o.BaseURL, "/"), http: &http.Client{Transport: tr}, timeout: o.Timeout,
		retries: max(o.Retries, 0), backoff: o.RetryBackoff, maxBytes: o.MaxAnswerBytes}
}

// Error is a non-2xx answer. Code and Detail come from its problem+json body (Code falls
// back to the status text in snake case, so it is never empty).
type Error struct {
	Method, Path string
	Status       int
	Code         string
	Detail       string
	body         []byte
}

// Error implements error.
func (e *Error) Error() string {
	return fmt.Sprintf("%s %s answered %d %s: %s", e.Method, e.Path, e.Status, e.Code, e.Detail)
}

// Temporary reports whether the answer says "not now" rather than "no": a 5xx, 408 or 429.
func (e *Error) Temporary() bool {
	return e.Status >= 500 || e.Status == http.StatusRequestTimeout || e.Status == http.StatusTooManyRequests
}

// Refusal reports whether the answer is a definite "no" to this request (a 4xx other than
// 401, 403, 408 and 429, which speak of the caller's credentials or of load).
func (e *Error) Refusal() bool {
	return e.Status >= 400 && e.Status < 500 && !e.Temporary() &&
		e.Status != http.StatusUnauthorized && e.Status != http.StatusForbidden
}

// DecodeProblem reads the problem body's extra members into v.
func (e *Error) DecodeProblem(v any) error { return json.Unmarshal(e.body, v) }

// Do sends in as JSON (when not nil; a []byte or json.RawMessage goes as it is, being
// JSON already) and decodes a 2xx
// answer into out (when not nil). GET, HEAD, PUT and DELETE are retried on transient
// failures; a POST is not, unless sent with DoIdempotent. A non-2xx answer is an *Error.
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	return c.call(ctx, method, path, in, out, idempotentMethod(method))
}

// DoIdempotent is Do for a call the server makes idempotent (a POST that answers a repeat
// with the recorded outcome): it is retried like a GET.
func (c *Client) DoIdempotent(ctx context.Context, method, path string, in, out any) error {
	return c.call(ctx, method, path, in, out, true)
}

func idempotentMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodPut || m == http.MethodDelete || m == http.MethodOptions
}

func (c *Client) call(ctx context.Context, method, path string, in, out any, idempotent bool) error {
	var body []byte
	switch v := in.(type) {
	case nil:
	case json.RawMessage:
		body = v
	case []byte:
		body = v
	default:
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s %s: encode: %w", method, path, err)
		}
		body = b
	}
	wait := c.backoff
	for attempt := 0; ; attempt++ {
		err := c.once(ctx, method, path, body, out)
		if err == nil || !idempotent || attempt >= c.retries || !transient(ctx, err) {
			return err
		}
		if !retry.Sleep(ctx, wait) {
			return errors.Join(err, ctx.Err())
		}
		wait *= 2
	}
}

// transient reports whether another attempt may answer differently.
func transient(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var e *Error
	if !errors.As(err, &e) {
		var b *badAnswerError
		return !errors.As(err, &b) // transport errors are; a garbled or oversize answer is not
	}
	switch e.Status {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// badAnswerError is an answer that was read whole but cannot be used: over the bound, or
// not decoding into out. Asking again would get the same.
type badAnswerError struct{ err error }

func (e *badAnswerError) Error() string { return "bad answer: " + e.err.Error() }
func (e *badAnswerError) Unwrap() error { return e.err }

// buffers recycles answer buffers: one call reads one answer, and a rush of calls would
// otherwise grow a fresh buffer per answer.
var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func (c *Client) once(ctx context.Context, method, path string, body []byte, out any) error {
	// The attempt's deadline rides on its context rather than http.Client.Timeout, which
	// would clone the request and start a second timer and context for every call. It
	// covers the answer's body too, read below before cancel.
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header["Content-Type"] = jsonContentType
	}
	res, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	buf := buffers.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 64<<10 { // do not keep a rare huge answer's memory around
			buf.Reset()
			buffers.Put(buf)
		}
	}()
	buf.Reset()
	if err := readAtMost(buf, res.Body, c.maxBytes); err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return problem(method, path, res.StatusCode, buf.Bytes())
	}
	if out == nil || buf.Len() == 0 {
		return nil
	}
	if err := json.Unmarshal(buf.Bytes(), out); err != nil {
		return fmt.Errorf("%s %s: %w", method, path, &badAnswerError{err})
	}
	return nil
}

// jsonContentType is shared by every request: header values are only read downstream.
var jsonContentType = []string{"application/json"}

// readAtMost reads r to its end into buf, or fails once more than limit bytes came. It
// reads straight into buf's spare room: an io.LimitReader would cost an allocation a call.
func readAtMost(buf *bytes.Buffer, r io.Reader, limit int64) error {
	for {
		buf.Grow(512)
		room := buf.AvailableBuffer()
		n, err := r.Read(room[:cap(room)])
		buf.Write(room[:n])
		if int64(buf.Len()) > limit {
			return &badAnswerError{fmt.Errorf("longer than %d bytes", limit)}
		}
		switch {
		case err == io.EOF:
			return nil
		case err != nil:
			return fmt.Errorf("read answer: %w", err)
		}
	}
}

// problem reads an RFC 9457 body into an *Error; a body that is not one still gives a code.
func problem(method, path string, status int, raw []byte) *Error {
	e := &Error{Method: method, Path: path, Status: status, body: bytes.Clone(raw)}
	var p struct {
		Code   string `json:"code"`
		Detail string `json:"detail"`
	}
	if json.Unmarshal(raw, &p) == nil {
		e.Code, e.Detail = p.Code, p.Detail
	}
	if e.Code == "" {
		e.Code = strings.ToLower(strings.ReplaceAll(http.StatusText(status), " ", "_"))
	}
	if e.Detail == "" {
		e.Detail = http.StatusText(status)
	}
	return e
}
