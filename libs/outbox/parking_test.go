package outbox_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/google/uuid"
	"github.com/uptrace/bun"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"evently.dev/libs/kafka"
	"evently.dev/libs/kafka/kafkatest"
	"evently.dev/libs/outbox"
	"evently.dev/libs/testkit"
)

// addRow writes one event with the given topic and payload in its own transaction.
func addRow(t *testing.T, db *bun.DB, topicName, key string, payload any) string {
	t.Helper()
	var id string
	err := db.RunInTx(context.Background(), nil, func(ctx context.Context, tx bun.Tx) error {
		e, err := outbox.AddJSON(ctx, tx, topicName, key, "evently.test.happened.v1", "/test", payload)
		id = e.ID
		return err
	})
	if err != nil {
		t.Fatalf("write: %v", err)
	}
	return id
}

type rowState struct {
	Attempts  int        `bun:"attempts"`
	Failures  int        `bun:"failures"`
	SentAt    *time.Time `bun:"sent_at"`
	ParkedAt  *time.Time `bun:"parked_at"`
	LastError *string    `bun:"last_error"`
}

func state(t *testing.T, db *bun.DB, id string) rowState {
	t.Helper()
	var s rowState
	err := db.NewRaw(`SELECT attempts, failures, sent_at, parked_at, last_error FROM outbox WHERE id = ?`, id).
		Scan(context.Background(), &s)
	if err != nil {
		t.Fatalf("row %s: %v", id, err)
	}
	return s
}

