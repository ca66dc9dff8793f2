package ratelimit

import (
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"

	"evently.dev/libs/apperr"
)

// Streams caps concurrent Server-Sent-Events streams on this gateway replica, per client
// IP and in total: a stream holds a connection, a goroutine and an upstream subscription
// for as long as the client likes, so the per-minute limits, which count requests, do not
// bound them. Counting is in memory: a stream lives on one replica, and a crash ends it.
type Streams struct {
	perClient, total int

	mu       sync.Mutex
	n        int
	byClient map[string]int
}

// NewStreams caps streams at perClient per IP and total overall; 0 disables a cap.
func NewStreams(perClient, total int) *Streams {
	return &Streams{perClient: perClient, total: total, byClient: map[string]int{}}
}

var (
	errTooManyStreams = apperr.New(apperr.KindRateLimited, "too_many_streams",
		"this client has too many open availability streams; close one first")
	errStreamsFull = apperr.New(apperr.KindUnavailable, "streams_full",
		"the server holds as many availability streams as it can; retry shortly")
)

// StreamRetrySeconds is the Retry-After on a refused stream.
const StreamRetrySeconds = 5

// IsStream matches the availability stream route.
func IsStream(method, path string) bool {
	return method == http.MethodGet && strings.HasPrefix(path, "/api/v1/events/") && strings.HasSuffix(path, "/availability/stream")
}

// Middleware admits a stream when both caps allow it and frees its slot when it ends.
func (s *Streams) Middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		if !IsStream(req.Method, req.URL.Path) {
			return next(c)
		}
		ip := c.RealIP()
		if err := s.acquire(ip); err != nil {
			c.Response().Header().Set("Retry-After", strconv.Itoa(StreamRetrySeconds))
			return err
		}
		defer s.release(ip)
		return next(c)
	}
}

func (s *Streams) acquire(ip string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.perClient > 0 && s.byClient[ip] >= s.perClient {
		return errTooManyStreams.WithDetail("this client has %d open availability streams, the most allowed; close one first", s.perClient).
			WithExtra("retry_after_seconds", StreamRetrySeconds)
	}
	if s.total > 0 && s.n >= s.total {
		return errStreamsFull
	}
	s.n++
	s.byClient[ip]++
	return nil
}

func (s *Streams) release(ip string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n--
	if s.byClient[ip]--; s.byClient[ip] <= 0 {
		delete(s.byClient, ip)
	}
}

// Open is how many streams are open now.
func (s *Streams) Open() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}
