package load

import (
	"context"
	"math/rand/v2"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"evently.dev/bench/internal/client"
)

// Sale describes one flash sale: who buys, how, and when to stop.
type Sale struct {
	EventID string
	// Sections are the event's section ids, for best-available holds.
	Sections []string
	// Pairs are explicit 2-seat choices (adjacent seats), already shuffled; buyers that pick
	// their own seats take them in this order and move to best-available when none is left.
	Pairs [][2]string
	// Buyers are access tokens; client i serves buyers i, i+Clients, ... in turn.
	Buyers  []string
	Clients int
	// ExplicitShare is the fraction of buyers who pick their own seats (0–1).
	ExplicitShare float64
	// Rate caps bookings started per second (0 = as fast as the system answers): the
	// half-rate run measures latency below saturation.
	Rate float64
	// Target is the number of seats after which the sale stops (the capacity for a sell-out).
	Target int
	// Stall stops the sale when nothing was sold for this long; Timeout bounds it anyway.
	Stall   time.Duration
	Timeout time.Duration
	// Confirmed, when set, is told the time of every successful confirm (the fault drills
	// measure the first success after a fault with it).
	Confirmed func(at time.Time)
}

// SaleResult is what a sale measured.
type SaleResult struct {
	SeatsSold   int            `json:"seats_sold"`
	Bookings    int            `json:"bookings"`
	Seconds     float64        `json:"seconds"`
	SeatsPerSec float64        `json:"seats_per_s"`
	PeakPerSec  float64        `json:"peak_seats_per_s"`
	Hold        Latency        `json:"hold"`
	Confirm     Latency        `json:"confirm"`
	HoldOut     map[string]int `json:"hold_outcomes"`
	ConfirmOut  map[string]int `json:"confirm_outcomes"`
	// ReleaseOut are the answers to giving a hold back after a failed confirm.
	ReleaseOut map[string]int `json:"release_outcomes,omitempty"`
	// FirstTransportError is the first transport error of each operation, as text: the
	// outcome tables only say "transport error".
	FirstTransportError map[string]string `json:"first_transport_error,omitempty"`
	Released            int               `json:"holds_released_after_failed_confirm"`
	// Timeline is the seats sold in each 100 ms of the sale.
	Timeline []int  `json:"timeline_100ms"`
	Stopped  string `json:"stopped"`
	// Ended is when the last booking was confirmed (zero if none).
	Ended time.Time `json:"ended"`
}

