package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"evently.dev/bench/internal/baseline"
	"evently.dev/bench/internal/check"
	"evently.dev/bench/internal/client"
	"evently.dev/bench/internal/load"
	"evently.dev/bench/internal/procstat"
	"evently.dev/bench/internal/report"
	"evently.dev/bench/internal/system"
)

// options are the command's flags.
type options struct {
	smoke        bool
	out          string
	scenarios    string
	seats        int
	buyers       int
	clients      int
	explicit     float64
	saleTimeout  time.Duration
	stall        time.Duration
	halfSeats    int
	halfRate     float64
	browseFor    time.Duration
	browseConns  int
	sizeSmall    int
	sizeLarge    int
	sizeSell     int
	sizeClients  int
	sizeRounds   int
	readsFor     time.Duration
	readsConns   int
	pgbenchFor   int
	pgbenchConns int
	pgbenchSeats int
	redisN       int
	redisConns   int
	analyticsFor time.Duration
	rateLimitOff bool
	logLevel     string
	sample       time.Duration
	idle         time.Duration
}

func parseFlags(args []string) (options, *flag.FlagSet, error) {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.BoolVar(&o.smoke, "smoke", false, "small numbers (under a minute), for `make test`; explicit flags still win")
	fs.StringVar(&o.out, "out", "", "results folder (default bench/results/<UTC date>)")
	fs.StringVar(&o.scenarios, "scenarios", "flash,half,browse,size,baselines", "scenarios to run, comma-separated")
	fs.IntVar(&o.seats, "seats", 20000, "seats of the flash-sale event (a multiple of 100, or fewer than 100)")
	fs.IntVar(&o.buyers, "buyers", 2000, "buyers registered for the sales")
	fs.IntVar(&o.clients, "clients", 512, "concurrent clients in the flash sale")
	fs.Float64Var(&o.explicit, "explicit", 0.5, "share of buyers who pick their own 2 seats (the rest ask for best available)")
	fs.DurationVar(&o.saleTimeout, "sale-timeout", 10*time.Minute, "upper bound of one sale")
	fs.DurationVar(&o.stall, "stall", 30*time.Second, "end a sale after this long without a sold seat")
	fs.IntVar(&o.halfSeats, "half-seats", 6000, "seats of the half-rate event")
	fs.Float64Var(&o.halfRate, "half-rate", 0,
		"bookings/s of the half-rate sale; 0 = half the flash sale's rate (a fixed pace compares settings at the same load)")
	fs.DurationVar(&o.browseFor, "browse-duration", 15*time.Second, "length of each browse run")
	fs.IntVar(&o.browseConns, "browse-clients", 64, "concurrent clients while browsing")
	fs.IntVar(&o.sizeSmall, "size-small", 1000, "seats of the small event")
	fs.IntVar(&o.sizeLarge, "size-large", 100000, "seats of the large event")
	fs.IntVar(&o.sizeSell, "size-sell", 1000, "seats sold on each event of the size scenario")
	fs.IntVar(&o.sizeClients, "size-clients", 128, "concurrent clients in the size scenario")
	fs.IntVar(&o.sizeRounds, "size-rounds", 3, "rounds of the size scenario, each on a fresh small and large event")
	fs.DurationVar(&o.readsFor, "reads-duration", 10*time.Second, "length of the large event's read run")
	fs.IntVar(&o.readsConns, "reads-clients", 8, "concurrent clients reading the large event")
	fs.IntVar(&o.pgbenchFor, "pgbench-seconds", 15, "pgbench duration")
	fs.IntVar(&o.pgbenchConns, "pgbench-clients", 16, "pgbench clients")
	fs.IntVar(&o.pgbenchSeats, "pgbench-seats", 1000000, "seat rows in pgbench's scratch table")
	fs.IntVar(&o.redisN, "redis-requests", 200000, "redis-benchmark requests")
	fs.IntVar(&o.redisConns, "redis-clients", 32, "redis-benchmark clients")
	fs.DurationVar(&o.analyticsFor, "analytics-wait", 2*time.Minute, "how long to wait for analytics to match the ledger")
	fs.BoolVar(&o.rateLimitOff, "rate-limit-off", true,
		"turn the gateway's limiter off, as issue 11 measures the sale; =false keeps it running with limits raised far above the load")
	fs.StringVar(&o.logLevel, "log-level", "info", "LOG_LEVEL of the services")
	fs.DurationVar(&o.sample, "sample", time.Second, "CPU/memory sampling interval")
	fs.DurationVar(&o.idle, "idle", 3*time.Second, "idle time after start, for the idle memory figure")
	if err := fs.Parse(args); err != nil {
		return o, fs, err
	}
	if o.smoke {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		small := map[string]string{"seats": "200", "buyers": "24", "clients": "16", "half-seats": "60",
			"browse-duration": "1500ms", "browse-clients": "8", "size-small": "100", "size-large": "5000",
			"size-sell": "100", "size-clients": "8", "size-rounds": "2", "reads-duration": "1s", "reads-clients": "4",
			"pgbench-seconds": "2", "pgbench-seats": "20000", "redis-requests": "5000", "redis-clients": "8",
			"analytics-wait": "30s", "stall": "10s", "sale-timeout": "40s", "idle": "1s", "sample": "500ms"}
		for k, v := range small {
			if !set[k] {
				_ = fs.Set(k, v)
			}
		}
	}
	for _, n := range []int{o.seats, o.halfSeats, o.sizeSmall, o.sizeLarge} {
		if n < 2 || n%2 != 0 || (n > 100 && n%100 != 0) {
			return o, fs, fmt.Errorf("event sizes must be even and, above 100, multiples of 100 (got %d)", n)
		}
	}
	if o.halfRate < 0 {
		return o, fs, errors.New("-half-rate must not be negative")
	}
	if o.buyers < 1 || o.clients < 1 {
		return o, fs, errors.New("-buyers and -clients must be positive")
	}
	return o, fs, nil
}