// Rows that cannot be sent as they are (larger than the producer accepts, naming a topic
// that does not exist) are parked after MaxAttempts failures, with an error log and
// metrics; the rows around them, of the same key too, flow meanwhile; a parked row is not
// tried again until it is re-driven, and a re-driven row whose cause is gone is sent.
func TestIntegrationRelayParksPoisonRows(t *testing.T) {
	db, cfg := setup(t)
	// A topic never created before the re-drive (auto-creation is off), and a payload
	// over sarama's 1 MB message limit.
	const missing = "missing.v1"
	big := map[string]string{"blob": strings.Repeat("x", 1_100_000)}

	first := addRow(t, db, topic, "k", map[string]int{"n": 1})
	tooLarge := addRow(t, db, topic, "k", big)
	second := addRow(t, db, topic, "k", map[string]int{"n": 2})
	noTopic := addRow(t, db, missing, "k", map[string]int{"n": 3})
	third := addRow(t, db, topic, "k", map[string]int{"n": 4})

	logs := &logRecorder{}
	reader := sdkmetric.NewManualReader()
	const maxAttempts = 3
	r := outbox.NewRelay(db, cfg, outbox.RelayOptions{
		MaxAttempts: maxAttempts, MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
		Logger: slog.New(logs), MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)),
	})
	startRelay(t, r)

	// The good rows of the key flow, in their order, without waiting for the bad ones.
	got := kafkatest.ReadN(t, cfg, cfg.Topic(topic), 3, 20*time.Second)
	var order []string
	for _, m := range got {
		order = append(order, kafkatest.Header(m, "ce_id"))
	}
	if want := []string{first, second, third}; !slices.Equal(order, want) {
		t.Fatalf("published %v, want %v", order, want)
	}

	parked := func(id string) bool { return state(t, db, id).ParkedAt != nil }
	testkit.Eventually(t, 60*time.Second, func() bool { return parked(tooLarge) && parked(noTopic) }, "both poison rows parked")
	for _, id := range []string{tooLarge, noTopic} {
		s := state(t, db, id)
		if s.Failures != maxAttempts || s.Attempts != maxAttempts || s.SentAt != nil || s.LastError == nil || *s.LastError == "" {
			t.Fatalf("parked row %s: %+v (last error %v), want %d failed attempts recorded", id, s, deref(s.LastError), maxAttempts)
		}
	}

	// A row written after the parking is sent: the relay went on scanning, and that scan
	// passed the parked rows without trying them again.
	fourth := addRow(t, db, topic, "k", map[string]int{"n": 5})
	kafkatest.ReadN(t, cfg, cfg.Topic(topic), 4, 20*time.Second)
	testkit.Eventually(t, 5*time.Second, func() bool { return state(t, db, fourth).SentAt != nil }, "row after the parking sent")
	for _, id := range []string{tooLarge, noTopic} {
		if s := state(t, db, id); s.Attempts != maxAttempts {
			t.Fatalf("parked row %s tried again: %d attempts", id, s.Attempts)
		}
	}

	recs := logs.find("outbox row parked: it keeps failing to publish and is no longer retried; re-drive it from the admin listener")
	logged := map[string]map[string]string{}
	for _, rec := range recs {
		logged[rec["id"]] = rec
	}
	for id, wantTopic := range map[string]string{tooLarge: cfg.Topic(topic), noTopic: cfg.Topic(missing)} {
		rec, ok := logged[id]
		if !ok {
			t.Fatalf("no parking log for %s; logged %v", id, recs)
		}
		if rec["level"] != "ERROR" || rec["topic"] != wantTopic || rec["type"] != "evently.test.happened.v1" || rec["error"] == "" {
			t.Fatalf("parking log of %s: %v", id, rec)
		}
	}
	m := collect(t, reader)
	if m["outbox.parked"] != 2 || m["outbox.parked.rows"] != 2 || m["outbox.unsent"] != 0 || m["outbox.lag"] != 0 {
		t.Fatalf("metrics with two parked rows: %v", m)
	}
	if err := r.Check(context.Background()); err != nil {
		t.Fatalf("parked rows made the relay unhealthy: %v", err)
	}
	rows, total, err := outbox.Parked(context.Background(), db, 10)
	if err != nil || total != 2 || len(rows) != 2 {
		t.Fatalf("Parked: %v, %d, %v", rows, total, err)
	}

	// Once the topic exists, re-driving the row sends it, exactly once.
	kafkatest.Topics(t, cfg, missing)
	ids, err := outbox.Redrive(context.Background(), db, noTopic)
	if err != nil || !slices.Equal(ids, []string{noTopic}) {
		t.Fatalf("Redrive: %v, %v", ids, err)
	}
	late := kafkatest.ReadN(t, cfg, cfg.Topic(missing), 1, 20*time.Second)
	if id := kafkatest.Header(late[0], "ce_id"); id != noTopic {
		t.Fatalf("re-driven message %s, want %s", id, noTopic)
	}
	testkit.Eventually(t, 5*time.Second, func() bool { return state(t, db, noTopic).SentAt != nil }, "re-driven row marked sent")
	if n := published(t, cfg, cfg.Topic(missing)); n != 1 {
		t.Fatalf("%d messages on %s, want 1", n, missing)
	}
	// The too-large row, re-driven unchanged, parks again after as many attempts.
	if _, err := outbox.Redrive(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 30*time.Second, func() bool { return parked(tooLarge) && state(t, db, tooLarge).Attempts == 2*maxAttempts },
		"the unchanged row parked again")
	m = collect(t, reader)
	if m["outbox.parked"] != 1 || m["outbox.parked.rows"] != 3 {
		t.Fatalf("metrics after the re-drives: %v", m)
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// The admin routes list parked rows and re-drive them; bad input is a 4xx problem.
func TestIntegrationAdminParkedRows(t *testing.T) {
	db, _ := setup(t)
	a := addRow(t, db, topic, "k", map[string]int{"n": 1})
	b := addRow(t, db, topic, "k", map[string]int{"n": 2})
	c := addRow(t, db, topic, "k", map[string]int{"n": 3})
	pending := addRow(t, db, topic, "k", map[string]int{"n": 4})
	// No relay runs: park three rows as the relay would.
	if _, err := db.ExecContext(context.Background(), `UPDATE outbox SET parked_at = clock_timestamp(),
		failures = 3, attempts = 3, last_error = 'kafka: boom' WHERE id IN (?)`, bun.List([]string{a, b, c})); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(outbox.AdminHandler(db, slog.New(&logRecorder{})))
	defer srv.Close()

	do := func(method, path string, wantStatus int, wantType string, out any) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != wantStatus || resp.Header.Get("Content-Type") != wantType {
			t.Fatalf("%s %s: %d %s %s, want %d %s", method, path, resp.StatusCode, resp.Header.Get("Content-Type"), body, wantStatus, wantType)
		}
		if out != nil {
			if err := json.Unmarshal(body, out); err != nil {
				t.Fatalf("%s %s: %v in %s", method, path, err, body)
			}
		}
	}
	type list struct {
		Items []struct {
			ID           string `json:"id"`
			LastError    string `json:"last_error"`
			Failures     int    `json:"failures"`
			PayloadBytes int    `json:"payload_bytes"`
		} `json:"items"`
		Total int `json:"total"`
	}
	var l list
	do("GET", "/outbox/parked?limit=2", 200, "application/json", &l)
	if l.Total != 3 || len(l.Items) != 2 || l.Items[0].ID != a || l.Items[0].LastError != "kafka: boom" || l.Items[0].Failures != 3 || l.Items[0].PayloadBytes == 0 {
		t.Fatalf("listing: %+v", l)
	}
	var problem struct {
		Status int    `json:"status"`
		Code   string `json:"code"`
	}
	const pj = "application/problem+json"
	for _, q := range []string{"limit=0", "limit=1001", "limit=x"} {
		do("GET", "/outbox/parked?"+q, 400, pj, &problem)
		if problem.Code != "invalid_limit" {
			t.Fatalf("%s: %+v", q, problem)
		}
	}
	do("POST", "/outbox/parked/not-a-uuid/redrive", 400, pj, &problem)
	if problem.Code != "invalid_id" || problem.Status != 400 {
		t.Fatalf("bad id: %+v", problem)
	}
	do("POST", "/outbox/parked/"+uuid.NewString()+"/redrive", 404, pj, &problem)
	do("POST", "/outbox/parked/"+pending+"/redrive", 404, pj, &problem) // not parked
	if problem.Code != "not_parked" {
		t.Fatalf("pending row: %+v", problem)
	}

	var res struct {
		Redriven int      `json:"redriven"`
		IDs      []string `json:"ids"`
	}
	do("POST", "/outbox/parked/"+b+"/redrive", 200, "application/json", &res)
	if res.Redriven != 1 || !slices.Equal(res.IDs, []string{b}) {
		t.Fatalf("re-drive one: %+v", res)
	}
	if s := state(t, db, b); s.ParkedAt != nil || s.Failures != 0 {
		t.Fatalf("re-driven row: %+v", s)
	}
	do("POST", "/outbox/parked/"+b+"/redrive", 404, pj, &problem) // no longer parked
	do("POST", "/outbox/parked/redrive", 200, "application/json", &res)
	slices.Sort(res.IDs)
	want := []string{a, c}
	slices.Sort(want)
	if res.Redriven != 2 || !slices.Equal(res.IDs, want) {
		t.Fatalf("re-drive all: %+v", res)
	}
	do("GET", "/outbox/parked", 200, "application/json", &l)
	if l.Total != 0 || len(l.Items) != 0 {
		t.Fatalf("listing after re-drive: %+v", l)
	}
	do("GET", "/outbox/parked/redrive", 405, "text/plain; charset=utf-8", nil)
}

