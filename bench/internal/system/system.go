// Package system starts and stops a private copy of Evently for one bench run, the way the
// end-to-end tests do: scripts/run.sh with its own ports, database, topic prefix, Redis key
// prefix and run directory, so a `make run` copy and other test runs keep working.
package system

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"evently.dev/libs/kafka"
)

// Services are the processes run.sh starts, gateway first.
var Services = []string{"gateway", "identity", "catalog", "inventory", "booking", "waitlist", "analytics"}

// AssertionSecret is the gateway-to-service secret of the private copy; the bench's bare
// proxy signs with it too, so its requests reach the services exactly like the gateway's.
//
//nolint:gosec // a throwaway local secret of a private bench copy
const AssertionSecret = "bench-assertion-secret-local-only"

// Admin credentials of the bootstrap admin (scripts/run.sh leaves identity's defaults).
const (
	AdminEmail    = "admin@evently.local"
	AdminPassword = "evently-admin"
)

// Options configure a private copy.
type Options struct {
	// Root is the repository root (where scripts/run.sh lives).
	Root string
	// RateLimitOff turns the gateway's limiter off instead of raising its limits.
	RateLimitOff bool
	// LogLevel of every service.
	LogLevel string
	// AdminDatabaseURL is a database on the shared server to connect to for CREATE/DROP.
	AdminDatabaseURL string
	// RedisAddr and KafkaBrokers are the shared servers, for cleanup.
	RedisAddr    string
	KafkaBrokers []string
	// Env overrides settings of every process of the copy (server addresses, intervals);
	// the chaos drills point the copy at servers of their own this way. Nil changes nothing.
	Env map[string]string
	// Out receives run.sh's output.
	Out io.Writer
}

// System is a running private copy.
type System struct {
	opts        Options
	env         []string
	PortBase    int
	DBName      string
	TopicPrefix string
	RedisPrefix string
	RunDir      string
	// Settings are the non-default settings the copy runs with (printed in the report).
	Settings map[string]string
}

// BaseURL is the gateway of the copy.
func (s *System) BaseURL() string { return fmt.Sprintf("http://127.0.0.1:%d", s.PortBase) }

// ServiceURL is the direct address of one service (gateway excluded).
func (s *System) ServiceURL(name string) string {
	for i, n := range Services {
		if n == name {
			return fmt.Sprintf("http://127.0.0.1:%d", s.PortBase+i)
		}
	}
	return ""
}

// DatabaseURL is the copy's database on the shared server.
func (s *System) DatabaseURL() string { return withDB(s.opts.AdminDatabaseURL, s.DBName) }

// Start builds and starts the copy and waits until the gateway reports every service ready.
func Start(ctx context.Context, o Options) (*System, error) {
	suffix := randHex(4)
	base, err := freePortBase()
	if err != nil {
		return nil, err
	}
	dataDir := os.Getenv("EVENTLY_DATA_DIR")
	if dataDir == "" {
		dataDir = filepath.Join(o.Root, ".data")
	}
	s := &System{opts: o, PortBase: base, DBName: "bench_" + suffix, TopicPrefix: "bench-" + suffix + "-",
		RedisPrefix: "bench-" + suffix + ":", RunDir: filepath.Join(dataDir, "bench-"+suffix)}
	s.Settings = map[string]string{
		// A rush from one address would hit every per-IP and per-user budget at once; the
		// limits are raised far above what the run sends, so the limiter still runs (and
		// costs what it costs in production) but never refuses.
		"GLOBAL_RATE_LIMIT_PER_MINUTE":  "100000000",
		"AUTH_RATE_LIMIT_PER_MINUTE":    "100000000",
		"BOOKING_RATE_LIMIT_PER_MINUTE": "100000000",
		"RATE_LIMIT_ENABLED":            "true",
		// Tokens of buyers registered at the start must outlive the whole run.
		"ACCESS_TOKEN_TTL": "2h",
		"LOG_LEVEL":        o.LogLevel,
	}
	if o.RateLimitOff {
		s.Settings["RATE_LIMIT_ENABLED"] = "false"
	}
	s.env = append(os.Environ(),
		"EVENTLY_DATA_DIR="+dataDir,
		"EVENTLY_PORT_BASE="+strconv.Itoa(base),
		"EVENTLY_DB_NAME="+s.DBName,
		"KAFKA_TOPIC_PREFIX="+s.TopicPrefix,
		"REDIS_KEY_PREFIX="+s.RedisPrefix,
		"EVENTLY_RUN_DIR="+s.RunDir,
		"EVENTLY_BIN_DIR="+filepath.Join(s.RunDir, "bin"),
		"IDENTITY_ASSERTION_SECRET="+AssertionSecret,
		"DATABASE_URL=",
	)
	for _, k := range sortedKeys(s.Settings) {
		s.env = append(s.env, k+"="+s.Settings[k])
	}
	// Later entries win (exec keeps the last value of a repeated name).
	for _, k := range sortedKeys(o.Env) {
		s.env = append(s.env, k+"="+o.Env[k])
	}
	if err := s.script(ctx, "start"); err != nil {
		s.Stop()
		return nil, fmt.Errorf("start the private copy: %w", err)
	}
	return s, nil
}

