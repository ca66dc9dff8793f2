// Command gateway is Evently's single public entry point: it routes /api/v1 paths to the
// owning service, verifies access tokens, rate-limits, vouches for the caller with a
// signed identity assertion, serves the merged API docs and reports every upstream's
// readiness at /health.
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"evently.dev/libs/config"
	"evently.dev/libs/httpserver"
	"evently.dev/libs/logging"
	"evently.dev/libs/platform"
	"evently.dev/libs/telemetry"

	gwconfig "evently.dev/gateway/internal/config"
	"evently.dev/gateway/internal/gateway"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "gateway: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	var cfg gwconfig.Config
	if err := config.Load(&cfg); err != nil {
		return err
	}
	if cfg.HTTP.Addr == "" {
		cfg.HTTP.Addr = ":8080"
	}
	if cfg.HTTP.AdminAddr == "" {
		// Metrics and detailed readiness, off the public port: its number + 1000, as for
		// every service.
		cfg.HTTP.AdminAddr = httpserver.AdminAddrFor(cfg.HTTP.Addr)
	}
	if len(os.Args) > 1 && os.Args[1] == "healthcheck" {
		// Container probe of the running gateway (images have no shell or curl).
		return httpserver.Probe(ctx, cfg.HTTP.ProbeAddr())
	}
	log := logging.New("gateway", cfg.LogLevel)
	log.Info("starting", "version", platform.Version, "config", config.String(&cfg))
	tel, err := telemetry.Setup(ctx, "gateway", platform.Version)
	if err != nil {
		return err
	}
	defer func() { _ = tel.Shutdown(context.Background()) }()
	g, err := gateway.New(cfg, gateway.Deps{Log: log, Metrics: tel.Handler(), Version: platform.Version})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.HTTP.Addr, err)
	}
	return g.Serve(ctx, ln)
}
