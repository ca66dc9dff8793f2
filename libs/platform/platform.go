// Package platform runs one Evently service process: it loads configuration, sets up
// logging and telemetry, opens PostgreSQL (and Redis and Kafka when asked), migrates,
// builds the HTTP server with identity assertions, runs background workers such as the
// outbox relay and consumers, and shuts everything down in order on a signal. A service's
// main only wires its own handlers and use cases.
package platform

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"

	"evently.dev/libs/assertion"
	"evently.dev/libs/config"
	"evently.dev/libs/consumer"
	"evently.dev/libs/httpserver"
	"evently.dev/libs/kafka"
	"evently.dev/libs/logging"
	"evently.dev/libs/migrate"
	"evently.dev/libs/outbox"
	"evently.dev/libs/pg"
	"evently.dev/libs/redisx"
	"evently.dev/libs/retry"
	"evently.dev/libs/telemetry"
)

// Version is the build's version, set with -ldflags "-X evently.dev/libs/platform.Version=...".
var Version = "dev"

// Common is the configuration every service has.
type Common struct {
	LogLevel string `envconfig:"LOG_LEVEL" default:"info"`
	// PprofAddr serves Go's profiler (net/http/pprof) on a listener of its own when set,
	// e.g. 127.0.0.1:6060; PPROF_ENABLED puts it on the admin listener instead.
	PprofAddr string `envconfig:"PPROF_ADDR"`
	HTTP      httpserver.Config
	DB        pg.Config
	Assertion assertion.Config
	// Outbox and Consumer tune the outbox relay and the consumers of services using Kafka.
	Outbox   outbox.Config
	Consumer consumer.Config
}

// Service describes one service binary to Main.
type Service struct {
	// Name is the service's name in logs, traces and metrics.
	Name string
	// DefaultAddr is the listen address when HTTP_ADDR is unset (e.g. ":8083"). The admin
	// listener defaults to the same port plus 1000 (":9083") when ADMIN_ADDR is unset.
	DefaultAddr string
	// DefaultSchema is the PostgreSQL schema when DB_SCHEMA is unset.
	DefaultSchema string
	// Config points at the service's configuration struct, loaded from the environment.
	Config any
	// Common, Redis and Kafka point into Config at the shared parts; Redis and Kafka are
	// nil for a service that does not use them.
	Common *Common
	Redis  *redisx.Config
	Kafka  *kafka.Config
	// Migrations are the service's own SQL files; the outbox and inbox tables are added.
	Migrations fs.FS
	// Topics are created (with their DLQs) at start-up when Kafka is used.
	Topics []string
	// Setup registers routes, consumers and workers on the runtime.
	Setup func(ctx context.Context, rt *Runtime) error
	// Commands are extra subcommands (besides serve and migrate), run after setup.
	Commands map[string]func(ctx context.Context, rt *Runtime, args []string) error
}

// Runtime is what a service's Setup gets to wire itself.
type Runtime struct {
	Service string
	Log     *slog.Logger
	DB      *bun.DB
	Redis   *redis.Client
	Kafka   kafka.Config
	Server  *httpserver.Server
	// Echo is the router, with identity assertions already verified on every request.
	Echo *echo.Echo

	mu      sync.Mutex
	workers []worker
	closers []func()
	// consumer is the environment's consumer settings, applied by Consume.
	consumer consumer.Config
}

type worker struct {
	name string
	fn   func(ctx context.Context) error
}

// Go runs fn for the life of the process; if it fails, the process stops.
func (rt *Runtime) Go(name string, fn func(ctx context.Context) error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.workers = append(rt.workers, worker{name, fn})
}

// OnClose runs fn at shutdown, after the server and workers stopped.
func (rt *Runtime) OnClose(fn func()) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.closers = append(rt.closers, fn)
}

// Consume starts a consumer-group runner whose handler applies each event exactly once.
func (rt *Runtime) Consume(opts consumer.Options) error {
	if opts.Logger == nil {
		opts.Logger = rt.Log
	}
	opts = rt.consumer.Apply(opts)
	r, err := consumer.New(rt.Kafka, rt.DB, opts)
	if err != nil {
		return fmt.Errorf("consumer %s: %w", opts.Group, err)
	}
	// The check fails only after the runner has been out of a group session for a while
	// (consumer.Options.UnhealthyAfter), so rebalances do not flap readiness, but a
	// service whose events stopped applying stops reporting ready.
	rt.Server.AddCheck("consumer:"+opts.Group, r.Check)
	rt.Go("consumer:"+opts.Group, r.Run)
	return nil
}

// Main runs the service with the process's arguments and exits non-zero on failure.
// Subcommands: serve (default), migrate [up|down N], topics (create the service's Kafka
// topics), healthcheck (asks the running process's /readyz, for container engines) and
// the service's own.
func Main(s Service) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := Run(ctx, s, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", s.Name, err)
		os.Exit(1)
	}
}

