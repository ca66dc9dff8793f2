package domain

import (
	"strings"
	"testing"

	"evently.dev/libs/contracts"
)

func TestLetters(t *testing.T) {
	cases := map[int]string{1: "A", 2: "B", 26: "Z", 27: "AA", 28: "AB", 52: "AZ", 53: "BA", 702: "ZZ", 703: "AAA", 18278: "ZZZ"}
	for n, want := range cases {
		if got := Letters(n); got != want {
			t.Errorf("Letters(%d) = %q, want %q", n, got, want)
		}
		if back, ok := letterIndex(want); !ok || back != n {
			t.Errorf("letterIndex(%q) = %d, %v; want %d", want, back, ok, n)
		}
	}
	if SectionCode(0) != "A" || SectionCode(25) != "Z" || SectionCode(26) != "AA" {
		t.Fatal("section codes must run A..Z, AA..")
	}
}

func TestParseRowRange(t *testing.T) {
	tests := []struct {
		start, end string
		want       []string
		wantErr    string
	}{
		{"A", "C", []string{"A", "B", "C"}, ""},
		{"a", "b", []string{"A", "B"}, ""},
		{"Y", "AB", []string{"Y", "Z", "AA", "AB"}, ""},
		{"ZZ", "AAA", []string{"ZZ", "AAA"}, ""},
		{"1", "3", []string{"1", "2", "3"}, ""},
		{"9", "11", []string{"9", "10", "11"}, ""},
		{"B", "B", []string{"B"}, ""},
		{"C", "A", nil, "must not come before"},
		{"A", "3", nil, "both be letters"},
		{"01", "3", nil, "leading zeros"},
		{"0", "3", nil, "row_start"},
		{"A1", "B", nil, "row_start"},
		{"", "B", nil, "required"},
		{"A", "", nil, "row_end"},
		{"AAAA", "AAAB", nil, "row_start"},
		{"1", "5000", nil, "at most"},
		{"Ä", "B", nil, "row_start"},
	}
	for _, tc := range tests {
		rr, err := ParseRowRange(tc.start, tc.end)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q..%q: err %v, want one containing %q", tc.start, tc.end, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q..%q: %v", tc.start, tc.end, err)
			continue
		}
		if got := rr.Labels(); strings.Join(got, ",") != strings.Join(tc.want, ",") || rr.Count() != len(tc.want) {
			t.Errorf("%q..%q = %v, want %v", tc.start, tc.end, got, tc.want)
		}
	}
}

func TestSeatsAreStableAndDrawable(t *testing.T) {
	sections := []SectionShape{
		{Code: "A", Name: "Premium", RowStart: "A", RowEnd: "A", SeatsPerRow: 13},
		{Code: "B", Name: "Standard", RowStart: "B", RowEnd: "C", SeatsPerRow: 10},
	}
	seats, err := Seats(sections)
	if err != nil {
		t.Fatal(err)
	}
	if len(seats) != 33 {
		t.Fatalf("got %d seats, want 33", len(seats))
	}
	first, last := seats[0], seats[len(seats)-1]
	if first.SeatID != contracts.SeatID("A", "A", 1) || first.Label != "Premium A-1" || first.Row != "A" || first.Number != 1 {
		t.Fatalf("first seat %+v", first)
	}
	if last.SeatID != "B-RC-S10" || last.Label != "Standard C-10" {
		t.Fatalf("last seat %+v", last)
	}
	ids := map[string]bool{}
	pos := map[[2]float64]bool{}
	for _, s := range seats {
		if ids[s.SeatID] {
			t.Fatalf("duplicate seat id %s", s.SeatID)
		}
		ids[s.SeatID] = true
		p := [2]float64{s.X, s.Y}
		if pos[p] {
			t.Fatalf("two seats drawn at %v", p)
		}
		pos[p] = true
	}
	// The narrower section is centred under the wider one.
	if seats[13].X != 15 || seats[13].Y <= seats[0].Y {
		t.Fatalf("section B row B seat 1 at (%v,%v)", seats[13].X, seats[13].Y)
	}
	again, _ := Seats(sections)
	for i := range seats {
		if seats[i] != again[i] {
			t.Fatal("seat generation must be deterministic")
		}
	}
	rows, _ := LayoutRows(sections)
	if len(rows[1]) != 2 || rows[1][1].Label != "C" || rows[1][1].First != 1 || rows[1][1].Last != 10 {
		t.Fatalf("layout rows %+v", rows[1])
	}
}

func TestNumberedRowsSeatIDs(t *testing.T) {
	seats, err := Seats([]SectionShape{{Code: "AA", Name: "Upper", RowStart: "9", RowEnd: "10", SeatsPerRow: 2}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range seats {
		ids = append(ids, s.SeatID)
	}
	if got := strings.Join(ids, " "); got != "AA-R9-S1 AA-R9-S2 AA-R10-S1 AA-R10-S2" {
		t.Fatalf("ids %s", got)
	}
}
