package gateway

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"evently.dev/libs/assertion"
	"evently.dev/libs/httpserver"
	"evently.dev/libs/redisx"
	"evently.dev/libs/testkit"

	"evently.dev/gateway/internal/auth"
	"evently.dev/gateway/internal/config"
)

type noKeys struct{}

func (noKeys) Key(context.Context, string) (auth.PublicKey, error) {
	return auth.PublicKey{}, auth.ErrUnknownKey
}

// testConfig points every upstream at url.
func testConfig(t *testing.T, url string) config.Config {
	_, prefix := testkit.Redis(t)
	return config.Config{
		HTTP:       httpserver.Config{BodyLimit: "1M", ShutdownTimeout: time.Second},
		Assertion:  assertion.Config{Secret: "test-secret"},
		Redis:      redisx.Config{Addr: testkit.RedisAddr(), PoolSize: 4, KeyPrefix: prefix},
		Auth:       config.Auth{Issuer: "evently-identity", Audience: "evently-api", Leeway: 30 * time.Second},
		CatalogURL: url, IdentityURL: url, InventoryURL: url, BookingURL: url, WaitlistURL: url, AnalyticsURL: url,
		UpstreamTimeout: time.Second, UpstreamMaxIdlePerHost: 2,
	}
}

// TestIntegrationPublicHealthIsStatusOnly checks that /health names no service, URL or
// error, healthy or not, while the operator report keeps the detail.
func TestIntegrationPublicHealthIsStatusOnly(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	_ = ln.Close()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }))
	defer up.Close()
	for url, want := range map[string]int{up.URL: 200, dead: 503} {
		g, err := New(testConfig(t, url), Deps{Log: slog.New(slog.DiscardHandler), Keys: noKeys{}})
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		g.Server.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/health", nil))
		body := rec.Body.String()
		if rec.Code != want || strings.Contains(body, "127.0.0.1") || strings.Contains(body, "catalog") || strings.Contains(body, "services") {
			t.Errorf("%s: %d %s", url, rec.Code, body)
		}
		report, ok := g.UpstreamReport(context.Background())
		if ok != (want == 200) || !strings.Contains(toString(report), url) {
			t.Errorf("report %v ok=%v", report, ok)
		}
		_ = g.Redis.Close()
	}
}

func toString(m map[string]any) string {
	var b strings.Builder
	for _, s := range m["services"].(map[string]map[string]string) {
		b.WriteString(s["url"] + " ")
	}
	return b.String()
}