// Run is Main without the process: it returns when ctx ends or start-up fails. The steps
// read in order: configure, answer the commands that need no database, open and migrate
// the database, build the runtime (server, Redis, Kafka, relay), let the service wire
// itself, then run the command.
func Run(ctx context.Context, s Service, args []string) error {
	log, err := configure(s)
	if err != nil {
		return err
	}
	c := s.Common
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "healthcheck":
		// Before anything is opened: this is a container probe of the running process.
		return httpserver.Probe(ctx, c.HTTP.ProbeAddr())
	case "topics":
		// Deployment hook: create the service's topics (and DLQs) without opening the
		// database, so a platform team can run it before any server starts.
		return createTopics(ctx, log, s)
	}
	migrations := []fs.FS{outbox.Migrations, consumer.Migrations}
	if s.Migrations != nil {
		migrations = append(migrations, s.Migrations)
	}

	db, err := pg.Open(ctx, c.DB)
	if err != nil {
		return err
	}
	defer db.Close()

	if cmd == "migrate" {
		return runMigrate(ctx, log, db, c.DB.Schema, migrations, args)
	}
	if _, known := s.Commands[cmd]; cmd != "serve" && !known {
		return fmt.Errorf("unknown command %q (want serve, migrate or one of the service's commands)", cmd)
	}
	log.Info("starting", "command", cmd, "version", Version, "config", config.String(s.Config))

	tel, err := telemetry.Setup(ctx, s.Name, Version)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = tel.Shutdown(sctx)
	}()

	if c.DB.MigrateOnStart || cmd != "serve" {
		if _, err := migrate.Up(ctx, db, c.DB.Schema, migrations...); err != nil {
			return err
		}
	}
	if c.PprofAddr != "" {
		go servePprof(ctx, log, c.PprofAddr)
	}
	rt, err := newRuntime(ctx, s, log, db, tel.Handler(), cmd == "serve")
	// Closed in reverse order after serving (or a failed start), whatever was registered.
	defer rt.close()
	if err != nil {
		return err
	}
	if s.Setup != nil {
		if err := s.Setup(ctx, rt); err != nil {
			return fmt.Errorf("setup: %w", err)
		}
	}
	if cmd != "serve" {
		return s.Commands[cmd](ctx, rt, args)
	}
	ln, err := net.Listen("tcp", c.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", c.HTTP.Addr, err)
	}
	return rt.serve(ctx, ln, c.HTTP.ShutdownTimeout)
}

// configure loads the configuration, fills the service's defaults and sets up logging.
func configure(s Service) (*slog.Logger, error) {
	if err := config.Load(s.Config); err != nil {
		return nil, err
	}
	c := s.Common
	if c.HTTP.Addr == "" {
		c.HTTP.Addr = s.DefaultAddr
	}
	if c.HTTP.AdminAddr == "" {
		c.HTTP.AdminAddr = httpserver.AdminAddrFor(s.DefaultAddr)
	}
	if c.DB.Schema == "" {
		c.DB.Schema = s.DefaultSchema
	}
	log := logging.New(s.Name, c.LogLevel)
	slog.SetDefault(log)
	return log, nil
}

// newRuntime builds the HTTP server with identity assertions and readiness checks, opens
// Redis and prepares Kafka (topics, and the outbox relay when serving). The runtime is
// returned even on error so that what was opened gets closed.
func newRuntime(ctx context.Context, s Service, log *slog.Logger, db *bun.DB, metrics http.Handler, serving bool) (*Runtime, error) {
	c := s.Common
	rt := &Runtime{Service: s.Name, Log: log, DB: db, consumer: c.Consumer}
	rt.Server = httpserver.New(httpserver.Options{Service: s.Name, Config: c.HTTP, Logger: log, Metrics: metrics})
	rt.Echo = rt.Server.Echo
	rt.Echo.Use(assertion.Middleware(c.Assertion.Secret))
	rt.Server.AddCheck("postgres", pg.Check(db))

	if s.Redis != nil {
		rdb, err := redisx.Open(ctx, *s.Redis)
		if err != nil {
			return rt, err
		}
		rt.OnClose(func() { _ = rdb.Close() })
		rt.Redis = rdb
		rt.Server.AddCheck("redis", redisx.Check(rdb))
	}
	if s.Kafka != nil {
		rt.Kafka = s.Kafka.WithDefaults()
		if err := createTopics(ctx, log, s); err != nil {
			return rt, err
		}
		rt.Server.AddCheck("kafka", kafkaReachable(rt.Kafka))
		if serving {
			relay := outbox.NewRelay(db, rt.Kafka, outbox.RelayOptions{Logger: log, MaxAttempts: c.Outbox.MaxAttempts,
				Linger: c.Outbox.Linger})
			rt.Server.AddCheck("outbox-relay", relay.Check)
			rt.Server.HandleAdmin(outbox.AdminPrefix, outbox.AdminHandler(db, log))
			rt.Go("outbox-relay", relay.Run)
		}
	}
	return rt, nil
}

// close runs the OnClose functions in reverse order of registration.
func (rt *Runtime) close() {
	rt.mu.Lock()
	closers := rt.closers
	rt.mu.Unlock()
	for i := len(closers) - 1; i >= 0; i-- {
		closers[i]()
	}
}

