package httpserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"context"
	"evently.dev/libs/apperr"
	"evently.dev/libs/logging"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/redis/go-redis/v9"
	"log/slog"
	"net"
	"time"
)

var errSeatTaken = apperr.New(apperr.KindConflict, "seat_taken", "a seat is taken")

func TestToProblemMapping(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantCode   string
		wantDetail string
	}{
		{"invalid", apperr.ErrInvalidJSON, 400, "invalid_json", "the request body is not valid JSON"},
		{"validation", apperr.Fields{{Field: "name", Message: "is required"}}.Err(), 422, "validation_failed", "name: is required"},
		{"not found wrapped", fmt.Errorf("load booking 1: %w", apperr.ErrNotFound), 404, "not_found", "the resource does not exist"},
		{"conflict sentinel", fmt.Errorf("hold: %w", errSeatTaken), 409, "seat_taken", "a seat is taken"},
		{"unauthenticated", apperr.ErrUnauthenticated, 401, "unauthenticated", "a valid access token is required"},
		{"forbidden", apperr.ErrForbidden, 403, "forbidden", "you may not do this"},
		{"too large", apperr.ErrTooLarge, 413, "body_too_large", "the request body is too large"},
		{"rate limited", apperr.New(apperr.KindRateLimited, "rate_limited", "slow down"), 429, "rate_limited", "slow down"},
		{"unavailable", apperr.New(apperr.KindUnavailable, "unavailable", "try later"), 503, "unavailable", "try later"},
		{"internal apperr hides detail", apperr.New(apperr.KindInternal, "boom", "secret db text"), 500, "internal", "an unexpected error occurred; it has been logged"},
		{"plain error hides detail", errors.New("pq: password authentication failed"), 500, "internal", "an unexpected error occurred; it has been logged"},
		{"echo 404", echo.ErrNotFound, 404, "not_found", "Not Found"},
		{"echo 405", echo.ErrMethodNotAllowed, 405, "method_not_allowed", "Method Not Allowed"},
		{"echo 413", echo.ErrStatusRequestEntityTooLarge, 413, "body_too_large", "the request body is too large"},
		{"echo 500 hides detail", echo.NewHTTPError(500, "stack"), 500, "internal", "an unexpected error occurred; it has been logged"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := ToProblem(tc.err)
			if p.Status != tc.wantStatus || p.Code != tc.wantCode || p.Detail != tc.wantDetail {
				t.Fatalf("got %d %q %q, want %d %q %q", p.Status, p.Code, p.Detail, tc.wantStatus, tc.wantCode, tc.wantDetail)
			}
			if p.Type != ProblemTypeBase+tc.wantCode || p.Title != http.StatusText(tc.wantStatus) {
				t.Fatalf("type/title wrong: %+v", p)
			}
		})
	}
}

func TestProblemExtraMembersAndFieldsAreSerialised(t *testing.T) {
	err := errSeatTaken.WithExtra("conflicting_seat_ids", []string{"A-1"})
	if !errors.Is(err, errSeatTaken) {
		t.Fatal("copy must still match its sentinel")
	}
	b, _ := json.Marshal(ToProblem(err))
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	if ids, ok := m["conflicting_seat_ids"].([]any); !ok || ids[0] != "A-1" {
		t.Fatalf("extra member missing: %s", b)
	}
	b, _ = json.Marshal(ToProblem(apperr.Fields{{Field: "email", Message: "is required"}}.Err()))
	if !strings.Contains(string(b), `"errors":[{"field":"email","message":"is required"}]`) {
		t.Fatalf("field errors missing: %s", b)
	}
}

