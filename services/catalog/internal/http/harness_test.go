package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"

	"evently.dev/libs/assertion"
	"evently.dev/libs/consumer"
	"evently.dev/libs/httpserver"
	"evently.dev/libs/logging"
	"evently.dev/libs/outbox"
	"evently.dev/libs/testkit"

	"evently.dev/services/catalog/internal/app"
	"evently.dev/services/catalog/internal/cache"
	cataloghttp "evently.dev/services/catalog/internal/http"
	"evently.dev/services/catalog/internal/store"
	"evently.dev/services/catalog/migrations"
)

const secret = "test-assertion-secret"

// harness is the catalog's HTTP surface over a fresh database and Redis prefix, called
// the way the gateway would, with signed identity assertions.
type harness struct {
	t       *testing.T
	handler http.Handler
	db      *bun.DB
	rdb     *redis.Client
	prefix  string
	app     *app.Catalog
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	db := testkit.MigratedDB(t, "catalog", outbox.Migrations, consumer.Migrations, migrations.FS)
	rdb, prefix := testkit.Redis(t)
	log := logging.NewTo(testWriter{t}, "catalog-test", "error")
	c := cache.Browse{Cache: cache.New(rdb, prefix, time.Minute, log)}
	a := app.New(store.New(db), c, nil)
	srv := httpserver.New(httpserver.Options{Service: "catalog", Logger: log, Config: httpserver.Config{BodyLimit: "1M"}})
	srv.Echo.Use(assertion.Middleware(secret))
	cataloghttp.Register(srv.Echo, a)
	return &harness{t: t, handler: srv.Handler(), db: db, rdb: rdb, prefix: prefix, app: a}
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) JSON(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("not a JSON object (%d): %s", r.Status, r.Body)
	}
	return m
}

// Roles for do.
const (
	anon  = ""
	user  = "USER"
	admin = "ADMIN"
)

func (h *harness) do(method, path, role string, body any) response {
	h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if role != "" {
		reqID := uuid.NewString()
		req.Header.Set(assertion.HeaderRequestID, reqID)
		assertion.Sign(req.Header, secret, assertion.Identity{UserID: uuid.NewString(), Role: role}, reqID, time.Now())
	}
	rec := httptest.NewRecorder()
	h.handler.ServeHTTP(rec, req)
	return response{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
}

// must fails unless the answer has the status, and returns its JSON object.
func (h *harness) must(r response, status int) map[string]any {
	h.t.Helper()
	if r.Status != status {
		h.t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	if status == http.StatusNoContent {
		return nil
	}
	return r.JSON(h.t)
}

// problem checks a problem+json answer and returns the fields it names.
func (h *harness) problem(r response, status int, fields ...string) map[string]any {
	h.t.Helper()
	m := h.must(r, status)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		h.t.Fatalf("content type %q: %s", ct, r.Body)
	}
	got := map[string]bool{}
	errs, _ := m["errors"].([]any)
	for _, e := range errs {
		got[e.(map[string]any)["field"].(string)] = true
	}
	for _, f := range fields {
		if !got[f] {
			h.t.Fatalf("no field error on %q: %s", f, r.Body)
		}
	}
	return m
}

func (h *harness) createTemplate(body map[string]any) map[string]any {
	h.t.Helper()
	return h.must(h.do("POST", "/api/v1/admin/venue-templates", admin, body), http.StatusCreated)
}

// hallTemplate is the seed's Conference Hall: VIP row A × 8, General rows B–C × 10.
func hallTemplate(name string) map[string]any {
	return map[string]any{"name": name, "layout_type": "CONFERENCE", "sections": []any{
		map[string]any{"name": "VIP", "row_start": "A", "row_end": "A", "seats_per_row": 8, "price_tier": "vip"},
		map[string]any{"name": "General", "row_start": "B", "row_end": "C", "seats_per_row": 10},
	}}
}

func sectionIDs(tpl map[string]any) []string {
	var out []string
	for _, s := range tpl["sections"].([]any) {
		out = append(out, s.(map[string]any)["id"].(string))
	}
	return out
}

func future(d time.Duration) string { return time.Now().Add(d).UTC().Format(time.RFC3339) }

func eventBody(name, templateID string, start time.Duration, extra map[string]any) map[string]any {
	b := map[string]any{"name": name, "description": "An evening about " + name, "category": "tech",
		"tags": []string{"ai"}, "venue_template_id": templateID, "date_time": future(start),
		"end_time": future(start + 3*time.Hour), "base_price": 150000, "currency": "INR"}
	for k, v := range extra {
		b[k] = v
	}
	return b
}

type outboxRow struct {
	Type    string          `bun:"type"`
	Key     string          `bun:"key"`
	Topic   string          `bun:"topic"`
	Payload json.RawMessage `bun:"payload"`
}

func (h *harness) outbox(ceType string) []outboxRow {
	h.t.Helper()
	var rows []outboxRow
	if err := h.db.NewRaw("SELECT type, key, topic, payload FROM outbox WHERE type = ? ORDER BY created_at", ceType).
		Scan(context.Background(), &rows); err != nil {
		h.t.Fatal(err)
	}
	return rows
}

// testWriter sends server-side error logs to the test's log, shown when it fails.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