func (s *System) script(ctx context.Context, arg string) error {
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(s.opts.Root, "scripts", "run.sh"), arg) //nolint:gosec // G204: the repository's own script
	cmd.Env = s.env
	cmd.Stdout, cmd.Stderr = s.opts.Out, s.opts.Out
	return cmd.Run()
}

// Pids maps each running service of the copy to its process id (from run.sh's pid files).
func (s *System) Pids() map[string]int {
	out := map[string]int{}
	for _, n := range Services {
		b, err := os.ReadFile(filepath.Join(s.RunDir, n+".pid")) //nolint:gosec // G304: the copy's own run directory
		if err != nil {
			continue
		}
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			out[n] = pid
		}
	}
	return out
}

// LogTail returns the last lines of a service's log, for error reports.
func (s *System) LogTail(name string, lines int) string {
	b, err := os.ReadFile(filepath.Join(s.RunDir, name+".log")) //nolint:gosec // G304: the copy's own run directory
	if err != nil {
		return ""
	}
	all := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// Stop ends the copy's processes and removes everything it made: its database, topics,
// Redis keys (by prefix, never a flush: Redis is shared) and run directory.
func (s *System) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_ = s.script(ctx, "stop")
	if c, err := pgx.Connect(ctx, s.opts.AdminDatabaseURL); err == nil {
		_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{s.DBName}.Sanitize()+" WITH (FORCE)")
		_ = c.Close(ctx)
	}
	deleteTopics(ctx, s.opts.KafkaBrokers, s.TopicPrefix)
	DeleteRedisPrefix(ctx, s.opts.RedisAddr, s.RedisPrefix)
	_ = os.RemoveAll(s.RunDir)
}

// DeleteRedisPrefix removes every key under prefix with SCAN + DEL.
func DeleteRedisPrefix(ctx context.Context, addr, prefix string) {
	if prefix == "" {
		return // never everything
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	it := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	batch := make([]string, 0, 500)
	for it.Next(ctx) {
		batch = append(batch, it.Val())
		if len(batch) == cap(batch) {
			rdb.Del(ctx, batch...)
			batch = batch[:0]
		}
	}
	if len(batch) > 0 {
		rdb.Del(ctx, batch...)
	}
}

func deleteTopics(ctx context.Context, brokers []string, prefix string) {
	cfg := kafka.Config{Brokers: brokers}.WithDefaults()
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
	_ = kafka.DeleteTopics(ctx, cfg, names...)
}

// freePortBase finds seven consecutive free loopback ports in a range the e2e tests do not
// use (they pick from 18000–21999).
func freePortBase() (int, error) {
	for range 50 {
		b := make([]byte, 2)
		_, _ = rand.Read(b)
		base := 24000 + (int(b[0])<<8|int(b[1]))%300*10
		if portsFree(base, len(Services)) {
			return base, nil
		}
	}
	return 0, fmt.Errorf("no block of %d free ports found", len(Services))
}

func withDB(u, db string) string {
	q := ""
	if i := strings.Index(u, "?"); i >= 0 {
		u, q = u[:i], u[i:]
	}
	return u[:strings.LastIndex(u, "/")+1] + db + q
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// RepoRoot walks up from the working directory to the folder holding scripts/run.sh, the
// root the private copy is built and started from.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "scripts", "run.sh")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run from inside the Evently repository (scripts/run.sh not found)")
		}
		dir = parent
	}
}
