// Command chaos is `make chaos`: fault drills against a private copy of Evently. It starts
// its own PostgreSQL, Redis, Kafka and Mailpit on free ports (the project's shared servers
// are never stopped, frozen or flushed), starts the services against them, and for each
// drill runs a paced flash sale, injects one fault mid-sale, repairs it and checks that
// nothing was sold twice, lost or applied twice, measuring the time to recover.
//
//	go run ./bench/cmd/chaos            # every drill (about 15 minutes)
//	go run ./bench/cmd/chaos -short     # broker stop, Redis loss, one SIGKILL (for make test)
//
// It writes bench/results/<UTC date>/chaos/report.md and report.json and exits non-zero
// when a drill fails.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"evently.dev/bench/internal/chaos"
	"evently.dev/bench/internal/client"
	"evently.dev/bench/internal/report"
	"evently.dev/bench/internal/system"
)

type options struct {
	short    bool
	out      string
	drills   string
	buyers   int
	clients  int
	rate     float64
	logLevel string
	pgBin    string
	d        chaos.Durations
}

func parseFlags(args []string) (options, *flag.FlagSet, error) {
	var o options
	fs := flag.NewFlagSet("chaos", flag.ContinueOnError)
	names := make([]string, 0, 10)
	for _, d := range chaos.Drills() {
		names = append(names, d.Name)
	}
	fs.BoolVar(&o.short, "short", false, "the short drills for make test: small sale, short faults, drills "+shortDrills+" (explicit flags still win)")
	fs.StringVar(&o.out, "out", "", "results folder (default bench/results/<UTC date>/chaos)")
	fs.StringVar(&o.drills, "drills", strings.Join(names, ","), "drills to run, comma-separated")
	fs.IntVar(&o.buyers, "buyers", 100, "buyers registered for the sales")
	fs.IntVar(&o.clients, "clients", 32, "concurrent clients of each sale")
	fs.Float64Var(&o.rate, "rate", 25, "bookings started per second in each sale (2 seats each)")
	fs.StringVar(&o.logLevel, "log-level", "info", "LOG_LEVEL of the services")
	fs.StringVar(&o.pgBin, "pg-bin", "/usr/lib/postgresql/15/bin", "directory of initdb and postgres (PostgreSQL 15)")
	fs.DurationVar(&o.d.Lead, "lead", 5*time.Second, "sale time before each fault")
	fs.DurationVar(&o.d.Tail, "tail", 10*time.Second, "sale time after each fault")
	fs.DurationVar(&o.d.KafkaDown, "kafka-down", 30*time.Second, "how long the broker stays stopped")
	fs.DurationVar(&o.d.KafkaFrozen, "kafka-frozen", 30*time.Second, "how long the broker stays frozen")
	fs.DurationVar(&o.d.PGDown, "pg-down", 2*time.Second, "gap between PostgreSQL's fast shutdown and its start")
	fs.DurationVar(&o.d.KillDown, "kill-down", time.Second, "gap between a service's SIGKILL and its restart")
	fs.DurationVar(&o.d.SMTPDown, "smtp-down", 60*time.Second, "how long the SMTP server stays down")
	fs.DurationVar(&o.d.Recover, "recover", 2*time.Minute, "bound of every wait for recovery (a drill fails beyond it)")
	fs.DurationVar(&o.d.Stall, "stall", 20*time.Second, "end a drill's sale when nothing sold for the fault's length plus this")
	fs.DurationVar(&o.d.Settle, "settle", 30*time.Second, "how long PENDING bookings get to settle (above booking's 10 s reconciler interval)")
	if err := fs.Parse(args); err != nil {
		return o, fs, err
	}
	if o.short {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		small := map[string]string{"drills": shortDrills, "buyers": "24", "clients": "12", "rate": "12", "lead": "3s",
			"tail": "4s", "kafka-down": "10s", "recover": "60s", "stall": "10s"}
		for k, v := range small {
			if !set[k] {
				_ = fs.Set(k, v)
			}
		}
	}
	if o.buyers < 1 || o.clients < 1 || o.rate <= 0 {
		return o, fs, errors.New("-buyers, -clients and -rate must be positive")
	}
	return o, fs, nil
}

// shortDrills are the drills of -short.
const shortDrills = "kafka-stop,redis-restart,kill-booking"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := run(ctx, os.Args[1:], os.Stdout)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(1)
	}
	if !rep.Passed() {
		fmt.Fprintln(os.Stderr, "chaos: a drill failed (see the table and report.md)")
		os.Exit(2)
	}
}

