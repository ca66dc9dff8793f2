package app

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"evently.dev/services/inventory/internal/domain"
)

// The view's pick hands the domain only the runs that can matter; on random sections it
// chooses exactly what the domain's pickers choose from every run.
func TestPickMatchesTheDomainOverEveryRun(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 2000 {
		rows, width := 1+rng.IntN(8), 1+rng.IntN(12)
		l := &Layout{index: map[string]int32{}}
		var runs [][]int32
		for r := range rows {
			var run []int32
			for s := range width {
				id := fmt.Sprintf("R%d-S%d", r, s)
				l.index[id] = int32(len(l.Seats))
				run = append(run, int32(len(l.Seats)))
				l.Seats = append(l.Seats, domain.Seat{ID: id})
			}
			runs = append(runs, run)
		}
		status := make([]uint8, len(l.Seats))
		taken := rng.Float64()
		for i := range status {
			if rng.Float64() < taken {
				status[i] = stateSold
			}
		}
		spec := domain.HoldSpec{Quantity: 1 + rng.IntN(4), AllowSplit: rng.IntN(2) == 0}

		all := make([]domain.PickRun, len(runs))
		for i, run := range runs {
			seats := make([]domain.PickSeat, len(run))
			for j, idx := range run {
				seats[j] = domain.PickSeat{ID: l.Seats[idx].ID, Free: status[idx] == stateAvailable}
			}
			all[i] = domain.PickRun{Rank: i, Seats: seats}
		}
		want := domain.PickAdjacent(all, spec.Quantity)
		if want == nil && spec.AllowSplit {
			want = domain.PickSplit(all, spec.Quantity)
		}

		v := &view{status: slices.Clone(status)}
		got := v.pick(l, runs, spec)
		if !slices.Equal(got, want) {
			t.Fatalf("trial %d (%d×%d, %+v): picked %v, want %v", trial, rows, width, spec, got, want)
		}
		for _, id := range got {
			if v.status[l.index[id]] != stateHeld {
				t.Fatalf("trial %d: %s picked but not marked held", trial, id)
			}
		}
	}
}
