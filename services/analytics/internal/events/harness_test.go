package events_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/uptrace/bun"

	"evently.dev/libs/assertion"
	"evently.dev/libs/consumer"
	"evently.dev/libs/httpserver"
	"evently.dev/libs/kafka"
	"evently.dev/libs/outbox"
	"evently.dev/libs/testkit"

	"evently.dev/services/analytics/internal/app"
	"evently.dev/services/analytics/internal/domain"
	"evently.dev/services/analytics/internal/events"
	analyticshttp "evently.dev/services/analytics/internal/http"
	"evently.dev/services/analytics/internal/store"
	"evently.dev/services/analytics/migrations"
)

const testSecret = "analytics-test-secret"

// system is analytics under test: a fresh database, the HTTP handlers behind the real
// middleware, and (when started) the follower consuming real Kafka topics.
type system struct {
	t      *testing.T
	db     *bun.DB
	store  *store.Store
	srv    *httptest.Server
	log    *slog.Logger
	now    func() time.Time
	kafka  kafka.Config
	groups string
}

func newSystem(t *testing.T, tz string) *system {
	t.Helper()
	ctx := context.Background()
	db := testkit.MigratedDB(t, "analytics", outbox.Migrations, consumer.Migrations, migrations.FS)
	st := store.New(db)
	if _, err := st.AdoptTimezone(ctx, tz); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(testLogOut(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	s := &system{t: t, db: db, store: st, log: log, now: time.Now}
	hs := httpserver.New(httpserver.Options{Service: "analytics", Logger: log})
	hs.Echo.Use(assertion.Middleware(testSecret))
	(&analyticshttp.Handlers{Reports: &app.Reports{Models: st, LiveMinutes: 15, Now: func() time.Time { return s.now() }}}).Routes(hs.Echo)
	s.srv = httptest.NewServer(hs.Echo)
	t.Cleanup(s.srv.Close)
	return s
}

// get calls an endpoint as role ("" for anonymous) and returns status, content type and body.
func (s *system) get(path, role string) (int, string, []byte) {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.srv.URL+path, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	if role != "" {
		// Like the gateway: a request id, signed with the identity.
		reqID := "analytics-test-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		req.Header.Set(assertion.HeaderRequestID, reqID)
		assertion.Sign(req.Header, testSecret, assertion.Identity{UserID: "0192a5d2-0000-7000-8000-0000000000aa", Role: role}, reqID, time.Now())
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Content-Type"), b
}

// admin GETs path as an ADMIN, requires 200 and decodes the body into v (when not nil).
func (s *system) admin(path string, v any) []byte {
	s.t.Helper()
	status, _, body := s.get(path, assertion.RoleAdmin)
	if status != http.StatusOK {
		s.t.Fatalf("GET %s: %d %s", path, status, body)
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			s.t.Fatalf("GET %s: %v: %s", path, err, body)
		}
	}
	return body
}

// startConsuming creates the topics and runs the follower until the test ends.
func (s *system) startConsuming(cfg kafka.Config) *events.Follower {
	s.t.Helper()
	s.kafka = cfg
	s.groups = testkit.Name(s.t, "analytics")
	f := &events.Follower{Store: s.store, Kafka: cfg, GroupBase: s.groups, Poll: 200 * time.Millisecond, Log: s.log}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	s.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			s.t.Errorf("follower: %v", err)
		}
		deleteGroups(cfg, domain.GroupName(s.groups, 1), domain.GroupName(s.groups, 2), domain.GroupName(s.groups, 3))
	})
	return f
}

func (s *system) replayer() *events.Replayer {
	return &events.Replayer{Store: s.store, Kafka: s.kafka, GroupBase: s.groups, Log: s.log}
}

// waitApplied waits until generation gen's group has committed everything published so far.
func (s *system) waitApplied(gen int) {
	s.t.Helper()
	ctx := context.Background()
	r := s.replayer()
	ends, err := r.EndOffsets(ctx)
	if err != nil {
		s.t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		lag, err := r.Lag(ctx, gen, ends)
		if err == nil && lag == 0 {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("generation %d did not consume everything published: %d messages behind, %v", gen, lag, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func deleteGroups(cfg kafka.Config, groups ...string) {
	sc, err := kafka.NewSaramaConfig(cfg)
	if err != nil {
		return
	}
	admin, err := sarama.NewClusterAdmin(cfg.Brokers, sc)
	if err != nil {
		return
	}
	defer func() { _ = admin.Close() }()
	for _, g := range groups {
		if err := admin.DeleteConsumerGroup(cfg.Topic(g)); err != nil && !errors.Is(err, sarama.ErrGroupIDNotFound) {
			_ = err // best effort: a group that never formed is fine
		}
	}
}

// testLogOut shows the service's warnings with -v (ANALYTICS_TEST_LOG=1), else discards them.
func testLogOut() io.Writer {
	if os.Getenv("ANALYTICS_TEST_LOG") != "" {
		return os.Stderr
	}
	return io.Discard
}
