// Package gateway assembles the gateway's HTTP server from its parts — CORS, client-IP
// resolution, rate limits, token verification, the proxy, /health and the docs — so the
// binary and the benchmark run exactly the same handler chain.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/redis/go-redis/v9"

	"evently.dev/libs/httpserver"

	"evently.dev/gateway/internal/auth"
	"evently.dev/gateway/internal/config"
	"evently.dev/gateway/internal/docs"
	"evently.dev/gateway/internal/microcache"
	"evently.dev/gateway/internal/proxy"
	"evently.dev/gateway/internal/ratelimit"
)

// Deps are the parts built outside: the logger, the metrics endpoint and, for tests and
// benchmarks, a key source that replaces the JWKS fetched from identity.
type Deps struct {
	Log     *slog.Logger
	Metrics http.Handler
	Version string
	Keys    auth.KeySource
}

// Gateway is a ready-to-serve gateway and what must be closed with it.
type Gateway struct {
	Server *httpserver.Server
	Redis  *redis.Client
	JWKS   *auth.JWKS
	// Revocations is the in-memory copy of revoked sessions that Serve keeps in sync.
	Revocations *auth.Revocations
	// Streams counts the open availability streams against their caps.
	Streams *ratelimit.Streams

	upstreamReport func(ctx context.Context) (map[string]any, bool)
}

// UpstreamReport is the detailed health view (each service's readiness, its URL and the
// failure) for an operator-only listener; ok is false when anything is not ready.
func (g *Gateway) UpstreamReport(ctx context.Context) (report map[string]any, ok bool) {
	return g.upstreamReport(ctx)
}

// New builds the server. It starts nothing: Run serves and keeps the JWKS fresh.
func New(cfg config.Config, d Deps) (*Gateway, error) {
	// Upstream timeouts bound proxied calls; a whole-request timeout would cut SSE streams.
	cfg.HTTP.RequestTimeout = 0
	px, err := proxy.New(proxy.Options{Upstreams: cfg.Upstreams(), Secret: cfg.Assertion.Secret,
		Timeout: cfg.UpstreamTimeout, MaxIdlePerHost: cfg.UpstreamMaxIdlePerHost, Logger: d.Log,
		Retries: cfg.UpstreamRetries, RetryBackoff: cfg.UpstreamRetryBackoff})
	if err != nil {
		return nil, err
	}
	srv := httpserver.New(httpserver.Options{Service: "gateway", Config: cfg.HTTP, Logger: d.Log, Metrics: d.Metrics})
	e := srv.Echo
	extractor, err := IPExtractor(cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}
	e.IPExtractor = extractor
	cors, err := CORS(cfg.CORS)
	if err != nil {
		return nil, err
	}
	e.Use(cors)

	rdb := RedisClient(cfg)
	// Readiness is the gateway's own dependency only: tying it to every upstream would take
	// the whole front door out of rotation when one service restarts (UpstreamReport has them).
	srv.AddCheck("redis", func(ctx context.Context) error { return rdb.Ping(ctx).Err() })
	limiter := ratelimit.New(rdb, cfg.Redis.KeyPrefix, cfg.RateLimit.RedisTimeout, d.Log)
	limits := ratelimit.Limits{}
	if cfg.RateLimit.Enabled {
		limits = ratelimit.Limits{Global: ratelimit.PerMinute("global", cfg.RateLimit.GlobalPerMinute),
			Auth:    ratelimit.PerMinute("auth", cfg.RateLimit.AuthPerMinute),
			Booking: ratelimit.PerMinute("booking", cfg.RateLimit.BookingPerMinute)}
	}

	g := &Gateway{Server: srv, Redis: rdb}
	keys := d.Keys
	if keys == nil {
		g.JWKS = auth.NewJWKS(auth.JWKSOptions{URL: cfg.JWKS(), RefreshInterval: cfg.Auth.JWKSRefreshInterval,
			MinInterval: cfg.Auth.JWKSMinRefreshInterval, Logger: d.Log})
		keys = g.JWKS
		jwks := g.JWKS
		// Without verification keys every signed-in request would be refused: not ready.
		srv.AddCheck("jwks", func(context.Context) error {
			if !jwks.Loaded() {
				return errors.New("verification keys not loaded from identity yet")
			}
			return nil
		})
	}
	g.Revocations = auth.NewRevocations(rdb, cfg.Redis.KeyPrefix, d.Log)
	verifier := &auth.Verifier{Keys: keys, Issuer: cfg.Auth.Issuer, Audience: cfg.Auth.Audience, Leeway: cfg.Auth.Leeway,
		Cache: auth.NewVerifiedCache(cfg.Auth.VerifyCacheSize), Revocations: g.Revocations}

	upstreams := cfg.Upstreams()
	g.upstreamReport = func(ctx context.Context) (map[string]any, bool) {
		checks := make([]httpserver.Check, 0, len(upstreams))
		for name := range upstreams {
			checks = append(checks, httpserver.Check{Name: name, Fn: func(ctx context.Context) error { return px.Ready(ctx, name) }})
		}
		res, ok := httpserver.RunChecks(ctx, checks)
		services := map[string]map[string]string{}
		for name, r := range res {
			st := "ready"
			if r != "ok" {
				st = "not_ready"
			}
			services[name] = map[string]string{"status": st, "detail": r, "url": upstreams[name]}
		}
		self := "ok"
		if g.JWKS != nil && !g.JWKS.Loaded() {
			self, ok = "verification keys not loaded from identity yet", false
		}
		return map[string]any{"gateway": self, "services": services}, ok
	}
	// The public /health says only whether the system answers: which services exist, where
	// they listen and why one fails is for operators (UpstreamReport), not for anyone on
	// the internet.
	e.GET("/health", func(c echo.Context) error {
		if _, ok := g.UpstreamReport(c.Request().Context()); !ok {
			return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "degraded"})
		}
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	})
	if err := docs.Register(e, d.Version, func(msg string, args ...any) { d.Log.Warn(msg, args...) }); err != nil {
		return nil, err
	}
	// Per-IP limits run before token checks so floods and password guessing stop early;
	// the per-user limit needs the verified user, so it runs after.
	g.Streams = ratelimit.NewStreams(cfg.RateLimit.StreamsPerClient, cfg.RateLimit.StreamsTotal)
	chain := []echo.MiddlewareFunc{ratelimit.IPMiddleware(limiter, limits), g.Streams.Middleware, auth.Middleware(verifier),
		ratelimit.UserMiddleware(limiter, limits)}
	if cfg.ReadCacheTTL > 0 {
		// After the token check: an answer is kept per role, and only for callers let in.
		chain = append(chain, microcache.New(microcache.Options{Rules: []microcache.Rule{
			{Pattern: regexp.MustCompile(`^/api/v1/events/[0-9a-fA-F-]{36}(/availability|/venue/layout)?$`), TTL: cfg.ReadCacheTTL},
		}}).Middleware())
	}
	e.Any("/api/*", px.Handler, chain...)
	e.Any("/.well-known/*", px.Handler, chain...)
	return g, nil
}