// runner carries one run's state between scenarios.
type runner struct {
	o       options
	out     io.Writer
	rep     *report.Report
	sys     *system.System
	api     *client.Client
	sampler *procstat.Sampler
	admin   string
	buyers  []string
}

func (r *runner) logf(format string, args ...any) {
	fmt.Fprintf(r.out, "[bench %s] %s\n", time.Now().UTC().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func (r *runner) fail(step string, err error) {
	msg := fmt.Sprintf("%s: %v", step, err)
	r.rep.Errors = append(r.rep.Errors, msg)
	r.logf("ERROR %s", msg)
}

func (r *runner) want(s string) bool {
	for _, x := range strings.Split(r.o.scenarios, ",") {
		if strings.TrimSpace(x) == s {
			return true
		}
	}
	return false
}

// phase runs f as a named phase of the CPU/memory series.
func (r *runner) phase(name string, f func()) {
	r.sampler.Begin(name)
	defer r.sampler.End(name)
	f()
}

func run(ctx context.Context, args []string, out io.Writer) (*report.Report, error) {
	o, fs, err := parseFlags(args)
	if err != nil {
		return nil, err
	}
	root, err := system.RepoRoot()
	if err != nil {
		return nil, err
	}
	started := time.Now().UTC()
	if o.out == "" {
		o.out = filepath.Join(root, "bench", "results", started.Format("2006-01-02"))
	}
	adminURL := envOr("TEST_DATABASE_URL", "postgres://evently:evently@127.0.0.1:5432/evently?sslmode=disable")
	redisAddr := envOr("REDIS_ADDR", "127.0.0.1:6379")
	brokers := strings.Split(envOr("KAFKA_BROKERS", "127.0.0.1:9092"), ",")
	pgURL, err := url.Parse(adminURL)
	if err != nil {
		return nil, err
	}
	for _, a := range append([]string{pgURL.Host, redisAddr}, brokers...) {
		if err := client.CheckLoopback(a); err != nil {
			return nil, err
		}
		if !reachable(a) {
			return nil, fmt.Errorf("%s is not reachable: start the local servers first (make infra-up)", a)
		}
	}
	flags := map[string]string{}
	fs.VisitAll(func(f *flag.Flag) { flags[f.Name] = f.Value.String() })
	// Reports get committed: they name the results folder as the repository sees it, never
	// by where it sits on this machine.
	if flags["out"] != "" {
		flags["out"] = report.ShownPath(root, o.out)
	}
	args = report.WithOut(args, report.ShownPath(root, o.out))
	mode := "full"
	if o.smoke {
		mode = "smoke"
	}
	r := &runner{o: o, out: out, sampler: procstat.New(o.sample), rep: &report.Report{
		StartedAt: started.Format(time.RFC3339), Mode: mode, Command: "bench " + strings.Join(args, " "),
		Machine: report.Machine{Cores: runtime.NumCPU(), GoVersion: runtime.Version(), Kernel: kernel()},
		Flags:   flags, Usage: map[string][]procstat.Usage{},
	}}
	// Sampling starts once the copy is built and up: compiling it is not part of any figure.
	r.sampler.Track("load generator", os.Getpid())

	needSystem := r.want("flash") || r.want("half") || r.want("browse") || r.want("size")
	if needSystem {
		if err := r.withSystem(ctx, root, adminURL, redisAddr, brokers); err != nil {
			r.sampler.Stop()
			return nil, err
		}
	}
	r.sampler.Start()
	if r.want("baselines") {
		r.baselines(ctx, adminURL, redisAddr)
	}
	r.rep.Samples = r.sampler.Stop()
	r.rep.Phases = r.sampler.Phases()
	for _, p := range r.rep.Phases {
		r.rep.Usage[p.Name] = procstat.Summarize(r.rep.Samples, p.Start, p.End)
	}
	r.judge()
	if err := r.rep.Write(o.out); err != nil {
		return r.rep, err
	}
	fmt.Fprintln(out)
	r.rep.Table(out)
	r.logf("report, JSON and charts in %s", o.out)
	return r.rep, nil
}

// withSystem starts the private copy, runs the scenarios that need it and stops it.
func (r *runner) withSystem(ctx context.Context, root, adminURL, redisAddr string, brokers []string) error {
	o := r.o
	r.logf("starting a private copy of Evently (build + start)")
	sys, err := system.Start(ctx, system.Options{Root: root, RateLimitOff: o.rateLimitOff, LogLevel: o.logLevel,
		AdminDatabaseURL: adminURL, RedisAddr: redisAddr, KafkaBrokers: brokers, Out: r.out})
	if err != nil {
		return err
	}
	r.sys = sys
	r.sampler.Start()
	r.rep.Settings = sys.Settings
	r.logf("copy up at %s (database %s, topic prefix %s, key prefix %s)", sys.BaseURL(), sys.DBName, sys.TopicPrefix, sys.RedisPrefix)
	r.logf("gateway limits for this run: %s", settingsLine(sys.Settings))
	for name, pid := range sys.Pids() {
		r.sampler.Track(name, pid)
	}
	stopped := false
	stopSystem := func() {
		if !stopped {
			stopped = true
			r.phase("stop copy", sys.Stop)
			for _, n := range system.Services {
				r.sampler.Untrack(n)
			}
		}
	}
	defer stopSystem()

	if r.api, err = client.New(sys.BaseURL(), 2*max(o.clients, o.browseConns, o.sizeClients)); err != nil {
		return err
	}
	r.phase("idle", func() { time.Sleep(o.idle) })
	if err := r.setup(ctx); err != nil {
		return err
	}
	var flashEvent, halfEvent client.Event
	var flashPairs, halfPairs [][2]string
	r.phase("setup: events", func() {
		if r.want("flash") || r.want("browse") {
			flashEvent, flashPairs, err = r.event(ctx, "flash", o.seats)
		}
		if err == nil && r.want("half") {
			halfEvent, halfPairs, err = r.event(ctx, "half", o.halfSeats)
		}
	})
	if err != nil {
		return err
	}
	if r.want("browse") {
		r.browse(ctx, flashEvent.ID)
	}
	if r.want("flash") {
		r.rep.Flash = r.sale(ctx, "flash sale", flashEvent, flashPairs, o.clients, 0, o.seats)
	}
	if r.want("half") {
		rate := o.halfRate
		if f := r.rep.Flash; rate <= 0 && f != nil && f.Result.SeatsPerSec > 0 {
			rate = f.Result.SeatsPerSec / 2 / 2 // half the peak, in bookings (2 seats) per second
		} else if rate <= 0 {
			r.fail("half-rate sale", errors.New("no full-speed figure to halve; ran unpaced"))
		}
		r.rep.HalfRate = r.sale(ctx, "half-rate sale", halfEvent, halfPairs, o.clients, rate, o.halfSeats)
	}
	if r.want("size") {
		r.size(ctx)
	}
	return nil
}

func settingsLine(m map[string]string) string {
	var parts []string
	for _, k := range []string{"RATE_LIMIT_ENABLED", "GLOBAL_RATE_LIMIT_PER_MINUTE", "AUTH_RATE_LIMIT_PER_MINUTE", "BOOKING_RATE_LIMIT_PER_MINUTE"} {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, " ")
}

// setup signs the admin in and registers the buyers (8 at a time: every registration
// hashes a password, which is deliberately slow).
func (r *runner) setup(ctx context.Context) error {
	var err error
	r.phase("setup: buyers", func() {
		var s client.Session
		if s, err = r.api.Login(ctx, system.AdminEmail, system.AdminPassword); err != nil {
			return
		}
		r.admin = s.AccessToken
		r.logf("registering %d buyers", r.o.buyers)
		r.buyers = make([]string, r.o.buyers)
		run := fmt.Sprintf("%d", time.Now().UnixNano())
		var next atomic.Int64
		var mu sync.Mutex
		var firstErr error
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for {
					i := int(next.Add(1)) - 1
					if i >= len(r.buyers) || ctx.Err() != nil {
						return
					}
					s, e := r.api.Register(ctx, fmt.Sprintf("buyer-%s-%d@bench.example.com", run, i), "bench-buyer-password")
					if e != nil {
						mu.Lock()
						if firstErr == nil {
							firstErr = e
						}
						mu.Unlock()
						return
					}
					r.buyers[i] = s.AccessToken
				}
			})
		}
		wg.Wait()
		err = firstErr
	})
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	return nil
}

