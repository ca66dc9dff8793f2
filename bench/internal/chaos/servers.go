// Package chaos runs fault drills against a private copy of Evently: it starts its own
// PostgreSQL, Redis, Kafka and Mailpit (the project's shared servers are never touched),
// runs a flash sale with the load tool, breaks one thing at a time (stop, freeze, restart
// with data loss, SIGKILL, poison) and then checks from the stores, the topics and the
// mail catcher that nothing was sold twice, lost or applied twice, measuring how long the
// system took to recover.
package chaos

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/IBM/sarama"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"evently.dev/libs/kafka"
	"evently.dev/libs/kafka/localbroker"
)

// server is one child process the drills may stop, freeze and start again.
type server struct {
	name   string
	log    string
	argv   func() []string
	asUser string // run as this OS user (postgres refuses root)
	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

func (s *server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	argv := s.argv()
	if s.asUser != "" {
		argv = append([]string{"runuser", "-u", s.asUser, "--"}, argv...)
	}
	out, err := os.OpenFile(s.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644) //nolint:gosec // G302: a log file in the drill's own directory
	if err != nil {
		return err
	}
	cmd := exec.Command(argv[0], argv[1:]...) //nolint:gosec // G204: fixed server binaries with generated arguments
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Dir = "/"
	// Its own process group: a SIGSTOP/SIGKILL reaches runuser's child too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		_ = out.Close()
		return fmt.Errorf("start %s: %w", s.name, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); _ = out.Close(); close(exited) }()
	s.cmd, s.exited = cmd, exited
	return nil
}

// signal sends sig to the server's whole process group.
func (s *server) signal(sig syscall.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil && s.cmd.Process != nil {
		_ = syscall.Kill(-s.cmd.Process.Pid, sig)
	}
}

// stop sends sig and waits for the exit, killing after wait.
func (s *server) stop(sig syscall.Signal, wait time.Duration) {
	s.mu.Lock()
	exited := s.exited
	s.mu.Unlock()
	if exited == nil {
		return
	}
	s.signal(syscall.SIGCONT)
	s.signal(sig)
	select {
	case <-exited:
	case <-time.After(wait):
		s.signal(syscall.SIGKILL)
		<-exited
	}
}

// Servers are the private servers of one chaos run.
type Servers struct {
	Dir     string
	PG      *Postgres
	Redis   *Redis
	Kafka   *Kafka
	Mailpit *Mailpit
	pgBin   string
	asPG    string
}

// Postgres is a private cluster. Restart uses pg_ctl's fast shutdown.
type Postgres struct {
	srv  *server
	Port int
	data string
	bin  string
	as   string
}

// Redis is a private redis-server without persistence: a restart loses every key.
type Redis struct {
	srv  *server
	Port int
}

// Kafka is a private single-node KRaft broker.
type Kafka struct {
	srv  *server
	Port int
}

// Mailpit is a private SMTP catcher with its HTTP API.
type Mailpit struct {
	srv      *server
	SMTPPort int
	HTTPPort int
}

// ServerOptions locate the server binaries.
type ServerOptions struct {
	// Root is the repository root (for scripts/kafka/log4j2.properties).
	Root string
	// DataDir is EVENTLY_DATA_DIR: the Kafka jars and the Mailpit binary infra.sh fetched.
	DataDir string
	// PGBin holds initdb, pg_ctl and postgres.
	PGBin string
}

