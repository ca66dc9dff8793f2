package proxy

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"syscall"
	"time"

	"evently.dev/libs/retry"
)

// maxReplayBody is the largest request body kept in memory so it can be sent again;
// larger ones are streamed once and not retried. Booking and hold bodies are a few
// hundred bytes.
const maxReplayBody = 64 << 10

// maxRetryWait caps the doubling wait between resends.
const maxRetryWait = 2 * time.Second

// retrying sends a request again when the upstream refused the connection (nothing was
// sent: safe for any request), or an idempotent one when the connection was reset before
// any response byte: that is what a service restarting (or a replica going away) looks
// like. Idempotent means a method HTTP defines so, or a write carrying an Idempotency-Key
// the service deduplicates on.
// Anything else (a timeout, a response already started) is not retried: the upstream may
// be working on it, and a second copy would only add load.
type retrying struct {
	next    http.RoundTripper
	retries int
	backoff time.Duration
	log     *slog.Logger
}

// RoundTrip implements http.RoundTripper.
func (t *retrying) RoundTrip(req *http.Request) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		resp, err := t.next.RoundTrip(req)
		if err == nil || attempt >= t.retries || !retryable(req, err) {
			return resp, err
		}
		if req.Body != nil && req.Body != http.NoBody {
			body, berr := req.GetBody()
			if berr != nil {
				return nil, err
			}
			req = req.Clone(req.Context())
			req.Body = body
		}
		t.log.WarnContext(req.Context(), "upstream connection failed, retrying", "host", req.URL.Host,
			"attempt", attempt+1, "error", err)
		if !retry.Sleep(req.Context(), retry.Backoff(t.backoff, maxRetryWait, attempt+1)) {
			return nil, err
		}
	}
}

// retryable: a request (with a replayable body) whose connection was refused — nothing
// reached the upstream, so any method may be sent again — or an idempotent one whose
// connection was reset before an answer.
func retryable(req *http.Request, err error) bool {
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return false
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return true
	}
	// The connection's end shows in several ways depending on who noticed first: a reset,
	// a broken pipe, EOF, or the transport's own write on a connection it just closed.
	return idempotent(req) && (errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF))
}

// idempotent: a method HTTP defines as idempotent, or a write with an Idempotency-Key the
// service deduplicates on.
func idempotent(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	}
	return req.Header.Get("Idempotency-Key") != ""
}

// replayableBody reads a small body into memory so the retrying transport can send it
// again; the body limit still applies (413 above it). Read before the upstream is asked,
// the body is also consumed whatever the upstream does, so the client's connection stays
// usable after a failed upstream call (a half-read body made the server close it).
func replayableBody(req *http.Request) error {
	if req.Body == nil || req.Body == http.NoBody || req.ContentLength < 0 || req.ContentLength > maxReplayBody {
		return nil
	}
	data, err := io.ReadAll(req.Body)
	if err != nil {
		return err
	}
	_ = req.Body.Close()
	req.Body = io.NopCloser(bytes.NewReader(data))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	return nil
}
