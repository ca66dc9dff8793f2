package report

import (
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"evently.dev/bench/internal/check"
	"evently.dev/bench/internal/load"
	"evently.dev/bench/internal/procstat"
)

func sample() *Report {
	return &Report{StartedAt: "2026-12-07T00:00:00Z", Mode: "smoke", Command: "bench -smoke", Machine: Machine{Cores: 2},
		Flash: &Sale{Seats: 200, Capacity: 200, Buyers: 24, Clients: 16, Result: load.SaleResult{SeatsSold: 200, Bookings: 100,
			Seconds: 2, SeatsPerSec: 100, Timeline: []int{10, 20, 30}, Hold: load.Latency{Count: 100, P50: 1, P95: 2, P99: 3},
			HoldOut: map[string]int{"201": 100, "409 seats_unavailable": 7}},
			Check: &check.Result{LedgerSold: 200, ConfirmedSeats: 200, OK: true}},
		Phases:  []procstat.Phase{{Name: "flash sale", Start: 0, End: 2}},
		Samples: []procstat.Sample{{T: 1, CPU: map[string]float64{"gateway": 0.5, procstat.WholeMachine: 1.5}, Mem: map[string]float64{"gateway": 30}}},
		Usage:   map[string][]procstat.Usage{"flash sale": {{Group: "gateway", CPUCores: 0.5, CPUSeconds: 1, MaxMemMiB: 30}}},
		Targets: []Target{{Name: "seats sold twice", Want: "0", Got: "0", Pass: true}},
	}
}

func TestChartsAreWellFormedSVG(t *testing.T) {
	charts := sample().Charts()
	for _, name := range []string{"sold-per-second.svg", "latency.svg", "cpu.svg", "memory.svg"} {
		svg, ok := charts[name]
		if !ok {
			t.Fatalf("%s missing", name)
		}
		d := xml.NewDecoder(strings.NewReader(svg))
		for {
			_, err := d.Token()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					t.Fatalf("%s is not well-formed XML: %v", name, err)
				}
				break
			}
		}
	}
	if !strings.Contains(charts["cpu.svg"], `stroke-dasharray`) {
		t.Error("the whole-machine line is not drawn as a reference")
	}
}

func TestMarkdownHasTheFigures(t *testing.T) {
	md := sample().Markdown()
	for _, want := range []string{"**100 seats/s**", "409 seats_unavailable×7", "| seats sold twice | 0 | 0 | met |",
		"| gateway | 0.50 | 1.0 | 30 | 10.00 |", "![cpu](cpu.svg)"} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q:\n%s", want, md)
		}
	}
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	if err := sample().Write(dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"report.md", "report.json", "cpu.svg"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}

func TestNiceCeil(t *testing.T) {
	for in, want := range map[float64]float64{0: 1, 0.7: 1, 3: 5, 12: 20, 99: 100, 101: 200, 1999: 2000} {
		if got := niceCeil(in); got != want {
			t.Errorf("niceCeil(%v) = %v, want %v", in, got, want)
		}
	}
}
