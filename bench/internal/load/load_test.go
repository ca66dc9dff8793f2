package load

import (
	"testing"
	"time"

	"evently.dev/bench/internal/client"
)

func TestPeak(t *testing.T) {
	tests := []struct {
		name string
		t    []int
		want float64
	}{
		{"empty", nil, 0},
		{"shorter than a second gives the mean rate", []int{5, 5}, 50},
		{"best one-second window", []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 9, 1}, 18},
		{"flat", []int{2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2}, 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := peak(tc.t); got != tc.want {
				t.Fatalf("peak(%v) = %v, want %v", tc.t, got, tc.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	var d []time.Duration
	for i := 100; i >= 1; i-- {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	l := Summarize(d)
	if l.Count != 100 || l.P50 != 50 || l.P95 != 95 || l.P99 != 99 || l.Max != 100 {
		t.Fatalf("got %+v", l)
	}
	if (Summarize(nil) != Latency{}) {
		t.Fatal("no samples must give zeros")
	}
}

func TestOutcome(t *testing.T) {
	tests := []struct {
		status int
		body   string
		want   string
	}{
		{201, `{}`, "201"},
		{409, `{"code":"seats_unavailable"}`, "409 seats_unavailable"},
		{502, `not json`, "502"},
	}
	for _, tc := range tests {
		if got := outcome(tc.status, []byte(tc.body), nil); got != tc.want {
			t.Errorf("outcome(%d, %s) = %q, want %q", tc.status, tc.body, got, tc.want)
		}
	}
}

func TestPairsFromMap(t *testing.T) {
	var m client.SeatMap
	add := func(sec, row string, n int) {
		m.Seats = append(m.Seats, struct {
			SeatID    string `json:"seat_id"`
			SectionID string `json:"section_id"`
			Row       string `json:"row"`
			Number    int    `json:"number"`
			Status    string `json:"status"`
		}{SeatID: sec + row + string(rune('0'+n)), SectionID: sec, Row: row, Number: n})
	}
	for _, n := range []int{4, 2, 3, 1} { // out of order on purpose
		add("A", "1", n)
	}
	for n := 1; n <= 3; n++ { // odd row: the last seat has no partner
		add("A", "2", n)
	}
	pairs := PairsFromMap(m, 7)
	if len(pairs) != 3 {
		t.Fatalf("want 3 pairs, got %v", pairs)
	}
	seen := map[[2]string]bool{}
	for _, p := range pairs {
		seen[p] = true
	}
	for _, want := range [][2]string{{"A11", "A12"}, {"A13", "A14"}, {"A21", "A22"}} {
		if !seen[want] {
			t.Errorf("pair %v missing from %v", want, pairs)
		}
	}
}
