package servicecall_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"evently.dev/libs/assertion"
	"evently.dev/libs/logging"
	"evently.dev/libs/servicecall"
)

const secret = "call-secret"

var service = assertion.Identity{UserID: "service:test", Role: "SERVICE"}

// server answers each request with next(attempt) after recording what arrived.
type server struct {
	*httptest.Server
	calls atomic.Int32
	seen  chan *http.Request
}

func newServer(t *testing.T, answer func(n int32, w http.ResponseWriter, r *http.Request)) *server {
	t.Helper()
	s := &server{seen: make(chan *http.Request, 16)}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := s.calls.Add(1)
		r.Body = io.NopCloser(strings.NewReader(func() string { b, _ := io.ReadAll(r.Body); return string(b) }()))
		select {
		case s.seen <- r:
		default:
		}
		answer(n, w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func client(url string, retries int) *servicecall.Client {
	return servicecall.New(servicecall.Options{BaseURL: url + "/", Secret: secret, Service: service,
		Timeout: 2 * time.Second, Retries: retries, RetryBackoff: time.Millisecond, MaxAnswerBytes: 1024})
}

func problem(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func TestSignsWithCallerOrServiceAndRequestID(t *testing.T) {
	s := newServer(t, func(_ int32, w http.ResponseWriter, r *http.Request) {
		id, ok, err := assertion.Verify(r.Header, secret, time.Now())
		if err != nil || !ok {
			problem(w, 401, `{"code":"unauthenticated"}`)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"user": id.UserID, "role": id.Role, "rid": r.Header.Get(assertion.HeaderRequestID)})
	})
	c := client(s.URL, 0)
	user := assertion.Identity{UserID: "u1", Role: assertion.RoleUser}
	for _, tc := range []struct {
		name     string
		ctx      context.Context
		wantUser string
		wantRID  string
	}{
		{"caller and request id from the context", assertion.WithIdentity(logging.WithRequestID(context.Background(), "rid-1"), user), "u1", "rid-1"},
		{"service identity and a fresh request id", context.Background(), "service:test", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got map[string]string
			if err := c.Do(tc.ctx, http.MethodGet, "/who", nil, &got); err != nil {
				t.Fatal(err)
			}
			if got["user"] != tc.wantUser || (tc.wantRID != "" && got["rid"] != tc.wantRID) || got["rid"] == "" {
				t.Fatalf("server saw %v", got)
			}
		})
	}
}

func TestTransportLeavesTheCallersRequestAlone(t *testing.T) {
	s := newServer(t, func(_ int32, w http.ResponseWriter, r *http.Request) {
		if _, ok, err := assertion.Verify(r.Header, secret, time.Now()); err != nil || !ok || r.Header.Get(assertion.HeaderRequestID) != "given" {
			w.WriteHeader(401)
		}
	})
	tr := &servicecall.Transport{Base: http.DefaultTransport, Secret: secret, Service: service}
	req, _ := http.NewRequest(http.MethodGet, s.URL, nil)
	req.Header.Set(assertion.HeaderRequestID, "given")
	res, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	if len(req.Header) != 1 || req.Header.Get(assertion.HeaderAssertion) != "" {
		t.Fatalf("the caller's headers were changed: %v", req.Header)
	}
}

func TestRetryPolicy(t *testing.T) {
	for _, tc := range []struct {
		name       string
		method     string
		idempotent bool
		status     int
		wantCalls  int32
	}{
		{"GET retried on 503", http.MethodGet, false, 503, 3},
		{"GET retried on 429", http.MethodGet, false, 429, 3},
		{"GET not retried on 500", http.MethodGet, false, 500, 1},
		{"GET not retried on a refusal", http.MethodGet, false, 409, 1},
		{"POST not retried", http.MethodPost, false, 503, 1},
		{"idempotent POST retried on 502", http.MethodPost, true, 502, 3},
		{"idempotent POST not retried on 422", http.MethodPost, true, 422, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, func(_ int32, w http.ResponseWriter, _ *http.Request) {
				problem(w, tc.status, `{"code":"x","detail":"d"}`)
			})
			c := client(s.URL, 2)
			var err error
			if tc.idempotent {
				err = c.DoIdempotent(context.Background(), tc.method, "/p", map[string]int{"a": 1}, nil)
			} else {
				err = c.Do(context.Background(), tc.method, "/p", nil, nil)
			}
			var e *servicecall.Error
			if !errors.As(err, &e) || e.Status != tc.status || e.Code != "x" || e.Detail != "d" {
				t.Fatalf("err = %v", err)
			}
			if n := s.calls.Load(); n != tc.wantCalls {
				t.Fatalf("%d calls, want %d", n, tc.wantCalls)
			}
		})
	}
}

