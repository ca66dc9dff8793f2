package proxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"evently.dev/libs/assertion"
	"evently.dev/libs/httpserver"
)

// edgeStack serves a service (one JSON endpoint) behind the proxy, both on real sockets,
// so Expect: 100-continue and header copying behave as in production.
func edgeStack(t *testing.T, bodyLimit ...string) (gatewayAddr, serviceAddr string) {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	limit := "1K"
	if len(bodyLimit) > 0 {
		limit = bodyLimit[0]
	}
	svc := httpserver.New(httpserver.Options{Service: "catalog", Logger: log, Config: httpserver.Config{BodyLimit: limit}})
	svc.Echo.Any("/api/v1/events", func(c echo.Context) error {
		var body map[string]any
		if c.Request().Method == http.MethodPost {
			if err := httpserver.BindJSON(c, &body); err != nil {
				return err
			}
			// A large answer, streamed (no Content-Length), like a long list of field errors.
			return c.JSON(http.StatusUnprocessableEntity, map[string]any{"echo": body, "pad": strings.Repeat("y", 20000)})
		}
		return c.JSON(http.StatusOK, map[string]any{"items": []any{}})
	})
	sl := listen(t)
	go func() { _ = svc.Serve(ctx, sl) }()
	ups := map[string]string{}
	for _, n := range []string{"identity", "catalog", "inventory", "booking", "waitlist", "analytics"} {
		ups[n] = "http://" + sl.Addr().String()
	}
	p, err := New(Options{Upstreams: ups, Secret: "s", Timeout: 5 * time.Second, MaxIdlePerHost: 2, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	gw := httpserver.New(httpserver.Options{Service: "gateway", Logger: log, Config: httpserver.Config{BodyLimit: limit}})
	// Stands in for the token check: a request naming a user is treated as signed in.
	signedIn := func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if u := c.Request().Header.Get("X-Test-User"); u != "" {
				c.SetRequest(c.Request().WithContext(assertion.WithIdentity(c.Request().Context(), assertion.Identity{UserID: u, Role: "USER"})))
			}
			return next(c)
		}
	}
	gw.Echo.Any("/api/*", p.Handler, signedIn)
	gl := listen(t)
	go func() { _ = gw.Serve(ctx, gl) }()
	return gl.Addr().String(), sl.Addr().String()
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// sendChunkedExpect posts an oversized chunked body announced with Expect: 100-continue
// and returns the final status line's code and the body.
func sendChunkedExpect(t *testing.T, addr string) (int, string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "POST /api/v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"+
		"Expect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n")
	br := bufio.NewReader(conn)
	go func() {
		chunk := `{"a":"` + strings.Repeat("x", 4000) + `"}`
		fmt.Fprintf(conn, "%x\r\n%s\r\n0\r\n\r\n", len(chunk), chunk)
	}()
	for {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode == http.StatusContinue {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
}

// TestOversizeExpectContinueIs413 checks that an oversized chunked body gets a 413 status
// line (not 200 with a 413 problem inside, nor a 400 naming an internal error), both
// through the gateway and straight at a service.
func TestOversizeExpectContinueIs413(t *testing.T) {
	gw, svc := edgeStack(t)
	for name, addr := range map[string]string{"gateway": gw, "service": svc} {
		code, body := sendChunkedExpect(t, addr)
		if code != http.StatusRequestEntityTooLarge || !strings.Contains(body, `"status":413`) || strings.Contains(body, "code=") {
			t.Errorf("%s: status %d body %s", name, code, body)
		}
	}
}

// TestRequestIDOnceAndSafe checks that the gateway sends X-Request-Id exactly once, keeps
// a short safe client id and replaces anything else with its own.
func TestRequestIDOnceAndSafe(t *testing.T) {
	gw, _ := edgeStack(t)
	cases := map[string]bool{"abc-123_DEF.9": true, strings.Repeat("a", 5000): false, "a\tb": false, `a"b`: false, "": false}
	for in, keep := range cases {
		req, _ := http.NewRequest(http.MethodGet, "http://"+gw+"/api/v1/events", nil)
		if in != "" {
			req.Header.Set("X-Request-Id", in)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := resp.Header.Values("X-Request-Id")
		if len(got) != 1 {
			t.Fatalf("%.20q: X-Request-Id sent %d times", in, len(got))
		}
		if keep && got[0] != in {
			t.Errorf("%.20q: replaced by %.20q", in, got[0])
		}
		if !keep && (got[0] == in || len(got[0]) > 64 || got[0] == "") {
			t.Errorf("%q: echoed as %q", in[:min(len(in), 20)], got[0][:min(len(got[0]), 20)])
		}
		if n := len(resp.Header.Values("X-Content-Type-Options")); n != 1 || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("X-Content-Type-Options: %q", resp.Header.Values("X-Content-Type-Options"))
		}
	}
}

// TestAuthenticatedAnswersAreNotStored checks Cache-Control: no-store on answers to a
// signed-in caller and none forced on anonymous ones.
func TestAuthenticatedAnswersAreNotStored(t *testing.T) {
	gw, _ := edgeStack(t)
	for user, want := range map[string]string{"u1": "no-store", "": ""} {
		req, _ := http.NewRequest(http.MethodGet, "http://"+gw+"/api/v1/events", nil)
		if user != "" {
			req.Header.Set("X-Test-User", user)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Cache-Control"); got != want {
			t.Errorf("user %q: Cache-Control %q, want %q", user, got, want)
		}
	}
}
