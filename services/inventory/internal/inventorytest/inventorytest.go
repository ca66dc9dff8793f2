// Package inventorytest runs the inventory against the real local PostgreSQL and Redis for
// integration tests and benchmarks: a fresh database and key prefix per test, the HTTP API
// on a loopback port, and helpers that publish catalog events the way Kafka would deliver them.
package inventorytest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"

	"evently.dev/libs/assertion"
	"evently.dev/libs/consumer"
	"evently.dev/libs/contracts"
	"evently.dev/libs/httpserver"
	"evently.dev/libs/kafka"
	"evently.dev/libs/outbox"
	"evently.dev/libs/testkit"

	"evently.dev/services/inventory/internal/app"
	"evently.dev/services/inventory/internal/config"
	"evently.dev/services/inventory/internal/events"
	"evently.dev/services/inventory/internal/holds"
	invhttp "evently.dev/services/inventory/internal/http"
	"evently.dev/services/inventory/internal/live"
	"evently.dev/services/inventory/internal/store"
	"evently.dev/services/inventory/migrations"
)

// Secret signs test assertions.
const Secret = "inventory-test-secret"

// Env is one isolated inventory.
type Env struct {
	DB       *bun.DB
	Redis    *redis.Client
	Prefix   string
	Cfg      config.Config
	App      *app.Service
	Holds    *holds.Store
	Events   *events.Handlers
	URL      string
	Client   *http.Client
	Log      *slog.Logger
	Handler  *invhttp.Handler
	Hub      *live.Hub
	shutdown context.CancelFunc
}

// DefaultConfig is the configuration tests start from (defaults of the env tags).
func DefaultConfig() config.Config {
	var c config.Config
	c.Hold = config.Hold{TTL: 10 * time.Minute, MaxLifetime: 30 * time.Minute, SweepInterval: time.Second,
		BestAvailableRetries: 3, MaxSeats: 50, OfferMaxTTL: 2 * time.Hour}
	c.EventCacheTTL = 2 * time.Second
	c.AvailabilityCacheTTL = 250 * time.Millisecond
	c.LayoutCacheEvents = 32
	c.SSEHeartbeat = 15 * time.Second
	c.SSEBuffer = 256
	return c
}

// New starts an inventory on fresh stores; tweak adjusts the configuration first.
func New(t testing.TB, tweak ...func(*config.Config)) *Env {
	t.Helper()
	ctx := context.Background()
	db := testkit.MigratedDB(t, "inventory", outbox.Migrations, consumer.Migrations, migrations.FS)
	rdb, prefix := testkit.Redis(t)
	cfg := DefaultConfig()
	for _, f := range tweak {
		f(&cfg)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	hs := holds.New(rdb, prefix)
	if err := hs.LoadScripts(ctx); err != nil {
		t.Fatal(err)
	}
	svc := app.New(store.New(db), hs, app.SettingsOf(cfg), log)
	hub := live.NewHub(rdb, hs.Channel, cfg.SSEBuffer, log)
	h := &invhttp.Handler{App: svc, Hub: hub, Heartbeat: cfg.SSEHeartbeat, MaxStream: cfg.SSEMaxDuration}
	srv := httpserver.New(httpserver.Options{Service: "inventory", Logger: log,
		Config: httpserver.Config{BodyLimit: "1M", RequestTimeout: 15 * time.Second}})
	srv.Echo.Use(assertion.Middleware(Secret))
	h.Register(srv.Echo)
	srv.NoTimeout(invhttp.StreamPath)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = srv.Serve(sctx, ln); close(done) }()
	env := &Env{DB: db, Redis: rdb, Prefix: prefix, Cfg: cfg, App: svc, Holds: hs,
		Events: &events.Handlers{App: svc, Log: log}, URL: "http://" + ln.Addr().String(),
		Client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}},
		Log:    log, Handler: h, Hub: hub, shutdown: cancel}
	t.Cleanup(func() {
		hub.Close()
		cancel()
		<-done
	})
	return env
}

// Layout describes a test venue: sections × rows × seats per row.
type Layout struct {
	Sections, Rows, SeatsPerRow int
	Price                       int64
}