// Readiness: the relay reports an error only after failing to reach the broker for longer
// than UnhealthyAfter, and none again once it publishes.
func TestIntegrationRelayCheckFollowsBroker(t *testing.T) {
	db, cfg := setup(t)
	var reachable atomic.Bool
	var creations atomic.Int32
	newProducer := func() (sarama.SyncProducer, error) {
		creations.Add(1)
		c := cfg
		if !reachable.Load() {
			c.Brokers = []string{"127.0.0.1:1"} // nothing listens there
		}
		return kafka.NewSyncProducer(c)
	}
	r := outbox.NewRelay(db, cfg, outbox.RelayOptions{
		NewProducer: newProducer, MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
		UnhealthyAfter: 2 * time.Second,
	})
	start := time.Now()
	startRelay(t, r)
	ids := write(t, context.Background(), db, "a", "b")
	testkit.Eventually(t, 10*time.Second, func() bool { return creations.Load() >= 2 }, "failed attempts")
	// Failures for less than the threshold do not show. (Every failure began after start,
	// so while less than the threshold has passed since, the check must pass.)
	err := r.Check(context.Background())
	if elapsed := time.Since(start); err != nil && elapsed < 2*time.Second {
		t.Fatalf("check failed %s into the outage, within the threshold: %v", elapsed, err)
	}
	testkit.Eventually(t, 10*time.Second, func() bool { return r.Check(context.Background()) != nil }, "check fails after the threshold")
	err = r.Check(context.Background())
	if !strings.Contains(err.Error(), "cannot publish to kafka") {
		t.Fatalf("check: %v", err)
	}
	reachable.Store(true)
	kafkatest.ReadN(t, cfg, cfg.Topic(topic), len(ids), 20*time.Second)
	testkit.Eventually(t, 10*time.Second, func() bool { return r.Check(context.Background()) == nil }, "check passes again")
}