// Run drives the sale and returns its figures. Transport errors and refusals are counted,
// never fatal: the point is to see them.
func (s Sale) Run(ctx context.Context, c *client.Client) SaleResult {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	rec := NewRecorder()
	var errMu sync.Mutex
	firstErr := map[string]string{}
	noteErr := func(op string, err error) {
		if err == nil {
			return
		}
		errMu.Lock()
		defer errMu.Unlock()
		if _, ok := firstErr[op]; !ok {
			firstErr[op] = err.Error()
		}
	}
	var sold, bookings, released, nextPair atomic.Int64
	var lastSale atomic.Int64
	lastSale.Store(start.UnixNano())
	timeline := make([]atomic.Int64, int(s.Timeout/bucket)+2)
	exhausted := make([]atomic.Int64, len(s.Sections)) // unix nanos of the last not_enough_seats
	target := int64(s.Target)
	var stopped atomic.Value
	stopped.Store("sold the target")

	// Pacing: a ticker hands out starts; without a rate every client runs flat out.
	var tokens chan struct{}
	if s.Rate > 0 {
		tokens = make(chan struct{}, s.Clients)
		go func() {
			t := time.NewTicker(time.Duration(float64(time.Second) / s.Rate))
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					select {
					case tokens <- struct{}{}:
					default: // every client is busy: the start is lost, as with real arrivals
					}
				}
			}
		}()
	}
	// The watchdog ends a sale that makes no progress (seats stuck in holds, a broken path).
	go func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if time.Since(time.Unix(0, lastSale.Load())) > s.Stall {
					stopped.Store("no sale for " + s.Stall.String())
					cancel()
					return
				}
			}
		}
	}()

	explicitBuyers := int(float64(len(s.Buyers)) * s.ExplicitShare)
	var wg sync.WaitGroup
	for w := range s.Clients {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), uint64(start.UnixNano()))) //nolint:gosec // G404: spreads load over sections, no secret
			for turn := 0; ; turn++ {
				if ctx.Err() != nil || sold.Load() >= target {
					return
				}
				if tokens != nil {
					select {
					case <-ctx.Done():
						return
					case <-tokens:
					}
				}
				b := (w + turn*s.Clients) % len(s.Buyers)
				token := s.Buyers[b]
				var body map[string]any
				if b < explicitBuyers {
					if i := int(nextPair.Add(1)) - 1; i < len(s.Pairs) {
						body = map[string]any{"event_id": s.EventID, "seat_ids": []string{s.Pairs[i][0], s.Pairs[i][1]}}
					}
				}
				sec := -1
				if body == nil {
					sec = pickSection(rng, exhausted)
					if sec < 0 {
						// Every section said "not enough seats" just now: seats are in
						// holds being confirmed (or released). Look again shortly.
						sleep(ctx, 20*time.Millisecond)
						continue
					}
					body = map[string]any{"event_id": s.EventID, "section_id": s.Sections[sec], "quantity": 2, "allow_split": true}
				}
				t0 := time.Now()
				r, err := c.Do(ctx, http.MethodPost, "/api/v1/seats/hold", token, body)
				if ctx.Err() != nil {
					return // the sale ended mid-request: not a result
				}
				okHold := err == nil && r.Status == http.StatusCreated
				out := outcome(r.Status, r.Body, err)
				rec.Add("hold", time.Since(t0), okHold, out)
				noteErr("hold", err)
				if !okHold {
					if sec >= 0 && out == "409 not_enough_seats" {
						exhausted[sec].Store(time.Now().UnixNano())
					}
					continue
				}
				var h struct {
					HoldID string `json:"hold_id"`
					Seats  []struct {
						SeatID string `json:"seat_id"`
					} `json:"seats"`
				}
				if r.Decode(&h) != nil {
					continue
				}
				t1 := time.Now()
				r, err = c.Do(ctx, http.MethodPost, "/api/v1/bookings/confirm", token, map[string]any{"hold_id": h.HoldID})
				if ctx.Err() != nil {
					return // cut off by the sale's end: the ledger check counts what happened
				}
				okConfirm := err == nil && (r.Status == http.StatusCreated || r.Status == http.StatusOK)
				rec.Add("confirm", time.Since(t1), okConfirm, outcome(r.Status, r.Body, err))
				noteErr("confirm", err)
				if !okConfirm {
					// Give the seats back at once rather than after the hold's TTL, so a
					// failed confirm does not stall the sell-out.
					t2 := time.Now()
					rr, err := c.Do(ctx, http.MethodDelete, "/api/v1/seats/hold/"+h.HoldID, token, nil)
					okRelease := err == nil && rr.Status == http.StatusNoContent
					rec.Add("release", time.Since(t2), okRelease, outcome(rr.Status, rr.Body, err))
					noteErr("release", err)
					if okRelease {
						released.Add(1)
					}
					continue
				}
				now := time.Now()
				if s.Confirmed != nil {
					s.Confirmed(now)
				}
				n := int64(len(h.Seats))
				sold.Add(n)
				bookings.Add(1)
				lastSale.Store(now.UnixNano())
				if i := int(now.Sub(start) / bucket); i < len(timeline) {
					timeline[i].Add(n)
				}
			}
		})
	}
	wg.Wait()
	if ctx.Err() != nil && sold.Load() < target && stopped.Load() == "sold the target" {
		stopped.Store("timeout " + s.Timeout.String())
	}
	end := time.Unix(0, lastSale.Load())
	res := SaleResult{SeatsSold: int(sold.Load()), Bookings: int(bookings.Load()), Released: int(released.Load()),
		Hold: rec.Stats("hold"), Confirm: rec.Stats("confirm"), HoldOut: rec.Outcomes("hold"),
		ConfirmOut: rec.Outcomes("confirm"), ReleaseOut: rec.Outcomes("release"), FirstTransportError: firstErr, Stopped: stopped.Load().(string)}
	if res.Bookings > 0 {
		res.Ended = end
		res.Seconds = end.Sub(start).Seconds()
		res.SeatsPerSec = float64(res.SeatsSold) / res.Seconds
	}
	last := min(int(end.Sub(start)/bucket)+1, len(timeline))
	for i := range last {
		res.Timeline = append(res.Timeline, int(timeline[i].Load()))
	}
	res.PeakPerSec = peak(res.Timeline)
	return res
}

// bucket is the resolution of a sale's timeline.
const bucket = 100 * time.Millisecond

// peak is the most seats sold within any one second (ten consecutive buckets); a sale
// shorter than a second gives its mean rate instead.
func peak(t []int) float64 {
	const w = int(time.Second / bucket)
	if len(t) < w {
		sum := 0
		for _, v := range t {
			sum += v
		}
		if len(t) == 0 {
			return 0
		}
		return float64(sum) / (float64(len(t)) * bucket.Seconds())
	}
	best, cur := 0, 0
	for i, v := range t {
		cur += v
		if i >= w {
			cur -= t[i-w]
		}
		if i >= w-1 {
			best = max(best, cur)
		}
	}
	return float64(best)
}

// pickSection chooses a random section that has not said "not enough seats" in the last
// 200 ms, or -1 when all have.
func pickSection(rng *rand.Rand, exhausted []atomic.Int64) int {
	cutoff := time.Now().Add(-200 * time.Millisecond).UnixNano()
	off := rng.IntN(len(exhausted))
	for i := range exhausted {
		j := (off + i) % len(exhausted)
		if exhausted[j].Load() < cutoff {
			return j
		}
	}
	return -1
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// PairsFromMap lists adjacent seat pairs (1–2, 3–4, ...) of every row of a seat map, in a
// random order, for buyers who choose their own seats.
func PairsFromMap(m client.SeatMap, seed uint64) [][2]string {
	type key struct{ sec, row string }
	rows := map[key][]struct {
		n  int
		id string
	}{}
	var order []key
	for _, s := range m.Seats {
		k := key{s.SectionID, s.Row}
		if _, ok := rows[k]; !ok {
			order = append(order, k)
		}
		rows[k] = append(rows[k], struct {
			n  int
			id string
		}{s.Number, s.SeatID})
	}
	var pairs [][2]string
	for _, k := range order {
		seats := rows[k]
		sort.Slice(seats, func(i, j int) bool { return seats[i].n < seats[j].n })
		for i := 0; i+1 < len(seats); i += 2 {
			pairs = append(pairs, [2]string{seats[i].id, seats[i+1].id})
		}
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) //nolint:gosec // G404: a repeatable shuffle, no secret
	rng.Shuffle(len(pairs), func(i, j int) { pairs[i], pairs[j] = pairs[j], pairs[i] })
	return pairs
}