// layout splits n seats into sections of at most 50 rows of 100 seats.
func layout(n int) []client.Section {
	perRow := min(100, n)
	rows := n / perRow
	var out []client.Section
	for s := 0; rows > 0; s++ {
		k := min(50, rows)
		out = append(out, client.Section{Name: fmt.Sprintf("Stand %d", s+1), RowStart: "1", RowEnd: client.RowName(k - 1), SeatsPerRow: perRow})
		rows -= k
	}
	return out
}

// event creates a published event of n seats, waits until inventory sells it and lists its
// explicit seat pairs from the seat map.
func (r *runner) event(ctx context.Context, name string, n int) (client.Event, [][2]string, error) {
	ev, err := r.api.CreatePublishedEvent(ctx, r.admin, fmt.Sprintf("Bench %s %d seats %s", name, n, time.Now().UTC().Format("150405.000")), layout(n))
	if err != nil {
		return ev, nil, err
	}
	if ev.TotalCapacity == 0 {
		ev.TotalCapacity = n
	}
	if err := r.api.WaitOnSale(ctx, ev.ID, 60*time.Second); err != nil {
		return ev, nil, err
	}
	m, err := r.api.Layout(ctx, r.admin, ev.ID)
	if err != nil {
		return ev, nil, err
	}
	if len(m.Seats) != n {
		return ev, nil, fmt.Errorf("event %s has %d seats in its map, want %d", ev.ID, len(m.Seats), n)
	}
	r.logf("event %q: %s, %d seats in %d sections", name, ev.ID, n, len(ev.Sections))
	return ev, load.PairsFromMap(m, uint64(n)), nil
}

