// Package microcache keeps public read answers for a moment at the gateway. During an
// on-sale rush thousands of clients ask for the same event and the same availability
// counts every second; answering them from memory for a fraction of a second (with an
// ETag, so a client that has the answer gets 304) spares the upstream hop and the
// service's work, which is what lets a gateway beat a bare reverse proxy on reads.
//
// Only GET answers of the listed paths with status 200 are kept, keyed by path and query,
// the caller's role (an admin may see more than a user) and whether the client accepts
// gzip. Concurrent misses of one key make one upstream call; the others wait for it. A
// request with Cache-Control: no-cache is always forwarded (and refreshes the entry).
package microcache

import (
	"bytes"
	"hash/fnv"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"evently.dev/libs/assertion"
	"evently.dev/libs/httpserver"
)

// Rule is one cacheable path pattern and how long its answers are kept.
type Rule struct {
	Pattern *regexp.Regexp
	TTL     time.Duration
}

// Options configures a Cache.
type Options struct {
	Rules []Rule
	// MaxEntries bounds memory; the cache starts over when it is full [4096].
	MaxEntries int
	// MaxBody is the largest answer kept, in bytes [4 MiB: a 100,000-seat map, gzipped].
	MaxBody int
	// MaxBytes bounds the bodies kept in all; the cache starts over when a new answer
	// would pass it [64 MiB].
	MaxBytes int
}

type entry struct {
	status  int
	header  http.Header
	body    []byte
	etag    string
	expires time.Time
}

type flight struct {
	done chan struct{}
	e    *entry
}

// Cache is the middleware's state; it is safe for concurrent use.
type Cache struct {
	opts    Options
	mu      sync.Mutex
	entries map[string]*entry
	bytes   int // the bodies in entries
	flights map[string]*flight
	now     func() time.Time
}

// New builds a Cache.
func New(opts Options) *Cache {
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = 4096
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = 4 << 20
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 64 << 20
	}
	return &Cache{opts: opts, entries: map[string]*entry{}, flights: map[string]*flight{}, now: time.Now}
}

// headers copied from an upstream answer into a kept one; per-request headers such as
// X-Request-Id and the rate-limit ones are the gateway's to set for each request.
var kept = []string{echo.HeaderContentType, echo.HeaderContentEncoding, echo.HeaderVary, echo.HeaderLastModified}

// Middleware answers cacheable requests from the cache and fills it from next.
func (c *Cache) Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(ec echo.Context) error {
			req := ec.Request()
			if req.Method != http.MethodGet {
				return next(ec)
			}
			ttl, ok := c.ttl(req.URL.Path)
			if !ok {
				return next(ec)
			}
			key := c.key(req)
			if cc := req.Header.Get(echo.HeaderCacheControl); strings.Contains(cc, "no-cache") || strings.Contains(cc, "no-store") {
				// The client wants the service's own answer (RFC 9111 §5.2.1.4); it also
				// refreshes what others are served.
				c.mu.Lock()
				if _, busy := c.flights[key]; busy {
					c.mu.Unlock()
					return next(ec)
				}
				f := &flight{done: make(chan struct{})}
				c.flights[key] = f
				c.mu.Unlock()
				return c.fill(ec, next, key, ttl, f)
			}
			for {
				c.mu.Lock()
				if e, hit := c.entries[key]; hit && c.now().Before(e.expires) {
					c.mu.Unlock()
					return serve(ec, e)
				}
				f, busy := c.flights[key]
				if !busy {
					f = &flight{done: make(chan struct{})}
					c.flights[key] = f
					c.mu.Unlock()
					return c.fill(ec, next, key, ttl, f)
				}
				c.mu.Unlock()
				select {
				case <-f.done:
				case <-req.Context().Done():
					return req.Context().Err()
				}
				if f.e == nil { // the leader's answer was not cacheable: ask upstream ourselves
					return next(ec)
				}
			}
		}
	}
}

// fill forwards the request, keeps a cacheable answer and wakes the waiters.
func (c *Cache) fill(ec echo.Context, next echo.HandlerFunc, key string, ttl time.Duration, f *flight) error {
	rec := &recorder{ResponseWriter: ec.Response().Writer, max: c.opts.MaxBody}
	ec.Response().Writer = rec
	err := next(ec)
	ec.Response().Writer = rec.ResponseWriter
	var e *entry
	if err == nil && rec.status == http.StatusOK && !rec.overflow {
		e = &entry{status: rec.status, header: http.Header{}, body: rec.buf.Bytes(), expires: c.now().Add(ttl)}
		for _, h := range kept {
			if v := rec.Header().Values(h); len(v) > 0 {
				e.header[h] = append([]string(nil), v...)
			}
		}
		e.etag = etag(e.body)
	}
	c.mu.Lock()
	delete(c.flights, key)
	if e != nil {
		if old, ok := c.entries[key]; ok {
			c.bytes -= len(old.body)
			delete(c.entries, key)
		}
		if len(c.entries) >= c.opts.MaxEntries || c.bytes+len(e.body) > c.opts.MaxBytes {
			clear(c.entries)
			c.bytes = 0
		}
		c.entries[key] = e
		c.bytes += len(e.body)
	}
	f.e = e
	c.mu.Unlock()
	close(f.done)
	return err
}

func (c *Cache) ttl(path string) (time.Duration, bool) {
	for _, r := range c.opts.Rules {
		if r.Pattern.MatchString(path) {
			return r.TTL, r.TTL > 0
		}
	}
	return 0, false
}

func (c *Cache) key(req *http.Request) string {
	role := "anonymous"
	if id, ok := assertion.FromContext(req.Context()); ok {
		role = id.Role
	}
	gz := "plain"
	if httpserver.AcceptsGzip(req.Header.Get(echo.HeaderAcceptEncoding)) {
		gz = "gzip"
	}
	return role + " " + gz + " " + req.URL.RequestURI()
}

// serve writes a kept answer, or 304 when the client holds it already.
func serve(ec echo.Context, e *entry) error {
	h := ec.Response().Header()
	for k, v := range e.header {
		h[k] = v
	}
	h.Set("ETag", e.etag)
	h.Set("X-Cache", "HIT")
	if match := ec.Request().Header.Get("If-None-Match"); match != "" && match == e.etag {
		h.Del(echo.HeaderContentType)
		h.Del(echo.HeaderContentEncoding)
		return ec.NoContent(http.StatusNotModified)
	}
	h.Set(echo.HeaderContentLength, strconv.Itoa(len(e.body)))
	ec.Response().WriteHeader(e.status)
	_, err := ec.Response().Write(e.body)
	return err
}

func etag(b []byte) string {
	h := fnv.New64a()
	_, _ = h.Write(b)
	return `"` + strconv.FormatUint(h.Sum64(), 36) + `"`
}

// recorder passes an answer through to the client while keeping a copy of its body.
type recorder struct {
	http.ResponseWriter
	status   int
	buf      bytes.Buffer
	max      int
	overflow bool
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
		if code == http.StatusOK {
			r.Header().Set("X-Cache", "MISS")
		}
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
	if !r.overflow {
		if r.buf.Len()+len(b) > r.max {
			r.overflow = true
			r.buf = bytes.Buffer{}
		} else {
			r.buf.Write(b)
		}
	}
	return r.ResponseWriter.Write(b)
}

// Flush lets streamed answers through (they are never kept: they overflow or are not 200).
func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController the underlying writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