// Serve runs the gateway on ln until ctx ends.
func (g *Gateway) Serve(ctx context.Context, ln net.Listener) error {
	defer g.Redis.Close()
	if g.JWKS != nil {
		go g.JWKS.Start(ctx)
	}
	go g.Revocations.Run(ctx)
	return g.Server.Serve(ctx, ln)
}

// RedisClient connects lazily, so start-up does not fail with Redis down: limits fail
// open and the client reconnects when Redis returns. Deadlines come from each call's
// context so a hung Redis cannot stall requests.
func RedisClient(cfg config.Config) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: cfg.Redis.Addr, Password: cfg.Redis.Password, DB: cfg.Redis.DB,
		PoolSize: cfg.Redis.PoolSize, MinIdleConns: 4, DialTimeout: time.Second, ReadTimeout: time.Second,
		WriteTimeout: time.Second, ContextTimeoutEnabled: true})
}

// IPExtractor believes X-Forwarded-For only from the configured proxies; anyone else's
// address is the client address, so clients cannot choose the IP they are limited by.
func IPExtractor(cidrs []string) (echo.IPExtractor, error) {
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	n := 0
	for _, c := range cidrs {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		_, ipnet, err := net.ParseCIDR(c)
		if err != nil {
			return nil, fmt.Errorf("TRUSTED_PROXIES: %q is not a CIDR: %w", c, err)
		}
		opts = append(opts, echo.TrustIPRange(ipnet))
		n++
	}
	if n == 0 {
		return echo.ExtractIPDirect(), nil
	}
	return echo.ExtractIPFromXFFHeader(opts...), nil
}

// CORS answers browsers from the allow-list only; "*" is refused with credentials.
func CORS(c config.CORS) (echo.MiddlewareFunc, error) {
	origins := make([]string, 0, len(c.AllowedOrigins))
	for _, o := range c.AllowedOrigins {
		if o = strings.TrimSpace(o); o != "" {
			origins = append(origins, o)
		}
	}
	if c.AllowCredentials && slices.Contains(origins, "*") {
		return nil, fmt.Errorf("CORS_ALLOWED_ORIGINS may not contain * when CORS_ALLOW_CREDENTIALS is true")
	}
	if len(origins) == 0 {
		return func(next echo.HandlerFunc) echo.HandlerFunc { return next }, nil
	}
	return middleware.CORSWithConfig(middleware.CORSConfig{
		AllowOrigins:     origins,
		AllowMethods:     []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete},
		AllowHeaders:     []string{echo.HeaderAuthorization, echo.HeaderContentType, "Idempotency-Key", echo.HeaderXRequestID, "traceparent", "tracestate"},
		ExposeHeaders:    []string{echo.HeaderXRequestID, "Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", echo.HeaderLocation, echo.HeaderWWWAuthenticate},
		AllowCredentials: c.AllowCredentials,
		MaxAge:           c.MaxAge,
	}), nil
}
