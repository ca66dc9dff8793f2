package domain

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// runs builds rows from strings: '.' free, 'x' taken; seat ids are "R<row>-<n>" (1-based).
func runs(rows ...string) []PickRun {
	out := make([]PickRun, len(rows))
	for r, s := range rows {
		seats := make([]PickSeat, len(s))
		for i, ch := range s {
			seats[i] = PickSeat{ID: fmt.Sprintf("R%d-%d", r+1, i+1), Free: ch == '.'}
		}
		out[r] = PickRun{Rank: r, Seats: seats}
	}
	return out
}

func TestPickAdjacent(t *testing.T) {
	tests := []struct {
		name string
		rows []string
		n    int
		want string // comma-joined ids, "" for none
	}{
		{"centre of the front row", []string{"..........", ".........."}, 2, "R1-5,R1-6"},
		{"odd block centred", []string{".........", "........."}, 3, "R1-4,R1-5,R1-6"},
		{"front row full goes back", []string{"xxxxxxxxxx", ".........."}, 4, "R2-4,R2-5,R2-6,R2-7"},
		{"only room in a back row", []string{"x.x.x.x.x.", "x...x....."}, 3, "R2-6,R2-7,R2-8"},
		{"avoids stranding one seat", []string{"x...xxxxxx", "x.....xxxx"}, 2, "R2-5,R2-6"},
		{"fills a gap exactly", []string{"xx..xxxxxx"}, 2, "R1-3,R1-4"},
		{"accepts a gap when nothing else", []string{"x...xxxxxx"}, 2, "R1-3,R1-4"},
		{"not enough together", []string{".x.x.x.x", "x.x.x.x."}, 2, ""},
		{"whole row", []string{"...."}, 4, "R1-1,R1-2,R1-3,R1-4"},
		{"more than a row", []string{"...."}, 5, ""},
		{"zero", []string{"...."}, 0, ""},
		{"prefers centre over edge in same row", []string{"..xx......xx.."}, 2, "R1-7,R1-8"},
		{"centre block that strands a seat loses", []string{"xxx....xxx", "........."}, 3, "R2-4,R2-5,R2-6"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := strings.Join(PickAdjacent(runs(tt.rows...), tt.n), ",")
			if got != tt.want {
				t.Fatalf("PickAdjacent(%v, %d) = %q, want %q", tt.rows, tt.n, got, tt.want)
			}
		})
	}
}

func TestPickAdjacentNeverPicksTakenSeatsOrSplits(t *testing.T) {
	rows := []string{"x..x...x.x", ".x..x...x.", "...x..x..."}
	for n := 1; n <= 4; n++ {
		ids := PickAdjacent(runs(rows...), n)
		if ids == nil {
			continue
		}
		if len(ids) != n {
			t.Fatalf("n=%d: got %d seats", n, len(ids))
		}
		var row, prev int
		for i, id := range ids {
			var r, s int
			if _, err := fmt.Sscanf(id, "R%d-%d", &r, &s); err != nil {
				t.Fatal(err)
			}
			if rows[r-1][s-1] != '.' {
				t.Fatalf("n=%d: picked taken seat %s", n, id)
			}
			if i > 0 && (r != row || s != prev+1) {
				t.Fatalf("n=%d: seats not adjacent: %v", n, ids)
			}
			row, prev = r, s
		}
	}
}

func TestPickSplit(t *testing.T) {
	tests := []struct {
		name string
		rows []string
		n    int
		want []string
	}{
		{"adjacent when possible", []string{"..........", ".........."}, 3, []string{"R1-4", "R1-5", "R1-6"}},
		{"two blocks", []string{"x..x..x..x"}, 4, []string{"R1-2", "R1-3", "R1-5", "R1-6"}},
		{"largest block first", []string{"x.x...x..."}, 4, []string{"R1-4", "R1-5", "R1-6", "R1-8"}},
		{"not enough seats at all", []string{"x.x.x"}, 3, nil},
		{"spans rows", []string{"x..x", "x..x"}, 4, []string{"R1-2", "R1-3", "R2-2", "R2-3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PickSplit(runs(tt.rows...), tt.n)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("PickSplit(%v, %d) = %v, want %v", tt.rows, tt.n, got, tt.want)
			}
		})
	}
}

func TestPickSplitDoesNotModifyInput(t *testing.T) {
	in := runs("....", "....")
	_ = PickSplit(in, 6)
	for _, r := range in {
		for _, s := range r.Seats {
			if !s.Free {
				t.Fatal("PickSplit changed its input")
			}
		}
	}
}