func sectionIDs(ev client.Event) []string {
	out := make([]string, 0, len(ev.Sections))
	for _, s := range ev.Sections {
		out = append(out, s.SectionID)
	}
	return out
}

// sale runs one sale and checks the stores afterwards.
func (r *runner) sale(ctx context.Context, name string, ev client.Event, pairs [][2]string, clients int, rate float64, target int) *report.Sale {
	s := load.Sale{EventID: ev.ID, Sections: sectionIDs(ev), Pairs: pairs, Buyers: r.buyers, Clients: clients,
		ExplicitShare: r.o.explicit, Rate: rate, Target: target, Stall: r.o.stall, Timeout: r.o.saleTimeout}
	out := &report.Sale{EventID: ev.ID, Capacity: ev.TotalCapacity, Seats: target, Buyers: len(r.buyers), Clients: clients, Explicit: r.o.explicit, Rate: rate}
	r.logf("%s: %d seats, %d clients%s", name, target, clients, map[bool]string{true: fmt.Sprintf(", %.0f bookings/s", rate), false: ""}[rate > 0])
	lsn, walErr := check.WALPosition(ctx, r.sys.DatabaseURL())
	r.phase(name, func() { out.Result = s.Run(ctx, r.api) })
	if walErr == nil {
		out.WALBytes, walErr = check.WALSince(ctx, r.sys.DatabaseURL(), lsn)
	}
	if walErr != nil {
		r.fail(name+": WAL position", walErr)
	}
	r.logf("%s: %d seats in %.1f s = %.0f seats/s; hold p99 %.1f ms, confirm p99 %.1f ms (%s)", name, out.Result.SeatsSold,
		out.Result.Seconds, out.Result.SeatsPerSec, out.Result.Hold.P99, out.Result.Confirm.P99, out.Result.Stopped)
	r.phase(name+": check", func() {
		c, err := check.Run(ctx, check.Options{DatabaseURL: r.sys.DatabaseURL(), EventID: ev.ID, BenchSold: out.Result.SeatsSold,
			SaleEnded: out.Result.Ended, AnalyticsWait: r.o.analyticsFor, SettleWait: 20 * time.Second})
		if err != nil {
			r.fail(name+": check", err)
			return
		}
		out.Check = &c
		r.logf("%s: ledger %d SOLD, bookings %d seats, analytics lag %.1f s, invariants ok=%v %v", name, c.LedgerSold,
			c.ConfirmedSeats, c.AnalyticsLagSeconds, c.OK, c.Problems)
	})
	return out
}