// StartServers initialises and starts all four servers on free loopback ports under a new
// temporary directory.
func StartServers(ctx context.Context, o ServerOptions) (*Servers, error) {
	dir, err := os.MkdirTemp("", "evently-chaos-")
	if err != nil {
		return nil, err
	}
	// The postgres user must reach its data directory below this one.
	if err := os.Chmod(dir, 0o755); err != nil { //nolint:gosec // G302: a directory the postgres user must traverse
		return nil, err
	}
	s := &Servers{Dir: dir, pgBin: o.PGBin}
	if os.Geteuid() == 0 {
		s.asPG = "postgres"
	}
	ports, err := freePorts(6)
	if err != nil {
		return nil, err
	}
	steps := []func() error{
		func() error { return s.startPostgres(ctx, ports[0]) },
		func() error { return s.startRedis(ctx, ports[1]) },
		func() error { return s.startKafka(ctx, o, ports[2], ports[3]) },
		func() error { return s.startMailpit(ctx, o, ports[4], ports[5]) },
	}
	for _, f := range steps {
		if err := f(); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// Close stops every server and removes the directory.
func (s *Servers) Close() {
	if s.Mailpit != nil {
		s.Mailpit.srv.stop(syscall.SIGTERM, 10*time.Second)
	}
	if s.Kafka != nil {
		s.Kafka.srv.stop(syscall.SIGTERM, 30*time.Second)
	}
	if s.Redis != nil {
		s.Redis.srv.stop(syscall.SIGTERM, 10*time.Second)
	}
	if s.PG != nil {
		s.PG.srv.stop(syscall.SIGINT, 30*time.Second)
	}
	_ = os.RemoveAll(s.Dir)
}

func (s *Servers) startPostgres(ctx context.Context, port int) error {
	root := filepath.Join(s.Dir, "postgres")
	if err := os.MkdirAll(filepath.Join(root, "run"), 0o700); err != nil {
		return err
	}
	if s.asPG != "" {
		u, err := user.Lookup(s.asPG)
		if err != nil {
			return err
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		for _, d := range []string{root, filepath.Join(root, "run")} {
			if err := os.Chown(d, uid, gid); err != nil {
				return err
			}
		}
	}
	pg := &Postgres{Port: port, data: filepath.Join(root, "data"), bin: s.pgBin, as: s.asPG}
	run := func(args ...string) error {
		if s.asPG != "" {
			args = append([]string{"runuser", "-u", s.asPG, "--"}, args...)
		}
		cmd := exec.CommandContext(ctx, args[0], args[1:]...) //nolint:gosec // G204: the PostgreSQL tools
		cmd.Dir = "/"
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %w\n%s", filepath.Base(args[0]), err, out)
		}
		return nil
	}
	// Trust on loopback: a throwaway cluster reachable only from this machine for one run.
	if err := run(filepath.Join(s.pgBin, "initdb"), "-D", pg.data, "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8",
		"--auth-local=trust", "--auth-host=trust"); err != nil {
		return err
	}
	conf := fmt.Sprintf("listen_addresses = '127.0.0.1'\nport = %d\nunix_socket_directories = '%s'\nmax_connections = 200\n"+
		"shared_buffers = 128MB\nfsync = on\nsynchronous_commit = on\n", port, filepath.Join(root, "run"))
	if err := appendAs(filepath.Join(pg.data, "postgresql.conf"), conf); err != nil {
		return err
	}
	pg.srv = &server{name: "postgres", log: filepath.Join(root, "postgres.log"), asUser: s.asPG,
		argv: func() []string { return []string{filepath.Join(s.pgBin, "postgres"), "-D", pg.data} }}
	s.PG = pg
	if err := pg.srv.start(); err != nil {
		return err
	}
	if err := waitFor(ctx, 60*time.Second, pg.ready); err != nil {
		return fmt.Errorf("private postgres: %w", err)
	}
	c, err := pgx.Connect(ctx, pg.url("postgres", "postgres"))
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	for _, q := range []string{`CREATE ROLE evently LOGIN CREATEDB PASSWORD 'evently'`, `CREATE DATABASE evently OWNER evently`} {
		if _, err := c.Exec(ctx, q); err != nil {
			return fmt.Errorf("private postgres: %s: %w", q, err)
		}
	}
	return nil
}

func appendAs(path, text string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0) //nolint:gosec // G304: the drill's own cluster
	if err != nil {
		return err
	}
	if _, err := f.WriteString(text); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

func (p *Postgres) url(userName, db string) string {
	return fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/%s?sslmode=disable", userName, userName, p.Port, db)
}

// URL is the evently role's connection to db.
func (p *Postgres) URL(db string) string { return p.url("evently", db) }

func (p *Postgres) ready(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, p.url("postgres", "postgres"))
	if err != nil {
		return false
	}
	_ = c.Close(ctx)
	return true
}

// RestartFast stops the cluster with a fast shutdown (SIGINT: open transactions rolled
// back, clients disconnected), waits pause and starts it again.
func (p *Postgres) RestartFast(ctx context.Context, pause time.Duration) error {
	p.srv.stop(syscall.SIGINT, 60*time.Second)
	sleepCtx(ctx, pause)
	if err := p.srv.start(); err != nil {
		return err
	}
	return waitFor(ctx, 60*time.Second, p.ready)
}

func (s *Servers) startRedis(ctx context.Context, port int) error {
	dir := filepath.Join(s.Dir, "redis")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	r := &Redis{Port: port}
	r.srv = &server{name: "redis", log: filepath.Join(dir, "redis.log"), argv: func() []string {
		return []string{"redis-server", "--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--dir", dir,
			"--save", "", "--appendonly", "no", "--notify-keyspace-events", "Ex", "--daemonize", "no"}
	}}
	s.Redis = r
	if err := r.srv.start(); err != nil {
		return err
	}
	return waitFor(ctx, 20*time.Second, r.ready)
}

// Addr is host:port.
func (r *Redis) Addr() string { return "127.0.0.1:" + strconv.Itoa(r.Port) }

func (r *Redis) ready(ctx context.Context) bool {
	c := redis.NewClient(&redis.Options{Addr: r.Addr(), DialTimeout: time.Second})
	defer c.Close()
	return c.Ping(ctx).Err() == nil
}

// RestartEmpty kills the server (no persistence, so every key is gone) and starts an empty
// one on the same port.
func (r *Redis) RestartEmpty(ctx context.Context) error {
	r.srv.stop(syscall.SIGKILL, 10*time.Second)
	if err := r.srv.start(); err != nil {
		return err
	}
	return waitFor(ctx, 20*time.Second, r.ready)
}

func (s *Servers) startKafka(ctx context.Context, o ServerOptions, port, ctrl int) error {
	dir := filepath.Join(s.Dir, "kafka")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	libs := filepath.Join(o.DataDir, "kafka", "libs")
	propsFile, err := localbroker.Prepare(ctx, libs, dir, port, ctrl)
	if err != nil {
		return err
	}
	k := &Kafka{Port: port}
	k.srv = &server{name: "kafka", log: filepath.Join(dir, "kafka.out"), argv: func() []string {
		return localbroker.Args(libs, propsFile, filepath.Join(dir, "logs"),
			filepath.Join(o.Root, "scripts", "kafka", "log4j2.properties"), "512m")
	}}
	s.Kafka = k
	return k.Start(ctx)
}

// Addr is the bootstrap address.
func (k *Kafka) Addr() string { return "127.0.0.1:" + strconv.Itoa(k.Port) }

// Start starts the broker and waits until it answers metadata requests.
func (k *Kafka) Start(ctx context.Context) error {
	if err := k.srv.start(); err != nil {
		return err
	}
	return waitFor(ctx, 120*time.Second, k.ready)
}

func (k *Kafka) ready(context.Context) bool {
	cfg := sarama.NewConfig()
	cfg.Version = kafka.Version
	cfg.Net.DialTimeout = 2 * time.Second
	c, err := sarama.NewClient([]string{k.Addr()}, cfg)
	if err != nil {
		return false
	}
	defer c.Close()
	return len(c.Brokers()) > 0
}

// Stop shuts the broker down the way a service manager would (SIGTERM).
func (k *Kafka) Stop() { k.srv.stop(syscall.SIGTERM, 60*time.Second) }

// Freeze and Thaw stop and resume the broker's process (SIGSTOP / SIGCONT).
func (k *Kafka) Freeze() { k.srv.signal(syscall.SIGSTOP) }

// Thaw resumes a frozen broker.
func (k *Kafka) Thaw() { k.srv.signal(syscall.SIGCONT) }

func (s *Servers) startMailpit(ctx context.Context, o ServerOptions, smtpPort, httpPort int) error {
	bin := filepath.Join(o.DataDir, "bin", "mailpit")
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("mailpit not found at %s (run make infra-up once): %w", bin, err)
	}
	dir := filepath.Join(s.Dir, "mailpit")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	m := &Mailpit{SMTPPort: smtpPort, HTTPPort: httpPort}
	m.srv = &server{name: "mailpit", log: filepath.Join(dir, "mailpit.log"), argv: func() []string {
		return []string{bin, "--smtp", fmt.Sprintf("127.0.0.1:%d", smtpPort), "--listen", fmt.Sprintf("127.0.0.1:%d", httpPort),
			"--database", filepath.Join(dir, "mailpit.db"), "--smtp-auth-accept-any", "--smtp-auth-allow-insecure",
			// Keep every message: the e-mail check counts them all (the default prunes at 500).
			"--max", "0"}
	}}
	s.Mailpit = m
	return m.Start(ctx)
}

// Start starts Mailpit (keeping its database) and waits for its API.
func (m *Mailpit) Start(ctx context.Context) error {
	if err := m.srv.start(); err != nil {
		return err
	}
	return waitFor(ctx, 30*time.Second, m.ready)
}

// Stop ends Mailpit: the SMTP port refuses connections until Start.
func (m *Mailpit) Stop() { m.srv.stop(syscall.SIGTERM, 15*time.Second) }

// API is the base URL of Mailpit's HTTP API.
func (m *Mailpit) API() string { return fmt.Sprintf("http://127.0.0.1:%d/api/v1", m.HTTPPort) }

func (m *Mailpit) ready(ctx context.Context) bool {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, m.API()+"/info", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	_ = res.Body.Close()
	return res.StatusCode == http.StatusOK
}

// freePorts reserves n distinct loopback ports (released just before the servers bind).
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	var out []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}

func waitFor(ctx context.Context, d time.Duration, ok func(context.Context) bool) error {
	deadline := time.Now().Add(d)
	for !ok(ctx) {
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s", d)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		sleepCtx(ctx, 250*time.Millisecond)
	}
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
