// Package httpserver is the Echo skeleton shared by every service and the gateway:
// request ids, recovery, body limits, timeouts, access logs, tracing, problem+json errors,
// health and readiness endpoints, an operators' admin listener (metrics, detailed
// readiness, profiler) kept off the public port, and graceful shutdown.
package httpserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"evently.dev/libs/apperr"
	"evently.dev/libs/logging"
	"evently.dev/libs/telemetry"
)

// Config holds the HTTP settings every service shares.
type Config struct {
	Addr string `envconfig:"HTTP_ADDR"`
	// AdminAddr is the operators' listener (metrics, detailed readiness, profiler). It is
	// separate so the public port, which a load balancer exposes, reveals no internals.
	// Empty means the process's default; "off" disables it.
	AdminAddr string `envconfig:"ADMIN_ADDR"`
	// Pprof mounts Go's profiler on the admin listener; off by default because profiles
	// reveal internals and cost CPU while taken.
	Pprof           bool          `envconfig:"PPROF_ENABLED" default:"false"`
	BodyLimit       string        `envconfig:"HTTP_BODY_LIMIT" default:"1M"`
	RequestTimeout  time.Duration `envconfig:"HTTP_REQUEST_TIMEOUT" default:"15s"`
	ShutdownTimeout time.Duration `envconfig:"HTTP_SHUTDOWN_TIMEOUT" default:"15s"`
	// DrainDelay is how long the listener keeps accepting after SIGTERM while /readyz
	// already answers 503, so a load balancer that polls readiness stops sending before
	// connections are refused. 0 closes the listener at once (fine without a balancer).
	DrainDelay time.Duration `envconfig:"HTTP_DRAIN_DELAY" default:"0s"`
}

// Check reports whether one dependency is usable; readiness runs them all.
type Check struct {
	Name string
	Fn   func(ctx context.Context) error
}

// Options describe one server.
type Options struct {
	Service string
	Config  Config
	Logger  *slog.Logger
	// Metrics is served at /metrics on the admin listener only.
	Metrics http.Handler
	Checks  []Check
	// SkipTimeout lists route paths (as registered) that stream and must not be cut off.
	SkipTimeout map[string]bool
}

// Server wraps an Echo instance with the shared middleware and lifecycle.
type Server struct {
	Echo   *echo.Echo
	opts   Options
	mu     sync.Mutex
	srv    *http.Server
	checks []Check
	admin  []adminRoute
	// draining is set when shutdown begins: readiness fails from then on, whatever the
	// dependencies say, so no new traffic is routed to a process that is leaving.
	draining atomic.Bool
}

// adminRoute is a handler a component mounted on the admin listener.
type adminRoute struct {
	pattern string
	handler http.Handler
}

// New builds the Echo instance with the shared middleware and system routes.
func New(opts Options) *Server {
	if opts.SkipTimeout == nil {
		opts.SkipTimeout = map[string]bool{}
	}
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = ErrorHandler(opts.Logger)
	e.Use(requestID, noSniff, plainQuery)
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			opts.Logger.ErrorContext(c.Request().Context(), "panic recovered", "error", err, "stack", string(stack))
			return err
		},
	}))
	if opts.Config.BodyLimit != "" {
		e.Use(middleware.BodyLimit(opts.Config.BodyLimit))
	}
	if opts.Config.RequestTimeout > 0 {
		e.Use(middleware.ContextTimeoutWithConfig(middleware.ContextTimeoutConfig{
			Timeout: opts.Config.RequestTimeout,
			Skipper: func(c echo.Context) bool { return opts.SkipTimeout[c.Path()] },
		}))
	}
	e.Use(accessLog(opts.Logger, metricsFor(telemetry.Tracing())))

	e.GET("/healthz", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"status": "ok", "service": opts.Service})
	})
	s := &Server{Echo: e, opts: opts, checks: append([]Check(nil), opts.Checks...)}
	// The public readiness answer is the verdict alone: which dependency failed and why
	// (addresses, driver errors) is for operators, on the admin listener.
	e.GET("/readyz", func(c echo.Context) error {
		_, ok := s.ready(c.Request().Context())
		return c.JSON(readyStatus(ok), map[string]string{"status": readyWord(ok)})
	})
	return s
}

// MaxRequestIDLength is the longest client-chosen X-Request-Id kept; longer ones are
// replaced, so logs, traces and problem bodies never carry a client's arbitrary text.
const MaxRequestIDLength = 64

// requestID keeps a short, safe X-Request-Id from the caller (letters, digits, "-", "_",
// ".", ":") so ids can be followed across the gateway and services, and replaces anything
// else with a fresh UUID; the id is set on the response exactly once.
func requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		id := req.Header.Get(echo.HeaderXRequestID)
		if !SafeRequestID(id) {
			id = uuid.NewString()
			req.Header.Set(echo.HeaderXRequestID, id)
		}
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		c.SetRequest(req.WithContext(logging.WithRequestID(req.Context(), id)))
		return next(c)
	}
}

