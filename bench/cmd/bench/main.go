// Command bench is `make bench`: it starts a private copy of Evently on this machine,
// creates its events and buyers through the public API, runs the flash-sale, browse and
// size scenarios, checks the stores' invariants, measures the pgbench / redis-benchmark /
// bare-proxy ceilings in the same run, stops the copy and writes a report with charts.
//
//	go run ./bench/cmd/bench            # the full run (several minutes)
//	go run ./bench/cmd/bench -smoke     # small numbers, under a minute
//
// Every request goes to 127.0.0.1; every loop is bounded by a count and a deadline.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"evently.dev/bench/internal/baseline"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) > 1 && os.Args[1] == "proxy" {
		if err := proxyMain(ctx, os.Args[2:], os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "bench proxy:", err)
			os.Exit(1)
		}
		return
	}
	rep, err := run(ctx, os.Args[1:], os.Stdout)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	if !rep.InvariantsHeld() {
		fmt.Fprintln(os.Stderr, "bench: an invariant of the sale did not hold (see the table)")
		os.Exit(2)
	}
}

// proxyMain is the bare reverse proxy baseline, run as a child process so its CPU is
// sampled on its own.
func proxyMain(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	var cfg baseline.ProxyConfig
	fs.StringVar(&cfg.Listen, "listen", "127.0.0.1:0", "listen address (loopback)")
	fs.StringVar(&cfg.CatalogURL, "catalog", "", "catalog base URL")
	fs.StringVar(&cfg.InventoryURL, "inventory", "", "inventory base URL")
	fs.StringVar(&cfg.JWKSURL, "jwks", "", "identity's JWKS URL")
	fs.StringVar(&cfg.Issuer, "issuer", "evently-identity", "required token issuer")
	fs.StringVar(&cfg.Audience, "audience", "evently-api", "required token audience")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg.Secret = os.Getenv("BENCH_PROXY_SECRET")
	if cfg.Secret == "" {
		return errors.New("BENCH_PROXY_SECRET is not set")
	}
	host, _, err := net.SplitHostPort(cfg.Listen)
	if err != nil || net.ParseIP(host) == nil || !net.ParseIP(host).IsLoopback() {
		return fmt.Errorf("listen on loopback only, not %q", cfg.Listen)
	}
	return baseline.ServeProxy(ctx, cfg, out)
}

func kernel() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func reachable(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}
