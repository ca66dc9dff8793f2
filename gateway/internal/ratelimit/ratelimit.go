// Package ratelimit limits request rates at the gateway with GCRA in Redis
// (go-redis/redis_rate), so every gateway replica shares one budget per client.
package ratelimit

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"evently.dev/libs/apperr"
	"evently.dev/libs/assertion"
)

// Policy is one named limit: Rate requests per Period, with bursts up to Rate.
type Policy struct {
	Name   string
	Rate   int
	Period time.Duration
}

// PerMinute is a policy of n requests a minute.
func PerMinute(name string, n int) Policy { return Policy{Name: name, Rate: n, Period: time.Minute} }

// Decision is a limiter's answer for one key.
type Decision struct {
	Policy     Policy
	Allowed    bool
	Remaining  int
	RetryAfter time.Duration
	ResetAfter time.Duration
}

// Limiter checks keys against policies in Redis. If Redis fails, requests pass: a
// ticketing front door that refuses every request because its limiter's store is down
// would turn a Redis outage into a full outage, so availability wins over limiting. The
// failure is logged (at most every ten seconds), and Redis is skipped for a second after
// a failure so requests do not each wait for the timeout.
type Limiter struct {
	rl        *redis_rate.Limiter
	timeout   time.Duration
	log       *slog.Logger
	downUntil atomic.Int64
	lastWarn  atomic.Int64
}

// New returns a limiter whose keys all start with prefix (REDIS_KEY_PREFIX).
func New(rdb redis.Scripter, prefix string, timeout time.Duration, log *slog.Logger) *Limiter {
	return &Limiter{rl: redis_rate.NewLimiter(prefixed{rdb, prefix}), timeout: timeout, log: log}
}

// Allow spends one request of key under p. ok is false when Redis could not answer and
// the request passed unchecked.
func (l *Limiter) Allow(ctx context.Context, p Policy, key string) (d Decision, ok bool) {
	d = Decision{Policy: p, Allowed: true, Remaining: p.Rate}
	now := time.Now().UnixNano()
	if now < l.downUntil.Load() {
		return d, false
	}
	if l.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, l.timeout)
		defer cancel()
	}
	res, err := l.rl.Allow(ctx, p.Name+":"+key, redis_rate.Limit{Rate: p.Rate, Burst: p.Rate, Period: p.Period})
	if err != nil {
		if errors.Is(ctx.Err(), context.Canceled) {
			return d, false // the client went away; not Redis's fault
		}
		l.downUntil.Store(now + int64(time.Second))
		if last := l.lastWarn.Load(); now-last > int64(10*time.Second) && l.lastWarn.CompareAndSwap(last, now) {
			l.log.WarnContext(ctx, "rate limiter cannot reach redis; letting requests through unlimited", "error", err)
		}
		return d, false
	}
	return Decision{Policy: p, Allowed: res.Allowed > 0, Remaining: res.Remaining, RetryAfter: res.RetryAfter,
		ResetAfter: res.ResetAfter}, true
}

// prefixed puts every key redis_rate uses under the environment's key prefix.
type prefixed struct {
	redis.Scripter
	prefix string
}

func (p prefixed) keys(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = p.prefix + k
	}
	return out
}

func (p prefixed) Eval(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	return p.Scripter.Eval(ctx, script, p.keys(keys), args...)
}

func (p prefixed) EvalSha(ctx context.Context, sha1 string, keys []string, args ...any) *redis.Cmd {
	return p.Scripter.EvalSha(ctx, sha1, p.keys(keys), args...)
}

func (p prefixed) EvalRO(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	return p.Scripter.EvalRO(ctx, script, p.keys(keys), args...)
}

func (p prefixed) EvalShaRO(ctx context.Context, sha1 string, keys []string, args ...any) *redis.Cmd {
	return p.Scripter.EvalShaRO(ctx, sha1, p.keys(keys), args...)
}

// Del is required by redis_rate's interface (for Reset, which the gateway never calls).
func (p prefixed) Del(ctx context.Context, keys ...string) *redis.IntCmd {
	cmd := redis.NewIntCmd(ctx)
	cmd.SetErr(errNoDel)
	return cmd
}

