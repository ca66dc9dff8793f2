package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/jackc/pgx/v5"

	"evently.dev/libs/kafka"
	"evently.dev/libs/testkit"
)

// baseURL is the gateway of the system under test.
var baseURL string

// sys describes the private system TestMain started, for tests that inspect its stores.
var sys struct {
	DatabaseURL string
	TopicPrefix string
	RedisPrefix string
	PortBase    int
}

// Bootstrap admin of the system under test (scripts/run.sh passes these to identity).
const (
	adminEmail    = "admin@evently.local"
	adminPassword = "evently-admin"
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		// Every test here drives the running system; the unit run (-short) has no servers.
		fmt.Println("e2e: skipped under -short: needs PostgreSQL, Redis and Kafka (`make infra-up`) and starts every service")
		return 0
	}
	if u := os.Getenv("EVENTLY_E2E_BASE_URL"); u != "" {
		baseURL = strings.TrimRight(u, "/")
		return m.Run()
	}
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	suffix := randHex(4)
	sys.PortBase = freePortBase()
	sys.TopicPrefix = "e2e-" + suffix + "-"
	sys.RedisPrefix = "e2e-" + suffix + ":"
	dbName := "e2e_" + suffix
	runDir := filepath.Join(root, ".data", "e2e-"+suffix)
	env := append(os.Environ(),
		fmt.Sprintf("EVENTLY_PORT_BASE=%d", sys.PortBase),
		"EVENTLY_DB_NAME="+dbName,
		"KAFKA_TOPIC_PREFIX="+sys.TopicPrefix,
		"REDIS_KEY_PREFIX="+sys.RedisPrefix,
		"EVENTLY_RUN_DIR="+runDir,
		"EVENTLY_BIN_DIR="+filepath.Join(runDir, "bin"),
		"DATABASE_URL=",
		// Fast expiry sweeps and short offer windows keep lapse tests quick.
		"LOG_LEVEL=info",
	)
	env = append(env, extraEnv()...)
	env = append(env, fuzzEnv()...)
	start := exec.Command("bash", filepath.Join(root, "scripts", "run.sh"), "start")
	start.Env = env
	start.Stdout, start.Stderr = os.Stdout, os.Stderr
	stop := func() {
		c := exec.Command("bash", filepath.Join(root, "scripts", "run.sh"), "stop")
		c.Env = env
		c.Stdout, c.Stderr = os.Stdout, os.Stderr
		_ = c.Run()
		dropDatabase(dbName)
		deleteTopics(sys.TopicPrefix)
		_ = os.RemoveAll(runDir)
	}
	if err := start.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: starting the system failed: %v\n", err)
		stop()
		return 1
	}
	u := must(urlWithDB(testkit.AdminDatabaseURL(), dbName))
	sys.DatabaseURL = u
	baseURL = fmt.Sprintf("http://127.0.0.1:%d", sys.PortBase)
	code := m.Run()
	if code != 0 {
		for _, s := range []string{"gateway", "identity", "catalog", "inventory", "booking", "waitlist", "analytics"} {
			if b, err := os.ReadFile(filepath.Join(runDir, s+".log")); err == nil {
				lines := strings.Split(strings.TrimSpace(string(b)), "\n")
				if len(lines) > 20 {
					lines = lines[len(lines)-20:]
				}
				fmt.Fprintf(os.Stderr, "----- %s.log (last lines) -----\n%s\n", s, strings.Join(lines, "\n"))
			}
		}
	}
	stop()
	return code
}

// freePortBase picks a block of seven free loopback ports, so several e2e runs (and a
// `make run` copy on 8080) can coexist on one machine.
func freePortBase() int {
	for attempt := 0; attempt < 50; attempt++ {
		b := make([]byte, 2)
		_, _ = rand.Read(b)
		base := 18000 + (int(b[0])<<8|int(b[1]))%400*10
		free := true
		// run.sh puts each component's admin listener 1000 ports above its public one.
		for _, p := range append(portRange(base), portRange(base+1000)...) {
			ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				free = false
				break
			}
			_ = ln.Close()
		}
		if free {
			return base
		}
	}
	return 18080
}

// portRange is the seven ports of one copy of the system starting at base.
func portRange(base int) []int {
	ps := make([]int, 7)
	for i := range ps {
		ps[i] = base + i
	}
	return ps
}