// browse runs the read mix through the gateway, then event + availability through the
// gateway and through the bare proxy, back to back with the same clients.
func (r *runner) browse(ctx context.Context, eventID string) {
	b := &report.Browse{}
	r.rep.Browse = b
	token := r.buyers[0]
	mix := load.Browse{Clients: r.o.browseConns, Duration: r.o.browseFor, MaxRequests: 10_000_000, Token: token, Gzip: true,
		Paths: []load.Path{{Name: "event", Path: "/api/v1/events/" + eventID}, {Name: "availability", Path: "/api/v1/events/" + eventID + "/availability"},
			{Name: "seat map", Path: "/api/v1/events/" + eventID + "/venue/layout"}}}
	r.logf("browse: event, availability and seat map through the gateway, %d clients, %s", mix.Clients, mix.Duration)
	r.phase("browse: mix via gateway", func() { b.Mix = mix.Run(ctx, r.api) })
	reads := mix
	reads.Paths = mix.Paths[:2]
	r.phase("reads via gateway", func() { b.GatewayReads = reads.Run(ctx, r.api) })
	proxy, err := baseline.StartProxy(ctx, baseline.ProxyConfig{CatalogURL: r.sys.ServiceURL("catalog"),
		InventoryURL: r.sys.ServiceURL("inventory"), JWKSURL: r.sys.ServiceURL("identity") + "/.well-known/jwks.json",
		Issuer: "evently-identity", Audience: "evently-api", Secret: system.AssertionSecret})
	if err != nil {
		r.fail("bare proxy", err)
		return
	}
	defer proxy.Stop()
	r.sampler.Track("bare proxy", proxy.Pid)
	defer r.sampler.Untrack("bare proxy")
	pc, err := client.New(proxy.URL, 2*r.o.browseConns)
	if err != nil {
		r.fail("bare proxy", err)
		return
	}
	var pr load.BrowseResult
	r.phase("reads via bare proxy", func() { pr = reads.Run(ctx, pc) })
	b.ProxyReads = &pr
	r.logf("reads: gateway %.0f req/s, bare proxy %.0f req/s", b.GatewayReads.PerSec, pr.PerSec)
}

