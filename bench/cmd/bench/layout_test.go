package main

import "testing"

func TestLayout(t *testing.T) {
	for _, n := range []int{2, 60, 100, 200, 1000, 5000, 20000, 100000} {
		total := 0
		for _, s := range layout(n) {
			if s.SeatsPerRow > 100 {
				t.Errorf("%d seats: %d per row", n, s.SeatsPerRow)
			}
			var rows int
			for _, c := range s.RowEnd {
				rows = rows*10 + int(c-'0')
			}
			if rows > 50 {
				t.Errorf("%d seats: section with %d rows", n, rows)
			}
			total += rows * s.SeatsPerRow
		}
		if total != n {
			t.Errorf("layout(%d) has %d seats", n, total)
		}
	}
}

func TestParseFlagsSmokeKeepsExplicitFlags(t *testing.T) {
	o, _, err := parseFlags([]string{"-smoke", "-seats", "400"})
	if err != nil {
		t.Fatal(err)
	}
	if o.seats != 400 || o.buyers != 24 {
		t.Fatalf("got seats %d buyers %d", o.seats, o.buyers)
	}
	if _, _, err := parseFlags([]string{"-seats", "150"}); err == nil {
		t.Fatal("150 seats (not a multiple of 100) accepted")
	}
}