func TestServerWritesProblemJSONForBadInput(t *testing.T) {
	var sb strings.Builder
	s := New(Options{Service: "test", Logger: logging.NewTo(&sb, "test", "error"), Config: Config{BodyLimit: "1K"}})
	type body struct {
		Name  string `json:"name"`
		Count int    `json:"count"`
	}
	s.Echo.POST("/things", func(c echo.Context) error {
		var b body
		if err := BindJSON(c, &b); err != nil {
			return err
		}
		return c.JSON(201, b)
	})
	s.Echo.GET("/boom", func(c echo.Context) error { panic("kaboom") })
	s.Echo.GET("/things/:id", func(c echo.Context) error {
		if _, err := PathUUID(c, "id"); err != nil {
			return err
		}
		return c.NoContent(204)
	})
	cases := []struct {
		name, method, path, body string
		want                     int
		wantCode                 string
	}{
		{"malformed json", "POST", "/things", `{"name":`, 400, "invalid_json"},
		{"wrong type", "POST", "/things", `{"name":"x","count":"many"}`, 400, "validation_failed"},
		{"unknown field", "POST", "/things", `{"nme":"x"}`, 400, "validation_failed"},
		{"trailing data", "POST", "/things", `{"name":"x"} {}`, 400, "invalid_json"},
		{"empty body", "POST", "/things", ``, 400, "invalid_json"},
		{"oversize", "POST", "/things", `{"name":"` + strings.Repeat("x", 4096) + `"}`, 413, "body_too_large"},
		{"bad uuid", "GET", "/things/not-a-uuid", ``, 400, "validation_failed"},
		{"panic", "GET", "/boom", ``, 500, "internal"},
		{"no route", "GET", "/nothing", ``, 404, "not_found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.want, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != ProblemContentType {
				t.Fatalf("content type %q", ct)
			}
			var p map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p["code"] != tc.wantCode {
				t.Fatalf("body %s, want code %s", rec.Body, tc.wantCode)
			}
		})
	}
	if !strings.Contains(sb.String(), "kaboom") {
		t.Fatal("panic was not logged")
	}
}

func FuzzDecodeJSON(f *testing.F) {
	f.Add(`{"name":"x","count":1}`)
	f.Add(`{"name":`)
	f.Add(`[]`)
	f.Add(`{"count":1e400}`)
	f.Fuzz(func(t *testing.T, s string) {
		var b struct {
			Name  string `json:"name"`
			Count int    `json:"count"`
		}
		err := DecodeJSON(strings.NewReader(s), &b)
		if err != nil {
			if p := ToProblem(err); p.Status >= 500 {
				t.Fatalf("decoder error mapped to %d for %q: %v", p.Status, s, err)
			}
		}
	})
}

// An outage of PostgreSQL or Redis that reaches the error handler is a 503 with
// Retry-After, not a 500: the errors here are what the drivers return when the server is
// down (a refused dial) or restarting.
func TestDependencyOutageIs503WithRetryAfter(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// A port nothing listens on: the drivers' own connection errors.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	_, pgErr := pgx.Connect(ctx, "postgres://u:p@"+addr+"/db?sslmode=disable&connect_timeout=2")
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer rdb.Close()
	redisErr := rdb.Ping(ctx).Err()
	if pgErr == nil || redisErr == nil {
		t.Fatalf("expected connection errors, got %v / %v", pgErr, redisErr)
	}
	for name, tc := range map[string]struct {
		err        error
		status     int
		retryAfter bool
	}{
		"postgres down":                    {fmt.Errorf("load event: %w", pgErr), 503, true},
		"postgres restarting":              {&pgconn.PgError{Code: "57P03", Message: "the database system is starting up"}, 503, true},
		"redis down":                       {fmt.Errorf("find hold: %w", redisErr), 503, true},
		"redis loading":                    {serverReply("LOADING Redis is loading the dataset in memory"), 503, true},
		"a use case's 503":                 {apperr.New(apperr.KindUnavailable, "inventory_unavailable", "later"), 503, true},
		"an internal error over an outage": {apperr.New(apperr.KindInternal, "internal", "x").Wrap(pgErr), 503, true},
		"a bug":                            {errors.New("nil map"), 500, false},
		"a unique violation":               {&pgconn.PgError{Code: "23505"}, 500, false},
	} {
		t.Run(name, func(t *testing.T) {
			e := echo.New()
			e.HTTPErrorHandler = ErrorHandler(slog.New(slog.DiscardHandler))
			e.GET("/x", func(echo.Context) error { return tc.err })
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/x", nil))
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d (%s)", rec.Code, tc.status, rec.Body.String())
			}
			if got := rec.Header().Get("Retry-After") != ""; got != tc.retryAfter {
				t.Fatalf("Retry-After %q, want present=%v", rec.Header().Get("Retry-After"), tc.retryAfter)
			}
		})
	}
}

// serverReply is an error reply of the Redis server, as the client types it.
type serverReply string

func (e serverReply) Error() string { return string(e) }
func (serverReply) RedisError()     {}
