// Package bench compares the gateway's throughput and tail latency with a bare
// httputil.ReverseProxy doing the same JWT check, on loopback, in one run:
//
//	cd gateway && go test -run '^$' -bench . -benchtime 20000x ./internal/bench
//
// Both proxy to the same trivial upstream; the gateway runs its real chain (request id,
// access log, CORS, per-IP rate limit in the local Redis, JWT check, header stripping,
// HMAC assertion, otelhttp transport). Reported: req/s and p99 latency per variant, and
// the gateway with its verified-token cache off, for a like-for-like JWT cost.
package bench

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"evently.dev/libs/assertion"
	"evently.dev/libs/httpserver"
	"evently.dev/libs/redisx"
	"evently.dev/libs/testkit"

	"evently.dev/gateway/internal/auth"
	"evently.dev/gateway/internal/config"
	"evently.dev/gateway/internal/gateway"
)

type keys map[string]auth.PublicKey

func (k keys) Key(_ context.Context, kid string) (auth.PublicKey, error) {
	if p, ok := k[kid]; ok {
		return p, nil
	}
	return auth.PublicKey{}, auth.ErrUnknownKey
}

type fixture struct {
	token    string
	verifier *auth.Verifier
	upstream *httptest.Server
}

func newFixture(b *testing.B) *fixture {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	now := time.Now()
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims{"sub": "0192a5d2-0000-7000-8000-000000000001", "role": "USER",
		"iss": "evently-identity", "aud": []string{"evently-api"}, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": "b"})
	tok.Header["kid"] = "k1"
	raw, err := tok.SignedString(priv)
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"items":[],"page":{"limit":20,"offset":0,"total":0}}`)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	b.Cleanup(up.Close)
	return &fixture{token: raw, upstream: up, verifier: &auth.Verifier{Keys: keys{"k1": {Alg: auth.AlgEdDSA, Key: pub}},
		Issuer: "evently-identity", Audience: "evently-api", Leeway: 30 * time.Second}}
}

// baseline is the yardstick: a bare ReverseProxy behind the same JWT check.
func (f *fixture) baseline(b *testing.B) string {
	u, _ := url.Parse(f.upstream.URL)
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = &http.Transport{MaxIdleConnsPerHost: 256, MaxIdleConns: 256}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw := r.Header.Get("Authorization")
		if len(raw) < 8 {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if _, err := f.verifier.Verify(r.Context(), raw[7:]); err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		rp.ServeHTTP(w, r)
	})
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	return srv.URL
}

// gatewayURL runs the real gateway (with its limiter in the local Redis) on loopback.
func (f *fixture) gateway(b *testing.B, verifyCache int) string {
	_, prefix := testkit.Redis(b)
	cfg := config.Config{
		LogLevel:  "info",
		HTTP:      httpserver.Config{BodyLimit: "1M", ShutdownTimeout: time.Second},
		Assertion: assertion.Config{Secret: "bench-secret"},
		Redis:     redisx.Config{Addr: testkit.RedisAddr(), PoolSize: 64, KeyPrefix: prefix},
		Auth: config.Auth{Issuer: "evently-identity", Audience: "evently-api", Leeway: 30 * time.Second,
			VerifyCacheSize: verifyCache},
		// Limits high enough never to refuse: the benchmark measures the cost of checking.
		RateLimit: config.RateLimit{Enabled: true, GlobalPerMinute: 100_000_000, AuthPerMinute: 30,
			BookingPerMinute: 80, RedisTimeout: 100 * time.Millisecond},
		CORS:         config.CORS{AllowedOrigins: []string{"http://localhost:3000"}, MaxAge: 600},
		CatalogURL:   f.upstream.URL,
		IdentityURL:  f.upstream.URL,
		InventoryURL: f.upstream.URL, BookingURL: f.upstream.URL, WaitlistURL: f.upstream.URL, AnalyticsURL: f.upstream.URL,
		UpstreamTimeout: 15 * time.Second, UpstreamMaxIdlePerHost: 256,
	}
	// The access log is formatted as in production but written nowhere.
	log := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	g, err := gateway.New(cfg, gateway.Deps{Log: log, Version: "bench", Keys: f.verifier.Keys})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = g.Serve(ctx, ln); close(done) }()
	b.Cleanup(func() { cancel(); <-done })
	return "http://" + ln.Addr().String()
}

func BenchmarkAuthenticatedGET(b *testing.B) {
	f := newFixture(b)
	// "gateway" is the production configuration (verified-token cache on, the default);
	// "gateway-nocache" checks every signature, exactly like the baseline.
	targets := []struct{ name, url string }{{"baseline", f.baseline(b)}, {"gateway", f.gateway(b, 10000)},
		{"gateway-nocache", f.gateway(b, 0)}}
	// Warm both up (connections, JIT-free but cache-warm) before measuring.
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512, MaxIdleConns: 512}}
	for _, t := range targets {
		for i := 0; i < 200; i++ {
			if err := get(client, t.url+"/api/v1/users/bookings", f.token); err != nil {
				b.Fatalf("%s warm-up: %v", t.name, err)
			}
		}
	}
	for _, t := range targets {
		b.Run(t.name, func(b *testing.B) {
			var mu sync.Mutex
			var lat []time.Duration
			b.SetParallelism(8)
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				local := make([]time.Duration, 0, 1024)
				for pb.Next() {
					t0 := time.Now()
					if err := get(client, t.url+"/api/v1/users/bookings", f.token); err != nil {
						b.Error(err)
						return
					}
					local = append(local, time.Since(t0))
				}
				mu.Lock()
				lat = append(lat, local...)
				mu.Unlock()
			})
			elapsed := time.Since(start)
			b.StopTimer()
			slices.Sort(lat)
			if len(lat) > 0 {
				b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "req/s")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			}
		})
	}
}

func get(c *http.Client, u, token string) error {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := c.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", res.StatusCode)
	}
	return nil
}