var errNoDel = apperr.New(apperr.KindInternal, "unsupported", "rate limit reset is not supported")

// Limits are the gateway's policies; a zero rate disables that policy.
type Limits struct {
	Global  Policy // every API request, per client IP
	Auth    Policy // /api/v1/auth/*, per client IP
	Booking Policy // writes on holds and bookings, per user
}

// IPMiddleware applies the per-IP policies before authentication, so floods and password
// guessing are cut off before any token or password work.
func IPMiddleware(l *Limiter, lim Limits) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ip := c.RealIP()
			checks := make([]check, 0, 2)
			if lim.Global.Rate > 0 {
				checks = append(checks, check{lim.Global, ip})
			}
			if lim.Auth.Rate > 0 && isAuthPath(c.Request().URL.Path) {
				checks = append(checks, check{lim.Auth, ip})
			}
			if err := apply(c, l, checks); err != nil {
				return err
			}
			return next(c)
		}
	}
}

// UserMiddleware applies the per-user policy on seat holds and bookings; it runs after
// authentication so the key is the verified user, not anything a client claims.
func UserMiddleware(l *Limiter, lim Limits) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if lim.Booking.Rate > 0 && isBookingWrite(req.Method, req.URL.Path) {
				if id, ok := assertion.FromContext(req.Context()); ok {
					if err := apply(c, l, []check{{lim.Booking, id.UserID}}); err != nil {
						return err
					}
				}
			}
			return next(c)
		}
	}
}

type check struct {
	p   Policy
	key string
}

// apply runs the checks and sets the RateLimit-* headers (IETF draft) for the tightest
// one; the first refusal answers 429 with Retry-After.
func apply(c echo.Context, l *Limiter, checks []check) error {
	h := c.Response().Header()
	tightest := -1
	for _, ch := range checks {
		d, ok := l.Allow(c.Request().Context(), ch.p, ch.key)
		if !ok {
			continue
		}
		if !d.Allowed {
			retry := seconds(d.RetryAfter)
			setHeaders(h, d)
			// GCRA's reset is when the whole burst is back; a refused client only needs
			// the next free slot, so both headers name that one wait.
			h.Set("Retry-After", strconv.Itoa(retry))
			h.Set("RateLimit-Reset", strconv.Itoa(retry))
			return ErrLimited.WithDetail("too many requests (%s limit: %d per %s); retry in %d s", d.Policy.Name, d.Policy.Rate,
				period(d.Policy.Period), retry).WithExtra("retry_after_seconds", retry)
		}
		if tightest < 0 || d.Remaining < tightest {
			tightest = d.Remaining
			setHeaders(h, d)
		}
	}
	return nil
}

// ErrLimited is the 429 problem.
var ErrLimited = apperr.New(apperr.KindRateLimited, "rate_limited", "too many requests")

func setHeaders(h http.Header, d Decision) {
	h.Set("RateLimit-Limit", strconv.Itoa(d.Policy.Rate))
	h.Set("RateLimit-Remaining", strconv.Itoa(max(d.Remaining, 0)))
	h.Set("RateLimit-Reset", strconv.Itoa(seconds(d.ResetAfter)))
	h.Set("RateLimit-Policy", strconv.Itoa(d.Policy.Rate)+";w="+strconv.Itoa(int(d.Policy.Period/time.Second)))
}

// seconds rounds up to whole seconds, at least 1 when d > 0, as HTTP headers want.
func seconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return max(1, int(math.Ceil(d.Seconds())))
}

func period(d time.Duration) string {
	if d == time.Minute {
		return "minute"
	}
	return d.String()
}

func isAuthPath(p string) bool {
	return p == "/api/v1/auth" || strings.HasPrefix(p, "/api/v1/auth/")
}

// isBookingWrite matches writes under /api/v1/seats/hold* and /api/v1/bookings*.
func isBookingWrite(method, p string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return strings.HasPrefix(p, "/api/v1/seats/hold") || strings.HasPrefix(p, "/api/v1/bookings")
}