// size sells the same number of seats on a small and a large event, in -size-rounds
// rounds of fresh events with the order alternating (a one-second sale is too short to
// judge alone), then reads the first large event's availability and seat map.
func (r *runner) size(ctx context.Context) {
	sz := &report.Size{}
	r.rep.Size = sz
	var firstLarge client.Event
	for i := range max(1, r.o.sizeRounds) {
		var small, large client.Event
		var sp, lp [][2]string
		var err error
		setup := "setup: size events"
		if i > 0 {
			setup += fmt.Sprintf(", round %d", i+1)
		}
		r.phase(setup, func() {
			if small, sp, err = r.event(ctx, "size-small", r.o.sizeSmall); err != nil {
				return
			}
			large, lp, err = r.event(ctx, "size-large", r.o.sizeLarge)
		})
		if err != nil {
			r.fail("size setup", err)
			return
		}
		if i == 0 {
			firstLarge = large
		}
		sell := min(r.o.sizeSell, r.o.sizeSmall, r.o.sizeLarge)
		var rd report.SizeRound
		smallSale := func() { rd.Small = *r.sale(ctx, report.SizePhase(i, false), small, sp, r.o.sizeClients, 0, sell) }
		largeSale := func() { rd.Large = *r.sale(ctx, report.SizePhase(i, true), large, lp, r.o.sizeClients, 0, sell) }
		if i%2 == 0 {
			smallSale()
			largeSale()
		} else {
			largeSale()
			smallSale()
		}
		sz.Rounds = append(sz.Rounds, rd)
	}
	sz.Totals()
	reads := load.Browse{Clients: r.o.readsConns, Duration: r.o.readsFor, MaxRequests: 1_000_000, Token: r.buyers[0], Gzip: true,
		Paths: []load.Path{{Name: "availability", Path: "/api/v1/events/" + firstLarge.ID + "/availability"},
			{Name: "seat map", Path: "/api/v1/events/" + firstLarge.ID + "/venue/layout"}}}
	r.phase("size: large event reads", func() { sz.LargeReads = reads.Run(ctx, r.api) })
}

// baselines measures the database and Redis ceilings with the copy stopped.
func (r *runner) baselines(ctx context.Context, adminURL, redisAddr string) {
	r.phase("pgbench", func() {
		r.logf("pgbench: minimal 2-seat sale, %d clients, %d s", r.o.pgbenchConns, r.o.pgbenchFor)
		p, err := baseline.Pgbench(ctx, adminURL, r.o.pgbenchSeats, r.o.pgbenchConns, r.o.pgbenchFor, os.TempDir())
		if err != nil {
			r.fail("pgbench", err)
			return
		}
		r.rep.Pgbench = &p
	})
	r.phase("redis-benchmark", func() {
		r.logf("redis-benchmark: hold-like EVAL, %d requests, %d clients", r.o.redisN, r.o.redisConns)
		rb, err := baseline.RedisBenchmark(ctx, redisAddr, r.o.redisN, r.o.redisConns)
		if err != nil {
			r.fail("redis-benchmark", err)
			return
		}
		r.rep.Redis = &rb
	})
}