func TestRetryRecoversAndResendsTheBody(t *testing.T) {
	s := newServer(t, func(n int32, w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if string(b) != `{"k":"v"}` || r.Header.Get("Content-Type") != "application/json" {
			problem(w, 400, `{"code":"bad_body"}`)
			return
		}
		if n == 1 {
			problem(w, 503, `{"code":"unavailable"}`)
			return
		}
		_, _ = io.WriteString(w, `{"ok":true}`)
	})
	var out struct{ OK bool }
	if err := client(s.URL, 1).DoIdempotent(context.Background(), http.MethodPost, "/p", json.RawMessage(`{"k":"v"}`), &out); err != nil || !out.OK {
		t.Fatalf("out=%+v err=%v", out, err)
	}
}

func TestAnswers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer func(w http.ResponseWriter)
		check  func(t *testing.T, err error)
	}{
		{"problem extras decode", func(w http.ResponseWriter) {
			problem(w, 409, `{"code":"seats_unavailable","detail":"taken","conflicting_seat_ids":["A-1"]}`)
		}, func(t *testing.T, err error) {
			var e *servicecall.Error
			var extra struct {
				IDs []string `json:"conflicting_seat_ids"`
			}
			if !errors.As(err, &e) || !e.Refusal() || e.Temporary() || e.DecodeProblem(&extra) != nil || len(extra.IDs) != 1 {
				t.Fatalf("err=%v extra=%v", err, extra)
			}
		}},
		{"non-problem body still has a code", func(w http.ResponseWriter) { w.WriteHeader(502); _, _ = io.WriteString(w, "<html>") },
			func(t *testing.T, err error) {
				var e *servicecall.Error
				if !errors.As(err, &e) || e.Code != "bad_gateway" || !e.Temporary() || e.Refusal() {
					t.Fatalf("err=%v", err)
				}
			}},
		{"401 is no refusal", func(w http.ResponseWriter) { problem(w, 401, `{"code":"invalid_identity_assertion"}`) },
			func(t *testing.T, err error) {
				var e *servicecall.Error
				if !errors.As(err, &e) || e.Refusal() || e.Temporary() {
					t.Fatalf("err=%v", err)
				}
			}},
		{"answer over the bound", func(w http.ResponseWriter) { _, _ = io.WriteString(w, `"`+strings.Repeat("x", 2000)+`"`) },
			func(t *testing.T, err error) {
				if err == nil || !strings.Contains(err.Error(), "longer than 1024 bytes") {
					t.Fatalf("err=%v", err)
				}
			}},
		{"garbled answer", func(w http.ResponseWriter) { _, _ = io.WriteString(w, `{"ok":`) },
			func(t *testing.T, err error) {
				var e *servicecall.Error
				if err == nil || errors.As(err, &e) {
					t.Fatalf("err=%v", err)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, func(_ int32, w http.ResponseWriter, _ *http.Request) { tc.answer(w) })
			var out struct{ OK bool }
			tc.check(t, client(s.URL, 2).Do(context.Background(), http.MethodGet, "/p", nil, &out))
			if n := s.calls.Load(); n != 1 && tc.name != "non-problem body still has a code" {
				t.Fatalf("%d calls", n)
			}
		})
	}
}

func TestTransportErrorIsRetriedUntilTheContextEnds(t *testing.T) {
	s := httptest.NewServer(http.NotFoundHandler())
	url := s.URL
	s.Close() // nothing listens any more
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := client(url, 2).Do(ctx, http.MethodGet, "/p", nil, nil)
	var e *servicecall.Error
	if err == nil || errors.As(err, &e) {
		t.Fatalf("err=%v", err)
	}
}

// TestTimeoutBoundsEachAttemptBodyIncluded has a server send its headers and then stall:
// each attempt ends at Timeout, and the call after its retries.
func TestTimeoutBoundsEachAttemptBodyIncluded(t *testing.T) {
	release := make(chan struct{})
	s := newServer(t, func(_ int32, w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		_, _ = io.WriteString(w, `{"ok":`)
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	c := servicecall.New(servicecall.Options{BaseURL: s.URL, Secret: secret, Service: service,
		Timeout: 100 * time.Millisecond, Retries: 1, RetryBackoff: time.Millisecond})
	start := time.Now()
	err := c.Do(context.Background(), http.MethodGet, "/slow", nil, &struct{}{})
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if took := time.Since(start); took > 5*time.Second || s.calls.Load() != 2 {
		t.Fatalf("took %v over %d attempts", took, s.calls.Load())
	}
}