// extraEnv holds settings tests need from the services (short windows and sweeps).
func extraEnv() []string {
	return []string{
		"HOLD_SWEEP_INTERVAL=250ms",
		"WAITLIST_OFFER_WINDOW=6s",
		"AUTH_RATE_LIMIT_PER_MINUTE=30",
		// The whole suite comes from 127.0.0.1: trust it as a proxy so auth helpers can
		// send their own X-Forwarded-For, and lift the shared per-IP and per-user budgets
		// that a test run (not a user) would exhaust. The limits themselves are tested in
		// gateway/internal/ratelimit and by TestGatewayAuthRateLimit.
		"TRUSTED_PROXIES=127.0.0.1/32,::1/128",
		"GLOBAL_RATE_LIMIT_PER_MINUTE=100000",
		// The limiter fails open after RATE_LIMIT_REDIS_TIMEOUT (100 ms); on a 2-core
		// machine busy with the whole suite a Redis answer can take longer, and the limit
		// tests would then see no RateLimit-* headers. Their subject is the limits.
		"RATE_LIMIT_REDIS_TIMEOUT=2s",
		"BOOKING_RATE_LIMIT_PER_MINUTE=5000",
		// The simulated payment provider declines this method, so the compensation of a
		// declined charge can be driven through the public API.
		"PAYMENT_SIMULATE_DECLINE_METHODS=" + declinedCard,
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func urlWithDB(admin, db string) (string, error) {
	i := strings.LastIndex(admin, "/")
	q := ""
	if j := strings.Index(admin, "?"); j >= 0 {
		q = admin[j:]
		admin = admin[:j]
		i = strings.LastIndex(admin, "/")
	}
	return admin[:i+1] + db + q, nil
}

func dropDatabase(name string) {
	ctx := context.Background()
	c, err := pgx.Connect(ctx, testkit.AdminDatabaseURL())
	if err != nil {
		return
	}
	defer c.Close(ctx)
	_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
}

// deleteTopics removes the private system's topics so repeated runs leave no debris.
func deleteTopics(prefix string) {
	cfg := kafka.Config{Brokers: testkit.KafkaBrokers()}.WithDefaults()
	sc, err := kafka.NewSaramaConfig(cfg)
	if err != nil {
		return
	}
	admin, err := sarama.NewClusterAdmin(cfg.Brokers, sc)
	if err != nil {
		return
	}
	defer admin.Close()
	topics, err := admin.ListTopics()
	if err != nil {
		return
	}
	var names []string
	for name := range topics {
		if strings.HasPrefix(name, prefix) {
			names = append(names, name)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = kafka.DeleteTopics(ctx, cfg, names...)
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// resp is a decoded API answer.
type resp struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a map for quick field checks.
func (r resp) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body is not a JSON object (%d): %s", r.Status, r.Body)
	}
	return m
}

// Decode decodes the body into v.
func (r resp) Decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode (%d) %s: %v", r.Status, r.Body, err)
	}
}

// call sends a request through the gateway. body may be nil, a string (sent raw) or a value
// (sent as JSON); token may be "".
func call(t testing.TB, method, path, token string, body any, headers ...string) resp {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		rd = bytes.NewReader(must(json.Marshal(b)))
	}
	req, err := http.NewRequest(method, baseURL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{Status: res.StatusCode, Header: res.Header, Body: b}
}

var httpClient = &http.Client{Timeout: 30 * time.Second}

// expect fails the test unless r has the wanted status.
func expect(t testing.TB, r resp, status int) resp {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	return r
}

// expectProblem checks a problem+json answer with the wanted status.
func expectProblem(t testing.TB, r resp, status int) map[string]any {
	t.Helper()
	expect(t, r, status)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("content type %q, want problem+json: %s", ct, r.Body)
	}
	return r.JSON(t)
}

func TestSystemIsHealthy(t *testing.T) {
	r := expect(t, call(t, "GET", "/health", "", nil), 200)
	// Public health is a status only: no service names, addresses or errors leak out.
	m := r.JSON(t)
	if len(m) != 1 || m["status"] != "ok" {
		t.Errorf("public /health %v, want only {\"status\":\"ok\"}", m)
	}
}

func TestUnknownPathIsProblem404(t *testing.T) {
	expectProblem(t, call(t, "GET", "/api/v1/no-such-thing", "", nil), 404)
}
