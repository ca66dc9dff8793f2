package proxy

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"syscall"
	"time"

	"evently.dev/libs/retry"
)

// maxReplayBody is the largest idempotent request body kept in memory so it can be sent
// again; larger ones are streamed once and not retried. Booking and hold bodies are a
// few hundred bytes.
const maxReplayBody = 64 << 10

// retrying sends an idempotent request again when the upstream refused or reset the
// connection before any response byte: that is what a service restarting (or a replica
// going away) looks like, and resending is safe because the request is idempotent —
// a safe method, or a write carrying an Idempotency-Key the service deduplicates on.
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
	wait := t.backoff
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
		if !retry.Sleep(req.Context(), wait) {
			return nil, err
		}
		wait *= 2
	}
}

// retryable: an idempotent request (with a replayable body) that failed because the
// connection was refused or reset.
func retryable(req *http.Request, err error) bool {
	if !idempotent(req) {
		return false
	}
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return false
	}
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

func idempotent(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	return req.Header.Get("Idempotency-Key") != ""
}

// replayableBody reads a small body of an idempotent write into memory so the retrying
// transport can send it again; the body limit still applies (413 above it).
func replayableBody(req *http.Request) error {
	if req.Body == nil || req.Body == http.NoBody || !idempotent(req) ||
		req.ContentLength < 0 || req.ContentLength > maxReplayBody {
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
