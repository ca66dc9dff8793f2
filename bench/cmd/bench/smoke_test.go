package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"evently.dev/bench/internal/procstat"
	"evently.dev/bench/internal/report"
)

// TestMain lets the test binary stand in for the bench binary when the bench re-runs
// itself as the bare proxy (os.Executable is the test binary here).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "proxy" {
		if err := proxyMain(context.Background(), os.Args[2:], os.Stdout); err != nil {
			os.Stderr.WriteString("bench proxy: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestIntegrationBenchSmoke runs `bench -smoke` end to end against the real local servers
// (a private copy of the system, every scenario with small numbers, the baselines) and
// checks that each part produced figures and that the sales kept their invariants.
func TestIntegrationBenchSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole system")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dir := t.TempDir()
	var log bytes.Buffer
	rep, err := run(ctx, []string{"-smoke", "-out", dir}, &log)
	if err != nil {
		t.Fatalf("bench failed: %v\n%s", err, log.String())
	}
	defer func() {
		if t.Failed() {
			t.Log(log.String())
		}
	}()
	if len(rep.Errors) > 0 {
		t.Errorf("steps failed: %v", rep.Errors)
	}
	if !rep.InvariantsHeld() {
		t.Errorf("an invariant failed")
	}
	sales := map[string]*report.Sale{"flash": rep.Flash, "half": rep.HalfRate}
	if rep.Size != nil {
		for i := range rep.Size.Rounds {
			sales[fmt.Sprintf("small %d", i+1)], sales[fmt.Sprintf("large %d", i+1)] = &rep.Size.Rounds[i].Small, &rep.Size.Rounds[i].Large
		}
		if len(rep.Size.Rounds) != 2 || rep.Size.SmallPerSec <= 0 || rep.Size.LargePerSec <= 0 {
			t.Errorf("size: %d rounds, %.0f / %.0f seats/s", len(rep.Size.Rounds), rep.Size.SmallPerSec, rep.Size.LargePerSec)
		}
	}
	for name, s := range sales {
		switch {
		case s == nil:
			t.Errorf("%s sale missing", name)
		case s.Check == nil:
			t.Errorf("%s sale was not checked against the stores", name)
		case s.Result.SeatsSold < s.Seats || s.Check.LedgerSold < s.Seats:
			t.Errorf("%s sale sold %d (ledger %d) of %d seats", name, s.Result.SeatsSold, s.Check.LedgerSold, s.Seats)
		case s.Result.Hold.Count == 0 || s.Result.Confirm.Count == 0 || s.Result.Confirm.P99 <= 0:
			t.Errorf("%s sale has no latency figures: %+v", name, s.Result)
		case s.WALBytes <= 0:
			t.Errorf("%s sale has no write-ahead log figure", name)
		}
	}
	if rep.Flash != nil && rep.Flash.Result.SeatsSold != rep.Flash.Check.LedgerSold {
		t.Errorf("flash sale: the tool counted %d seats, the ledger has %d", rep.Flash.Result.SeatsSold, rep.Flash.Check.LedgerSold)
	}
	if rep.HalfRate != nil && rep.HalfRate.Rate <= 0 {
		t.Errorf("half-rate sale was not paced")
	}
	if b := rep.Browse; b == nil || b.ProxyReads == nil || b.GatewayReads.PerSec <= 0 || b.ProxyReads.PerSec <= 0 || len(b.Mix.Paths) != 3 {
		t.Errorf("browse figures missing: %+v", b)
	} else {
		for name, p := range b.Mix.Paths {
			if p.Outcomes["200"] == 0 {
				t.Errorf("browse %s: no 200 answers: %v", name, p.Outcomes)
			}
		}
	}
	if rep.Pgbench == nil || rep.Pgbench.TPS <= 0 || rep.Redis == nil || rep.Redis.PerSec <= 0 {
		t.Errorf("baselines missing: pgbench %+v redis %+v", rep.Pgbench, rep.Redis)
	}
	if len(rep.Ratios) < 4 {
		t.Errorf("want the four ratios, got %+v", rep.Ratios)
	}
	if u := rep.Usage["flash sale"]; len(u) == 0 {
		t.Errorf("no CPU/memory figures for the flash sale")
	} else if !hasGroup(u, "load generator") || !hasGroup(u, "gateway") || !hasGroup(u, "postgres") {
		t.Errorf("flash sale usage lacks a process group: %+v", u)
	}
	for _, f := range []string{"report.md", "report.json", "sold-per-second.svg", "latency.svg", "cpu.svg", "memory.svg"} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil || st.Size() < 200 {
			t.Errorf("%s missing or empty: %v", f, err)
		}
	}
	var back report.Report
	b, _ := os.ReadFile(filepath.Join(dir, "report.json"))
	if err := json.Unmarshal(b, &back); err != nil || back.Flash == nil {
		t.Errorf("report.json does not read back: %v", err)
	}
}

func hasGroup(us []procstat.Usage, g string) bool {
	for _, u := range us {
		if u.Group == g {
			return true
		}
	}
	return false
}