// createTopics creates the service's topics with their DLQs; nothing for a service
// without Kafka.
func createTopics(ctx context.Context, log *slog.Logger, s Service) error {
	if s.Kafka == nil || len(s.Topics) == 0 {
		return nil
	}
	specs := make([]kafka.TopicSpec, 0, len(s.Topics))
	for _, t := range s.Topics {
		specs = append(specs, kafka.TopicSpec{Name: t, DLQ: true})
	}
	if err := ensureTopics(ctx, log, s.Kafka.WithDefaults(), specs); err != nil {
		return err
	}
	log.Info("topics ready", "count", len(specs)*2)
	return nil
}

// ensureTopics retries for a while: at start-up the broker may still be coming up.
func ensureTopics(ctx context.Context, log *slog.Logger, cfg kafka.Config, specs []kafka.TopicSpec) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := kafka.EnsureTopics(ctx, cfg, specs...)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("create topics: %w", err)
		}
		log.Warn("kafka not ready, retrying topic creation", "error", err)
		if !retry.Sleep(ctx, 2*time.Second) {
			return ctx.Err()
		}
	}
}

// servePprof exposes the profiler on its own listener, never on the service's API port.
func servePprof(ctx context.Context, log *slog.Logger, addr string) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	log.Info("pprof listening", "addr", addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Warn("pprof listener failed", "error", err)
	}
}

// kafkaReachable is a cheap readiness probe: a TCP connection to any bootstrap broker.
// The outbox keeps events safe while Kafka is away, so this reports rather than blocks.
func kafkaReachable(cfg kafka.Config) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		var d net.Dialer
		var last error
		for _, b := range cfg.Brokers {
			conn, err := d.DialContext(ctx, "tcp", b)
			if err == nil {
				_ = conn.Close()
				return nil
			}
			last = err
		}
		return fmt.Errorf("no broker reachable: %w", last)
	}
}

// serve runs the workers and the HTTP server until ctx ends or one of them fails, then
// stops them in dependency order: the server drains first (readiness fails at once, the
// listener closes, in-flight requests finish within the shutdown timeout) while the
// workers keep running, because an in-flight request may still write outbox rows the
// relay should send; only then are the workers (relay, consumers) cancelled, each
// finishing the message it holds, and waited for within the same bound.
func (rt *Runtime) serve(ctx context.Context, ln net.Listener, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	srvCtx, stopServer := context.WithCancel(ctx)
	defer stopServer()
	// Workers outlive the signal until the server has drained.
	workCtx, stopWorkers := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWorkers()

	failed := make(chan error, len(rt.workers)+1)
	workersDone := rt.startWorkers(workCtx, failed)
	served := make(chan error, 1)
	go func() { served <- rt.Server.Serve(srvCtx, ln) }()

	var err error
	select {
	case <-ctx.Done():
		rt.Log.Info("shutting down")
	case err = <-failed:
		rt.Log.Error("stopping after failure", "error", err)
	case err = <-served:
		if err != nil {
			rt.Log.Error("http server failed", "error", err)
		}
		served <- nil
	}
	stopServer()
	if serr := <-served; serr != nil && err == nil {
		err = serr
	}
	stopWorkers()
	select {
	case <-workersDone:
	case <-time.After(timeout):
		rt.Log.Warn("workers did not stop in time", "timeout", timeout)
	}
	rt.Log.Info("stopped")
	return err
}

// startWorkers runs every registered worker on ctx; a worker failing before ctx ends is
// reported on failed. The returned channel closes when all have returned.
func (rt *Runtime) startWorkers(ctx context.Context, failed chan<- error) <-chan struct{} {
	done := make(chan struct{})
	var wg sync.WaitGroup
	for _, w := range rt.workers {
		wg.Add(1)
		go func(w worker) {
			defer wg.Done()
			if err := w.fn(ctx); err != nil && !errors.Is(err, context.Canceled) && ctx.Err() == nil {
				failed <- fmt.Errorf("%s: %w", w.name, err)
			}
		}(w)
	}
	go func() {
		wg.Wait()
		close(done)
	}()
	return done
}

func runMigrate(ctx context.Context, log *slog.Logger, db *bun.DB, schema string, migrations []fs.FS, args []string) error {
	dir := "up"
	if len(args) > 0 {
		dir = args[0]
	}
	switch dir {
	case "up":
		n, err := migrate.Up(ctx, db, schema, migrations...)
		if err != nil {
			return err
		}
		log.Info("migrations applied", "schema", schema, "count", n)
		return nil
	case "down":
		steps := 1
		if len(args) > 1 {
			n, err := strconv.Atoi(args[1])
			if err != nil || n < 1 {
				return fmt.Errorf("migrate down: steps must be a positive integer")
			}
			steps = n
		}
		n, err := migrate.Down(ctx, db, schema, steps, migrations...)
		if err != nil {
			return err
		}
		log.Info("migrations reverted", "schema", schema, "count", n)
		return nil
	default:
		return fmt.Errorf("migrate: want up or down [N], got %q", dir)
	}
}