func logf(out io.Writer) func(string, ...any) {
	var mu sync.Mutex
	return func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(out, "[chaos %s] %s\n", time.Now().UTC().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
}

func run(ctx context.Context, args []string, out io.Writer) (*chaos.Report, error) {
	o, fs, err := parseFlags(args)
	if err != nil {
		return nil, err
	}
	var drills []chaos.Drill
	for _, name := range strings.Split(o.drills, ",") {
		found := false
		for _, d := range chaos.Drills() {
			if d.Name == strings.TrimSpace(name) {
				drills, found = append(drills, d), true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown drill %q", name)
		}
	}
	root, err := system.RepoRoot()
	if err != nil {
		return nil, err
	}
	started := time.Now().UTC()
	if o.out == "" {
		o.out = filepath.Join(root, "bench", "results", started.Format("2006-01-02"), "chaos")
	}
	dataDir := os.Getenv("EVENTLY_DATA_DIR")
	if dataDir == "" {
		dataDir = filepath.Join(root, ".data")
	}
	mode := "full"
	if o.short {
		mode = "short"
	}
	flags := map[string]string{}
	fs.VisitAll(func(f *flag.Flag) { flags[f.Name] = f.Value.String() })
	// Reports get committed: the results folder is named as the repository sees it.
	if flags["out"] != "" {
		flags["out"] = report.ShownPath(root, o.out)
	}
	args = report.WithOut(args, report.ShownPath(root, o.out))
	rep := &chaos.Report{StartedAt: started.Format(time.RFC3339), Mode: mode, Command: "chaos " + strings.Join(args, " "), Flags: flags}
	log := logf(out)

	log("starting private PostgreSQL, Redis, Kafka and Mailpit")
	srv, err := chaos.StartServers(ctx, chaos.ServerOptions{Root: root, DataDir: dataDir, PGBin: o.pgBin})
	if err != nil {
		return nil, fmt.Errorf("private servers: %w", err)
	}
	defer srv.Close()
	log("servers up: postgres :%d, redis :%d, kafka :%d, smtp :%d (api :%d) in %s", srv.PG.Port, srv.Redis.Port, srv.Kafka.Port,
		srv.Mailpit.SMTPPort, srv.Mailpit.HTTPPort, srv.Dir)

	env := map[string]string{
		"PG_HOST": "127.0.0.1", "PG_PORT": fmt.Sprint(srv.PG.Port), "PG_USER": "evently", "PG_PASSWORD": "evently",
		"KAFKA_BROKERS": srv.Kafka.Addr(), "REDIS_ADDR": srv.Redis.Addr(),
		"SMTP_HOST": "127.0.0.1", "SMTP_PORT": fmt.Sprint(srv.Mailpit.SMTPPort),
	}
	log("starting a private copy of Evently against them (build + start)")
	sys, err := system.Start(ctx, system.Options{Root: root, LogLevel: o.logLevel, AdminDatabaseURL: srv.PG.URL("evently"),
		RedisAddr: srv.Redis.Addr(), KafkaBrokers: []string{srv.Kafka.Addr()}, Env: env, Out: out})
	if err != nil {
		return nil, err
	}
	defer sys.Stop()
	rep.Settings = sys.Settings
	for k, v := range env {
		rep.Settings[k] = v
	}
	services := map[string]chaos.Service{}
	metrics := map[string]string{}
	for _, n := range system.Services[1:] {
		u := sys.ServiceURL(n)
		services[n] = chaos.Service{Name: n, RunDir: sys.RunDir, HealthURL: u + "/readyz"}
		metrics[n] = adminURL(u) + "/metrics"
	}
	api, err := client.New(sys.BaseURL(), 2*o.clients)
	if err != nil {
		return nil, err
	}
	e := &chaos.Env{Servers: srv, Services: services, API: api, Rate: o.rate, Clients: o.clients, D: o.d, Logf: log,
		Probe: chaos.Probe{DatabaseURL: sys.DatabaseURL(), Brokers: []string{srv.Kafka.Addr()}, TopicPrefix: sys.TopicPrefix,
			MailAPI: srv.Mailpit.API(), MetricsURLs: metrics}}
	if e.Admin, e.Buyers, err = setup(ctx, api, o.buyers, log); err != nil {
		return nil, err
	}
	for _, d := range drills {
		if ctx.Err() != nil {
			rep.Errors = append(rep.Errors, "interrupted")
			break
		}
		r := chaos.Run(ctx, e, d)
		rep.Results = append(rep.Results, r)
		log("%s: ok=%v sold %d/%d, first OK %.1f s, caught up %.1f s, analytics %.1f s %v", d.Name, r.OK, r.Sale.SeatsSold, r.Seats,
			r.FirstSuccessS, r.CaughtUpS, r.AnalyticsS, r.Problems)
		if !r.OK {
			for _, n := range system.Services {
				if tail := sys.LogTail(n, 8); tail != "" && strings.Contains(tail, "ERROR") {
					log("last lines of %s.log:\n%s", n, tail)
				}
			}
		}
	}
	if err := rep.Write(o.out); err != nil {
		return rep, err
	}
	fmt.Fprintln(out)
	rep.Table(out)
	log("report in %s", o.out)
	return rep, nil
}

// adminURL is a service's admin listener: run.sh puts it 1000 ports above the service.
func adminURL(serviceURL string) string {
	i := strings.LastIndex(serviceURL, ":")
	var port int
	_, _ = fmt.Sscan(serviceURL[i+1:], &port)
	return fmt.Sprintf("%s:%d", serviceURL[:i], port+1000)
}

// setup signs the admin in and registers the buyers, 6 at a time (password hashing is
// deliberately slow).
func setup(ctx context.Context, api *client.Client, n int, log func(string, ...any)) (string, []string, error) {
	s, err := api.Login(ctx, system.AdminEmail, system.AdminPassword)
	if err != nil {
		return "", nil, fmt.Errorf("admin login: %w", err)
	}
	log("registering %d buyers", n)
	buyers := make([]string, n)
	run := time.Now().UnixNano()
	var next atomic.Int64
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				b, err := api.Register(ctx, fmt.Sprintf("buyer-%d-%d@chaos.example.com", run, i), "chaos-buyer-password")
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				buyers[i] = b.AccessToken
			}
		})
	}
	wg.Wait()
	return s.AccessToken, buyers, firstErr
}
