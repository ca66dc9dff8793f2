package domain

import (
	"math"
	"sort"
)

// PickRun is one row run as best-available sees it: seats in number order, front runs first.
type PickRun struct {
	// Rank orders runs front to back (lower is better).
	Rank  int
	Seats []PickSeat
}

// PickSeat is one seat of a run and whether it can be taken.
type PickSeat struct {
	ID   string
	Free bool
}

// candidate is one block of adjacent free seats.
type candidate struct {
	run, start, n int
	orphans       int
	rank          int
	offCentre     float64
}

// better orders candidates: no single-seat gap left behind beats any gap, then the front
// row, then closeness of the block's centre to the row's centre, then the lower seat.
func (c candidate) better(o candidate) bool {
	if (c.orphans > 0) != (o.orphans > 0) {
		return c.orphans == 0
	}
	if c.rank != o.rank {
		return c.rank < o.rank
	}
	if math.Abs(c.offCentre-o.offCentre) > 1e-9 {
		return c.offCentre < o.offCentre
	}
	if c.run != o.run {
		return c.run < o.run
	}
	return c.start < o.start
}

// bestBlock finds the best block of n adjacent free seats, if any.
func bestBlock(runs []PickRun, n int) (candidate, bool) {
	var best candidate
	found := false
	for ri, r := range runs {
		centre := float64(len(r.Seats)-1) / 2
		// Walk the free segments [l, h] of the run; every block inside one is a candidate.
		for l := 0; l < len(r.Seats); {
			if !r.Seats[l].Free {
				l++
				continue
			}
			h := l
			for h+1 < len(r.Seats) && r.Seats[h+1].Free {
				h++
			}
			for s := l; s+n-1 <= h; s++ {
				c := candidate{run: ri, start: s, n: n, rank: r.Rank,
					offCentre: math.Abs(float64(s) + float64(n-1)/2 - centre)}
				if s-l == 1 {
					c.orphans++
				}
				if h-(s+n-1) == 1 {
					c.orphans++
				}
				if !found || c.better(best) {
					best, found = c, true
				}
			}
			l = h + 1
		}
	}
	return best, found
}

// PickAdjacent chooses n adjacent seats in one run, preferring the front, the row's centre
// and blocks that leave no single seat stranded. It returns nil when no run has n together.
func PickAdjacent(runs []PickRun, n int) []string {
	if n <= 0 {
		return nil
	}
	c, ok := bestBlock(runs, n)
	if !ok {
		return nil
	}
	ids := make([]string, n)
	for i := range n {
		ids[i] = runs[c.run].Seats[c.start+i].ID
	}
	return ids
}

// PickSplit chooses n seats in as few blocks as it can, each block placed like
// PickAdjacent's, for buyers who accept sitting apart. It returns nil when fewer than n
// seats are free. runs is not modified.
func PickSplit(runs []PickRun, n int) []string {
	if n <= 0 {
		return nil
	}
	work := make([]PickRun, len(runs))
	free := 0
	longest := func() int {
		best := 0
		for _, r := range work {
			cur := 0
			for _, s := range r.Seats {
				if s.Free {
					cur++
					best = max(best, cur)
				} else {
					cur = 0
				}
			}
		}
		return best
	}
	for i, r := range runs {
		work[i] = PickRun{Rank: r.Rank, Seats: append([]PickSeat(nil), r.Seats...)}
		for _, s := range r.Seats {
			if s.Free {
				free++
			}
		}
	}
	if free < n {
		return nil
	}
	type pos struct{ run, seat int }
	var picked []pos
	for left := n; left > 0; {
		k := min(longest(), left)
		c, ok := bestBlock(work, k)
		if !ok {
			return nil
		}
		for i := range k {
			work[c.run].Seats[c.start+i].Free = false
			picked = append(picked, pos{c.run, c.start + i})
		}
		left -= k
	}
	// Seat order, not picking order: tickets and maps list seats front to back, left to right.
	sort.Slice(picked, func(i, j int) bool {
		if picked[i].run != picked[j].run {
			return picked[i].run < picked[j].run
		}
		return picked[i].seat < picked[j].seat
	})
	ids := make([]string, len(picked))
	for i, p := range picked {
		ids[i] = work[p.run].Seats[p.seat].ID
	}
	return ids
}