// SafeRequestID reports whether a client-sent request id may be kept as it is.
func SafeRequestID(id string) bool {
	if id == "" || len(id) > MaxRequestIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		ch := id[i]
		ok := ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' ||
			ch == '-' || ch == '_' || ch == '.' || ch == ':'
		if !ok {
			return false
		}
	}
	return true
}

// queryTextError refuses a query parameter PostgreSQL could not take as text.
func queryTextError(name string) error {
	if !queryText(name) {
		name = "query"
	}
	return apperr.Validation(apperr.KindInvalid, apperr.FieldError{Field: name, Message: "must be UTF-8 text without NUL bytes"})
}

// plainQuery answers 400 to a query string with a NUL byte or invalid UTF-8 in any name or
// value: PostgreSQL refuses both in text, so a search or filter carrying one would fail
// as a 500 deep in a handler instead. Plain ASCII queries without escapes skip the check.
func plainQuery(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		raw := c.Request().URL.RawQuery
		if raw == "" || plainASCII(raw) {
			return next(c)
		}
		vals, err := url.ParseQuery(raw)
		if err != nil {
			return next(c) // malformed pairs are dropped by the query accessors, as before
		}
		for k, vs := range vals {
			if !queryText(k) {
				return queryTextError(k)
			}
			for _, v := range vs {
				if !queryText(v) {
					return queryTextError(k)
				}
			}
		}
		return next(c)
	}
}

func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' || s[i] >= 0x80 || s[i] == 0 {
			return false
		}
	}
	return true
}

func queryText(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// noSniff stops browsers from guessing a content type other than the declared one, so a
// JSON answer echoing user text can never be run as HTML or script.
func noSniff(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set("X-Content-Type-Options", "nosniff")
		return next(c)
	}
}

func (s *Server) ready(ctx context.Context) (map[string]string, bool) {
	if s.draining.Load() {
		return map[string]string{"shutdown": "draining"}, false
	}
	s.mu.Lock()
	checks := s.checks
	s.mu.Unlock()
	return RunChecks(ctx, checks)
}

func readyStatus(ok bool) int {
	if ok {
		return http.StatusOK
	}
	return http.StatusServiceUnavailable
}

// Drain marks the server as leaving: readiness answers 503 from now on. Serve calls it
// when its context ends; a process may call it earlier (e.g. on its own signal).
func (s *Server) Drain() { s.draining.Store(true) }

func readyWord(ok bool) string {
	if ok {
		return "ready"
	}
	return "not_ready"
}

// AdminAddrFor is the default admin address for a public address: the same host with the
// port plus 1000 (":8083" -> ":9083"), so every component's pair of ports is predictable.
func AdminAddrFor(public string) string {
	host, port, err := net.SplitHostPort(public)
	if err != nil {
		return ""
	}
	n, err := strconv.Atoi(port)
	if err != nil || n == 0 {
		return ""
	}
	return net.JoinHostPort(host, strconv.Itoa(n+1000))
}

// AdminHandler serves the operators' endpoints: /metrics, /healthz, /readyz with every
// check's result, and /debug/pprof/ when the profiler is enabled.
func (s *Server) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "service": s.opts.Service})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		res, ok := s.ready(r.Context())
		writeJSON(w, readyStatus(ok), map[string]any{"status": readyWord(ok), "service": s.opts.Service, "checks": res})
	})
	if s.opts.Metrics != nil {
		mux.Handle("GET /metrics", s.opts.Metrics)
	}
	s.mu.Lock()
	for _, r := range s.admin {
		mux.Handle(r.pattern, r.handler)
	}
	s.mu.Unlock()
	if s.opts.Config.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return mux
}

// Probe asks a running process's /readyz on addr (the admin address when it has one) and
// fails unless it answers 200. Images have no shell or curl, so container healthchecks
// run the binary itself: `<binary> healthcheck`.
func Probe(ctx context.Context, addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("healthcheck: address %q: %w", addr, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/readyz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: not ready (HTTP %d)", resp.StatusCode)
	}
	return nil
}

// ProbeAddr is where `healthcheck` asks: the admin listener, or the public one without it.
func (c Config) ProbeAddr() string {
	if c.AdminAddr != "" && c.AdminAddr != "off" {
		return c.AdminAddr
	}
	return c.Addr
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// NoTimeout exempts a route (as registered, e.g. "/api/v1/events/:id/availability/stream")
// from the request timeout, for streams that stay open. Call it before serving.
func (s *Server) NoTimeout(path string) { s.opts.SkipTimeout[path] = true }

// AddCheck adds a readiness check; components started after New register theirs here.
func (s *Server) AddCheck(name string, fn func(ctx context.Context) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks = append(append([]Check(nil), s.checks...), Check{Name: name, Fn: fn})
}

// HandleAdmin mounts h at pattern (net/http ServeMux syntax) on the admin listener, for
// operators' actions that must stay off the public port. Call it before serving.
func (s *Server) HandleAdmin(pattern string, h http.Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.admin = append(s.admin, adminRoute{pattern: pattern, handler: h})
}

// RunChecks runs every check with a short deadline and reports each result.
func RunChecks(ctx context.Context, checks []Check) (map[string]string, bool) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	res := make(map[string]string, len(checks))
	ok := true
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, ch := range checks {
		wg.Add(1)
		go func(ch Check) {
			defer wg.Done()
			err := ch.Fn(ctx)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res[ch.Name] = err.Error()
				ok = false
				return
			}
			res[ch.Name] = "ok"
		}(ch)
	}
	wg.Wait()
	return res, ok
}

