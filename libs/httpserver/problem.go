package httpserver

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"evently.dev/libs/apperr"
	"evently.dev/libs/pg"
)

// ProblemContentType is the RFC 9457 media type of every error body.
const ProblemContentType = "application/problem+json"

// Problem is an RFC 9457 problem document with Evently's stable code and field errors.
type Problem struct {
	Type      string              `json:"type"`
	Title     string              `json:"title"`
	Status    int                 `json:"status"`
	Detail    string              `json:"detail"`
	Code      string              `json:"code"`
	Instance  string              `json:"instance,omitempty"`
	RequestID string              `json:"request_id,omitempty"`
	Errors    []apperr.FieldError `json:"errors,omitempty"`
	Extra     map[string]any      `json:"-"`
}

// MarshalJSON flattens Extra members into the top-level object, as RFC 9457 allows.
func (p Problem) MarshalJSON() ([]byte, error) {
	type plain Problem
	b, err := json.Marshal(plain(p))
	if err != nil || len(p.Extra) == 0 {
		return b, err
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for k, v := range p.Extra {
		if _, taken := m[k]; !taken {
			m[k] = v
		}
	}
	return json.Marshal(m)
}

// ProblemTypeBase prefixes every problem type URI; the code completes it.
const ProblemTypeBase = "https://evently.dev/problems/"

var kindStatus = map[apperr.Kind]int{
	apperr.KindInternal:        http.StatusInternalServerError,
	apperr.KindInvalid:         http.StatusBadRequest,
	apperr.KindUnprocessable:   http.StatusUnprocessableEntity,
	apperr.KindNotFound:        http.StatusNotFound,
	apperr.KindConflict:        http.StatusConflict,
	apperr.KindUnauthenticated: http.StatusUnauthorized,
	apperr.KindForbidden:       http.StatusForbidden,
	apperr.KindTooLarge:        http.StatusRequestEntityTooLarge,
	apperr.KindRateLimited:     http.StatusTooManyRequests,
	apperr.KindUnavailable:     http.StatusServiceUnavailable,
	apperr.KindPaymentRequired: http.StatusPaymentRequired,
}

// statusCode names the generic code used for plain HTTP errors (routing, framework).
var statusCode = map[int]string{
	http.StatusBadRequest:            "bad_request",
	http.StatusUnauthorized:          "unauthenticated",
	http.StatusForbidden:             "forbidden",
	http.StatusNotFound:              "not_found",
	http.StatusMethodNotAllowed:      "method_not_allowed",
	http.StatusRequestEntityTooLarge: "body_too_large",
	http.StatusUnsupportedMediaType:  "unsupported_media_type",
	http.StatusTooManyRequests:       "rate_limited",
	http.StatusServiceUnavailable:    "unavailable",
	http.StatusGatewayTimeout:        "timeout",
	http.StatusBadGateway:            "bad_gateway",
}

// ToProblem maps any error to the problem document a client sees. Internal errors get a
// generic detail: their text may leak internals.
func ToProblem(err error) Problem {
	if ae, ok := apperr.As(err); ok {
		status := kindStatus[ae.Kind]
		if status == 0 {
			status = http.StatusInternalServerError
		}
		if status == http.StatusInternalServerError {
			if dependencyDown(err) {
				return unavailableProblem()
			}
			return internalProblem()
		}
		return Problem{Type: ProblemTypeBase + ae.Code, Title: http.StatusText(status), Status: status,
			Detail: ae.Detail, Code: ae.Code, Errors: ae.Fields, Extra: ae.Extra}
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		status := he.Code
		if status >= 500 && status != http.StatusServiceUnavailable && status != http.StatusGatewayTimeout && status != http.StatusBadGateway {
			return internalProblem()
		}
		code := statusCode[status]
		if code == "" {
			code = strings.ToLower(strings.ReplaceAll(http.StatusText(status), " ", "_"))
		}
		detail := http.StatusText(status)
		if msg, ok := he.Message.(string); ok && msg != "" {
			detail = msg
		}
		if status == http.StatusRequestEntityTooLarge {
			detail = "the request body is too large"
		}
		return Problem{Type: ProblemTypeBase + code, Title: http.StatusText(status), Status: status, Detail: detail, Code: code}
	}
	if dependencyDown(err) {
		return unavailableProblem()
	}
	return internalProblem()
}

func unavailableProblem() Problem {
	return Problem{Type: ProblemTypeBase + "dependency_unavailable", Title: http.StatusText(http.StatusServiceUnavailable),
		Status: http.StatusServiceUnavailable, Code: "dependency_unavailable",
		Detail: "a server this request needs is restarting or unreachable; retry shortly"}
}

// dependencyDown reports an error of reaching PostgreSQL or Redis (restarting, loading,
// unreachable) that no use case turned into an answer: an outage, not a bug, so the
// client is told to come back instead of getting a 500.
func dependencyDown(err error) bool {
	return pg.IsUnavailable(err) || errors.Is(err, redis.ErrClosed) || errors.Is(err, redis.ErrPoolTimeout) ||
		redis.HasErrorPrefix(err, "LOADING") || redis.HasErrorPrefix(err, "MASTERDOWN")
}

func internalProblem() Problem {
	return Problem{Type: ProblemTypeBase + "internal", Title: http.StatusText(500), Status: 500,
		Detail: "an unexpected error occurred; it has been logged", Code: "internal"}
}

// ErrorHandler writes every error as problem+json and logs server-side failures once,
// with the request id, here and nowhere else.
func ErrorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		p := ToProblem(err)
		p.Instance = c.Request().URL.Path
		p.RequestID = c.Response().Header().Get(echo.HeaderXRequestID)
		if p.Status >= 500 {
			log.ErrorContext(c.Request().Context(), "request failed", "error", err.Error(),
				"method", c.Request().Method, "path", c.Path())
		}
		WriteProblem(c, p)
	}
}

// RetryAfterSeconds is the Retry-After of a 503 that does not set its own: long enough
// for a restarting dependency, short enough that a client does not give up on a sale.
const RetryAfterSeconds = 2

// WriteProblem sends p with the problem media type; HEAD requests get headers only. A 503
// always carries Retry-After.
func WriteProblem(c echo.Context, p Problem) {
	c.Response().Header().Set(echo.HeaderContentType, ProblemContentType)
	if p.Status == http.StatusServiceUnavailable && c.Response().Header().Get("Retry-After") == "" {
		c.Response().Header().Set("Retry-After", strconv.Itoa(RetryAfterSeconds))
	}
	if c.Request().Method == http.MethodHead {
		c.Response().WriteHeader(p.Status)
		return
	}
	b, err := json.Marshal(p)
	if err != nil {
		c.Response().WriteHeader(http.StatusInternalServerError)
		return
	}
	c.Response().WriteHeader(p.Status)
	_, _ = c.Response().Write(b)
}
