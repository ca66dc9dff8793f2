// Package proxy forwards matched requests to the owning service: it strips identity
// headers a client sent, signs the gateway's identity assertion, propagates the trace,
// streams responses without buffering (SSE passes through) and maps upstream failures to
// problem+json (503 unreachable, with Retry-After; 504 too slow).
package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"evently.dev/libs/apperr"
	"evently.dev/libs/assertion"
	"evently.dev/libs/httpserver"
	"evently.dev/libs/telemetry"

	"evently.dev/gateway/internal/route"
)

// Options configure the upstream transport.
type Options struct {
	Upstreams      map[string]string
	Secret         string
	Timeout        time.Duration
	MaxIdlePerHost int
	Logger         *slog.Logger
	// Retries is how many more times an idempotent request is sent when the upstream
	// refused or reset the connection before answering (a restarting service); 0 = none.
	Retries int
	// RetryBackoff is the first wait between attempts; it doubles each time.
	RetryBackoff time.Duration
}

// Proxy holds one reverse proxy per upstream over a shared, keep-alive transport.
type Proxy struct {
	proxies   map[string]*httputil.ReverseProxy
	upstreams map[string]*url.URL
	client    *http.Client
	secret    string
}

// problemWriter only lends its NewContext to the proxies' error handler, which runs
// outside any Echo request; one instance serves them all instead of one per failure.
var problemWriter = echo.New()

var (
	errBadGateway = apperr.New(apperr.KindUnavailable, "upstream_unreachable", "the service behind this path cannot be reached")
	errTimeout    = apperr.New(apperr.KindUnavailable, "upstream_timeout", "the service behind this path did not answer in time")
)

// New builds the proxies. The transport keeps many idle connections per host: with Go's
// default of 2, a measured reverse proxy lost about a third of its throughput.
func New(opts Options) (*Proxy, error) {
	base := &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 3 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          opts.MaxIdlePerHost * len(opts.Upstreams),
		MaxIdleConnsPerHost:   opts.MaxIdlePerHost,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: opts.Timeout,
		ExpectContinueTimeout: time.Second,
	}
	transport := telemetry.Transport(&retrying{next: base, retries: opts.Retries, backoff: opts.RetryBackoff, log: opts.Logger})
	p := &Proxy{proxies: map[string]*httputil.ReverseProxy{}, upstreams: map[string]*url.URL{},
		client: &http.Client{Transport: base, Timeout: 2 * time.Second}, secret: opts.Secret}
	for name, raw := range opts.Upstreams {
		u, err := url.Parse(raw)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return nil, fmt.Errorf("upstream %s: bad URL %q", name, raw)
		}
		p.upstreams[name] = u
		rp := &httputil.ReverseProxy{
			Rewrite: func(r *httputil.ProxyRequest) {
				r.SetURL(u)
				r.Out.Host = u.Host
				r.SetXForwarded()
				// The gateway has already answered the client's Expect: 100-continue when it
				// began reading the body; an upstream's own 100 would reach ReverseProxy,
				// which forwards it and commits Echo's response with status 100, so a later
				// 413 or 502 would go out as 200.
				r.Out.Header.Del("Expect")
			},
			ModifyResponse: ownHeaders,
			Transport:      transport,
			BufferPool:     copyBuffers,
			// 0 still streams: ReverseProxy flushes every write of a text/event-stream or
			// unknown-length (chunked) response at once, while a fixed-length body goes out
			// without a flush syscall per write (-1 cost ~10 % of throughput).
			FlushInterval: 0,
			ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				if errors.Is(err, context.Canceled) {
					return // the client went away: nobody to answer
				}
				var prob httpserver.Problem
				var he *echo.HTTPError
				var mbe *http.MaxBytesError
				var ne net.Error
				switch {
				case (errors.As(err, &he) && he.Code == http.StatusRequestEntityTooLarge) || errors.As(err, &mbe):
					// A chunked body ran past the limit while it streamed upstream.
					prob = httpserver.ToProblem(echo.ErrStatusRequestEntityTooLarge)
				case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
					opts.Logger.WarnContext(r.Context(), "upstream failed", "upstream", name, "error", err)
					prob = httpserver.ToProblem(errTimeout)
					prob.Status, prob.Title = http.StatusGatewayTimeout, http.StatusText(http.StatusGatewayTimeout)
				default:
					opts.Logger.WarnContext(r.Context(), "upstream failed", "upstream", name, "error", err)
					// An upstream that cannot be reached even after the retries is an outage
					// (a restart, a replica gone): 503 with Retry-After.
					prob = httpserver.ToProblem(errBadGateway)
				}
				prob.Instance = r.URL.Path
				prob.RequestID = w.Header().Get(echo.HeaderXRequestID)
				httpserver.WriteProblem(problemWriter.NewContext(r, echo.NewResponse(w, nil)), prob)
			},
		}
		p.proxies[name] = rp
	}
	return p, nil
}