// metricsFor returns the lean request metrics when otelhttp is left out (no span
// exporter), else nil: otelhttp records the same metric itself.
func metricsFor(tracing bool) *requestMetrics {
	if tracing {
		return nil
	}
	return newRequestMetrics()
}

func accessLog(log *slog.Logger, m *requestMetrics) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			path := c.Path()
			if path != "" && m == nil {
				// Only with otelhttp (m is nil then) is there a span to name and a labeler.
				// Name the span by route, as OTel's conventions ask: the raw path holds ids
				// and would give every request its own span name.
				trace.SpanFromContext(c.Request().Context()).SetName(c.Request().Method + " " + path)
				// The route also labels the request metrics, so dashboards can show the
				// latency of one endpoint (holds, confirms) rather than of the whole service.
				if l, ok := otelhttp.LabelerFromContext(c.Request().Context()); ok {
					l.Add(attribute.String("http.route", path))
				}
			}
			status := c.Response().Status
			m.record(c.Request().Context(), c.Request().Method, path, status, time.Since(start))
			if path == "/healthz" || path == "/readyz" {
				return nil
			}
			level := slog.LevelInfo
			if status >= 500 {
				level = slog.LevelError
			}
			log.Log(c.Request().Context(), level, "http request",
				"method", c.Request().Method, "route", path, "path", c.Request().URL.Path,
				"status", status, "duration_ms", float64(time.Since(start).Microseconds())/1000,
				"bytes", c.Response().Size, "remote_ip", c.RealIP())
			return nil
		}
	}
}

// Handler returns the http.Handler to serve. When spans are exported (telemetry.Tracing)
// it is traced by otelhttp; spans are named by method, and by route once Echo has routed
// the request (accessLog renames them). Otherwise the caller's trace context is only
// carried through and accessLog records the request metrics itself (see requestMetrics).
func (s *Server) Handler() http.Handler {
	if !telemetry.Tracing() {
		return propagated(s.Echo)
	}
	return otelhttp.NewHandler(s.Echo, s.opts.Service,
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method }))
}

// Run serves on addr until ctx ends, then drains in-flight requests.
func (s *Server) Run(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve is Run on an existing listener (tests pass one on port 0). When the configuration
// names an admin address, the admin listener runs alongside and stops with it; failing to
// bind it fails the start, so a port clash is noticed rather than leaving metrics dark.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if addr := s.opts.Config.AdminAddr; addr != "" && addr != "off" {
		aln, err := net.Listen("tcp", addr)
		if err != nil {
			_ = ln.Close()
			return fmt.Errorf("listen admin %s: %w", addr, err)
		}
		admin := &http.Server{Handler: s.AdminHandler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
		go func() {
			if err := admin.Serve(aln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.opts.Logger.Error("admin listener failed", "error", err)
			}
		}()
		// Closed after the public drain so metrics and readiness answer during it.
		defer func() { _ = admin.Close() }()
		s.opts.Logger.Info("admin listener", "addr", aln.Addr().String(), "pprof", s.opts.Config.Pprof)
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	errCh := make(chan error, 1)
	go func() { errCh <- srv.Serve(ln) }()
	s.opts.Logger.Info("http server listening", "addr", ln.Addr().String())
	select {
	case err := <-errCh:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	case <-ctx.Done():
	}
	return s.drain(srv, errCh)
}

// drain is the shutdown order: readiness turns not-ready at once; the listener keeps
// accepting for DrainDelay so a balancer notices; then it closes, and in-flight requests
// get up to ShutdownTimeout to finish (their contexts are not cancelled by the signal).
func (s *Server) drain(srv *http.Server, served <-chan error) error {
	s.Drain()
	s.opts.Logger.Info("draining", "delay", s.opts.Config.DrainDelay, "timeout", s.opts.Config.ShutdownTimeout)
	if d := s.opts.Config.DrainDelay; d > 0 {
		select {
		case <-time.After(d):
		case err := <-served: // the listener failed meanwhile: nothing left to drain
			if errors.Is(err, http.ErrServerClosed) {
				return nil
			}
			return err
		}
	}
	timeout := s.opts.Config.ShutdownTimeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	s.opts.Logger.Info("http drained")
	return nil
}