// EventPublished builds a catalog event.published for a fresh event starting in a week.
func EventPublished(l Layout, holdLimit int) contracts.EventPublished {
	id := uuid.Must(uuid.NewV7())
	p := contracts.EventPublished{EventID: id.String(), Name: "Test show", Category: "music",
		VenueTemplateID: uuid.Must(uuid.NewV7()).String(), VenueName: "Test hall",
		StartsAt: time.Now().Add(7 * 24 * time.Hour).UTC(), EndsAt: time.Now().Add(7*24*time.Hour + 3*time.Hour).UTC(),
		Currency: "EUR", HoldLimitPerUser: holdLimit, PublishedAt: time.Now().UTC(), Version: 1}
	for s := range l.Sections {
		sec := contracts.LayoutSection{SectionID: uuid.Must(uuid.NewV7()).String(), Code: string(rune('A'+s%26)) + fmt.Sprint(s/26),
			Name: fmt.Sprintf("Section %d", s+1), Price: l.Price + int64(s)*100, Capacity: l.Rows * l.SeatsPerRow}
		for r := range l.Rows {
			sec.Rows = append(sec.Rows, contracts.LayoutRow{Label: fmt.Sprint(r + 1), First: 1, Last: l.SeatsPerRow,
				Y: float64(r * 10), X0: float64(s * 1000), DX: 10})
		}
		p.Sections = append(p.Sections, sec)
	}
	return p
}

// Deliver applies one catalog or booking event as the consumer runner would: inside a
// transaction that also records it in the inbox, so a redelivery changes nothing.
func (e *Env) Deliver(t testing.TB, topic, typ string, payload any, eventID ...string) {
	t.Helper()
	ev, err := kafka.NewEvent(topic, "", typ, "/test", payload)
	if err != nil {
		t.Fatal(err)
	}
	if len(eventID) > 0 {
		ev.ID = eventID[0]
	}
	handler := e.Events.Catalog
	group := events.GroupCatalog
	if topic == contracts.TopicBookingBookings {
		handler, group = e.Events.Bookings, events.GroupBookings
	}
	err = e.DB.RunInTx(context.Background(), nil, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO inbox (consumer, event_id, topic, processed_at) VALUES (?, ?, ?, now())
			ON CONFLICT DO NOTHING`, group, ev.ID, topic)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		return handler(ctx, tx, ev)
	})
	if err != nil {
		t.Fatalf("deliver %s: %v", typ, err)
	}
}

// Publish delivers event.published for a new event and returns it.
func (e *Env) Publish(t testing.TB, l Layout, holdLimit int) contracts.EventPublished {
	t.Helper()
	p := EventPublished(l, holdLimit)
	e.Deliver(t, contracts.TopicCatalogEvents, contracts.TypeEventPublished, p)
	return p
}

// Response is an HTTP answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a map.
func (r Response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("not a JSON object (%d): %s", r.Status, r.Body)
	}
	return m
}

// Call sends a request as user (signed like the gateway does; "" for anonymous). body may
// be nil, a string (sent raw) or a value (sent as JSON).
func (e *Env) Call(t testing.TB, method, path, user string, body any) Response {
	t.Helper()
	r, err := e.Request(method, path, user, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

// Request is Call without a test, for load generators.
func (e *Env) Request(method, path, user string, body any) (Response, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return Response{}, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.URL+path, rd)
	if err != nil {
		return Response{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	role := assertion.RoleUser
	if len(user) > 8 && user[:8] == "service:" {
		role = "SERVICE"
	}
	var id assertion.Identity
	if user != "" {
		id = assertion.Identity{UserID: user, Role: role}
	}
	reqID := uuid.NewString()
	req.Header.Set(assertion.HeaderRequestID, reqID)
	assertion.Sign(req.Header, Secret, id, reqID, time.Now())
	res, err := e.Client.Do(req)
	if err != nil {
		return Response{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return Response{Status: res.StatusCode, Header: res.Header, Body: b}, err
}

// FlushPrefix deletes every key of this test's prefix — the test's own "Redis flush". Never
// FLUSHALL: other engineers share this Redis.
func (e *Env) FlushPrefix(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	iter := e.Redis.Scan(ctx, 0, e.Prefix+"*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	if len(keys) > 0 {
		if err := e.Redis.Del(ctx, keys...).Err(); err != nil {
			t.Fatal(err)
		}
	}
}

// OutboxTypes counts the outbox rows by CloudEvents type.
func (e *Env) OutboxTypes(t testing.TB) map[string]int {
	t.Helper()
	var rows []struct {
		Type string `bun:"type"`
		N    int    `bun:"n"`
	}
	if err := e.DB.NewRaw(`SELECT type, count(*) AS n FROM outbox GROUP BY type`).Scan(context.Background(), &rows); err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, r := range rows {
		out[r.Type] = r.N
	}
	return out
}

// SeatIDs lists the first n seat ids of a section's first row.
func SeatIDs(p contracts.EventPublished, section, row, from, n int) []string {
	sec := p.Sections[section]
	ids := make([]string, n)
	for i := range n {
		ids[i] = contracts.SeatID(sec.Code, sec.Rows[row].Label, from+i)
	}
	return ids
}