// judge computes the ratios and issue 11's targets from what was measured.
func (r *runner) judge() {
	rep := r.rep
	ratio := func(name string, num, den float64, detail string) {
		if den > 0 && num >= 0 {
			rep.Ratios = append(rep.Ratios, report.Ratio{Name: name, Value: num / den, Detail: detail})
		}
	}
	target := func(name, want, got string, pass bool) {
		rep.Targets = append(rep.Targets, report.Target{Name: name, Want: want, Got: got, Pass: pass})
	}
	if f := rep.Flash; f != nil {
		res := f.Result
		if p := rep.Pgbench; p != nil {
			ratio("flash sale / pgbench ceiling", res.SeatsPerSec, p.SeatsPerSec,
				fmt.Sprintf("%.0f of %.0f seats/s", res.SeatsPerSec, p.SeatsPerSec))
		}
		if rb := rep.Redis; rb != nil && res.Seconds > 0 {
			// Every hold request runs the hold script once (or more, for best-available
			// retries), whether it wins the seats or not.
			n := 0
			for _, v := range res.HoldOut {
				n += v
			}
			holds := float64(n) / res.Seconds
			ratio("hold requests/s / redis-benchmark hold script", holds, rb.PerSec, fmt.Sprintf("%.0f of %.0f per s", holds, rb.PerSec))
		}
		target("flash sale sold seats/s (floor; aim 2,500+)", ">= 1,000", fmt.Sprintf("%.0f", res.SeatsPerSec), res.SeatsPerSec >= 1000)
		if c := f.Check; c != nil {
			target("seats sold twice", "0", fmt.Sprint(c.DoubleSold), c.DoubleSold == 0)
			target("SOLD ledger seats == seats of CONFIRMED bookings", "equal",
				fmt.Sprintf("%d vs %d (%d/%d/%d mismatched)", c.LedgerSold, c.ConfirmedSeats, c.SoldNotBooked, c.BookedNotSold, c.WrongBooking),
				c.LedgerSold == c.ConfirmedSeats && c.SoldNotBooked == 0 && c.BookedNotSold == 0 && c.WrongBooking == 0)
			target("analytics equal to the ledger after the sale", "<= 10 s", lag(c.AnalyticsLagSeconds),
				c.AnalyticsLagSeconds >= 0 && c.AnalyticsLagSeconds <= 10)
		}
		if us := rep.Usage["flash sale"]; len(us) > 0 {
			worst, who := 0.0, ""
			for _, u := range us {
				if isService(u.Group) && u.MaxMemMiB > worst {
					worst, who = u.MaxMemMiB, u.Group
				}
			}
			target("service RSS during the rush", "< 256 MiB each", fmt.Sprintf("max %.0f MiB (%s)", worst, who), worst < 256)
		}
	}
	if us := rep.Usage["idle"]; len(us) > 0 {
		worst, who := 0.0, ""
		for _, u := range us {
			if isService(u.Group) && u.MaxMemMiB > worst {
				worst, who = u.MaxMemMiB, u.Group
			}
		}
		target("service RSS idle", "< 64 MiB each", fmt.Sprintf("max %.0f MiB (%s)", worst, who), worst < 64)
	}
	if h := rep.HalfRate; h != nil {
		target("hold p99 at half the peak rate", "< 25 ms", fmt.Sprintf("%.1f ms", h.Result.Hold.P99), h.Result.Hold.P99 > 0 && h.Result.Hold.P99 < 25)
		target("confirm p99 at half the peak rate", "< 50 ms", fmt.Sprintf("%.1f ms", h.Result.Confirm.P99), h.Result.Confirm.P99 > 0 && h.Result.Confirm.P99 < 50)
	}
	if b := rep.Browse; b != nil && b.ProxyReads != nil {
		ratio("reads via gateway / bare proxy", b.GatewayReads.PerSec, b.ProxyReads.PerSec,
			fmt.Sprintf("%.0f of %.0f req/s, event + availability", b.GatewayReads.PerSec, b.ProxyReads.PerSec))
		target("reads through the gateway vs bare proxy", ">= 80 %", fmt.Sprintf("%.1f %%", 100*b.GatewayReads.PerSec/b.ProxyReads.PerSec),
			b.GatewayReads.PerSec >= 0.8*b.ProxyReads.PerSec)
		worst := 0.0
		for _, p := range b.GatewayReads.Paths {
			worst = math.Max(worst, p.Latency.P99)
		}
		target("read p99 through the gateway", "< 20 ms", fmt.Sprintf("%.1f ms", worst), worst > 0 && worst < 20)
	}
	if s := rep.Size; s != nil && len(s.Rounds) > 0 && s.SmallPerSec > 0 && s.LargePerSec > 0 {
		first := s.Rounds[0]
		ratio("large / small event seats/s", s.LargePerSec, s.SmallPerSec,
			fmt.Sprintf("%d-seat vs %d-seat event, %d seats sold on each in %d rounds: %.0f vs %.0f seats/s", first.Large.Capacity,
				first.Small.Capacity, first.Small.Seats, len(s.Rounds), s.LargePerSec, s.SmallPerSec))
		diff := math.Abs(s.LargePerSec-s.SmallPerSec) / math.Max(s.LargePerSec, s.SmallPerSec)
		target(fmt.Sprintf("sold seats/s, %d vs %d seats", r.o.sizeSmall, r.o.sizeLarge), "within 20 %", fmt.Sprintf("%.0f %% apart", 100*diff), diff <= 0.2)
		worst := 0.0
		for _, p := range s.LargeReads.Paths {
			worst = math.Max(worst, p.Latency.P99)
		}
		target(fmt.Sprintf("availability + seat map p99, %d-seat event", r.o.sizeLarge), "< 50 ms", fmt.Sprintf("%.1f ms", worst), worst > 0 && worst < 50)
	}
}

func isService(g string) bool {
	for _, s := range system.Services {
		if s == g {
			return true
		}
	}
	return false
}

func lag(s float64) string {
	if s < 0 {
		return "never"
	}
	return fmt.Sprintf("%.1f s", s)
}
