package chaos

import (
	"fmt"
	"strings"
	"testing"

	"evently.dev/bench/internal/load"
)

func TestLayoutSplitsIntoBlocksOfTenRows(t *testing.T) {
	for _, tt := range []struct{ seats, sections int }{{100, 1}, {1000, 1}, {1100, 2}, {2300, 3}} {
		secs := layout(tt.seats)
		if len(secs) != tt.sections {
			t.Fatalf("layout(%d) = %d sections, want %d", tt.seats, len(secs), tt.sections)
		}
		total := 0
		for _, s := range secs {
			var rows int
			if _, err := fmt.Sscan(s.RowEnd, &rows); err != nil {
				t.Fatal(err)
			}
			total += rows * s.SeatsPerRow
		}
		if total != tt.seats {
			t.Fatalf("layout(%d) holds %d seats", tt.seats, total)
		}
	}
}

func TestFailuresKeepOnlyNon2xx(t *testing.T) {
	got := failures(load.SaleResult{
		HoldOut:    map[string]int{"201": 10, "409 seats_unavailable": 3},
		ConfirmOut: map[string]int{"201": 9, "200": 1, "502 upstream_unreachable": 2, "transport error": 1},
		ReleaseOut: map[string]int{"204": 2, "409 hold_not_active": 1},
	})
	want := map[string]int{"hold 409 seats_unavailable": 3, "confirm 502 upstream_unreachable": 2, "confirm transport error": 1, "release 409 hold_not_active": 1}
	if len(got) != len(want) {
		t.Fatalf("failures = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("failures[%q] = %d, want %d (all: %v)", k, got[k], v, got)
		}
	}
}

func TestReportPassesOnlyWhenEveryDrillHeld(t *testing.T) {
	ok := &Result{Name: "a", OK: true, FirstSuccessS: 0.5, CaughtUpS: -1}
	bad := &Result{Name: "b", Problems: []string{"1 seats in more than one CONFIRMED booking"}}
	if (&Report{}).Passed() {
		t.Fatal("a report without drills passed")
	}
	if !(&Report{Results: []*Result{ok}}).Passed() {
		t.Fatal("a report of passing drills failed")
	}
	r := &Report{Results: []*Result{ok, bad}}
	if r.Passed() {
		t.Fatal("a report with a failed drill passed")
	}
	md := r.Markdown()
	for _, s := range []string{"| a |", "| b |", "FAIL", "not reached", "PROBLEM: 1 seats in more than one CONFIRMED booking"} {
		if !strings.Contains(md, s) {
			t.Fatalf("report.md lacks %q:\n%s", s, md)
		}
	}
	if (&Report{Results: []*Result{ok}, Errors: []string{"start"}}).Passed() {
		t.Fatal("a report with a set-up error passed")
	}
}

func TestDrillNamesAreUniqueAndComplete(t *testing.T) {
	seen := map[string]bool{}
	for _, d := range Drills() {
		if seen[d.Name] {
			t.Fatalf("drill %s twice", d.Name)
		}
		seen[d.Name] = true
		if d.Inject == nil || d.Length == nil {
			t.Fatalf("drill %s lacks Inject or Length", d.Name)
		}
	}
	for _, n := range []string{"kafka-stop", "kafka-freeze", "redis-restart", "postgres-restart", "kill-inventory", "kill-booking",
		"kill-waitlist", "kill-analytics", "smtp-down", "poison"} {
		if !seen[n] {
			t.Fatalf("drill %s missing", n)
		}
	}
}