// copyBuffers lends the proxies their response-copy buffers. Without a pool ReverseProxy
// allocates and zeroes 32 KiB per request, which was the largest single CPU cost of the
// gateway in a flash sale (about a sixth of it).
var copyBuffers = &bufferPool{}

// bufferPool is an httputil.BufferPool over sync.Pool. It keeps pointers to slices so that
// giving a buffer back does not allocate a new slice header each time.
type bufferPool struct{ pool sync.Pool }

// copyBufferSize is ReverseProxy's own buffer size: larger bodies take several reads.
const copyBufferSize = 32 << 10

// Get returns a buffer of copyBufferSize bytes.
func (b *bufferPool) Get() []byte {
	if p, ok := b.pool.Get().(*[]byte); ok {
		return *p
	}
	return make([]byte, copyBufferSize)
}

// Put takes back a buffer that Get lent; other sizes are left to the collector.
func (b *bufferPool) Put(buf []byte) {
	if cap(buf) != copyBufferSize {
		return
	}
	buf = buf[:copyBufferSize]
	b.pool.Put(&buf)
}

// ownHeaders drops headers the gateway sets itself, so clients get each once (ReverseProxy
// adds upstream values beside the gateway's), and marks answers that carry a user's data
// or tokens as not storable by any cache.
func ownHeaders(resp *http.Response) error {
	resp.Header.Del(echo.HeaderXRequestID)
	resp.Header.Del("X-Content-Type-Options")
	if _, ok := assertion.FromContext(resp.Request.Context()); ok || strings.HasPrefix(resp.Request.URL.Path, "/api/v1/auth/") {
		resp.Header.Set("Cache-Control", "no-store")
	}
	return nil
}

// Handler forwards any matched path; unknown paths get 404 problem+json.
func (p *Proxy) Handler(c echo.Context) error {
	req := c.Request()
	rule, ok := route.Match(req.URL.Path)
	if !ok {
		return echo.ErrNotFound
	}
	rp := p.proxies[rule.Service]
	if rp == nil {
		return errBadGateway
	}
	// Identity is the gateway's to state: whatever X-User-* a client sent is dropped
	// (Sign below also replaces X-User-ID, X-User-Role and the assertion itself).
	for name := range req.Header {
		if strings.HasPrefix(name, "X-User-") {
			req.Header.Del(name)
		}
	}
	reqID := c.Response().Header().Get(echo.HeaderXRequestID)
	req.Header.Set(echo.HeaderXRequestID, reqID)
	id, _ := assertion.FromContext(req.Context())
	assertion.Sign(req.Header, p.secret, id, reqID, time.Now())
	// The transport may still read the request body (its end-of-body check) while the
	// response is copied back; without full duplex, net/http's server drains or closes
	// that body as soon as response headers go out, the transport's read fails, it drops
	// the upstream connection and the client gets a cut-off body.
	_ = http.NewResponseController(c.Response()).EnableFullDuplex()
	if err := replayableBody(req); err != nil {
		return err
	}
	rp.ServeHTTP(c.Response(), req)
	return nil
}

// Ready asks a service's /readyz.
func (p *Proxy) Ready(ctx context.Context, name string) error {
	u := p.upstreams[name]
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String()+"/readyz", nil)
	if err != nil {
		return err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("unreachable: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("not ready (HTTP %d)", resp.StatusCode)
	}
	return nil
}
