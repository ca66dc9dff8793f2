// Package bench measures the inventory against the real local servers: 2-seat holds per
// second with latency percentiles straight to the service over loopback, seat-map latency
// for a 50,000-seat event, the time to build a 50,000-seat ledger, and sales per second
// with allocations per sale through the group commit. Run with
//
//	go test -run '^$' -bench . -benchtime 20000x ./internal/bench/
//
// (bounded: -benchtime sets the number of operations).
package bench

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"evently.dev/libs/contracts"
	"evently.dev/libs/kafka"

	"evently.dev/services/inventory/internal/inventorytest"
)

var stadium = inventorytest.Layout{Sections: 20, Rows: 50, SeatsPerRow: 50, Price: 3000}

// run times b.N calls of op (its argument is the call's index) from clients goroutines,
// fails the benchmark if any failed, and reports the rate and latency percentiles.
func run(b *testing.B, clients int, unit string, op func(i int) error) {
	b.Helper()
	lat := make([]time.Duration, b.N)
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range clients {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				t0 := time.Now()
				err := op(int(i))
				lat[i] = time.Since(t0)
				if err != nil {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if failed.Load() > 0 {
		b.Fatalf("%d %s failed", failed.Load(), unit)
	}
	report(b, lat, elapsed, unit)
}

func report(b *testing.B, lat []time.Duration, elapsed time.Duration, unit string) {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(float64(len(lat))*p))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), unit+"/s")
}

// BenchmarkHoldTwoSeats places 2-seat holds through the HTTP API from 32 concurrent
// clients over loopback: every request is a distinct buyer on a distinct free pair, so
// each one runs the full hold path (snapshot-free explicit seats, Lua script, outbox row).
func BenchmarkHoldTwoSeats(b *testing.B) {
	env := inventorytest.New(b)
	actx, stop := context.WithCancel(context.Background())
	defer stop()
	go func() { _ = env.App.RunAnnouncer(actx) }() // as in production: batched hold.created rows
	events := []contracts.EventPublished{env.Publish(b, stadium, 0)}
	var pairs [][]string
	for s := range stadium.Sections {
		for r := range stadium.Rows {
			for n := 1; n+1 <= stadium.SeatsPerRow; n += 2 {
				pairs = append(pairs, inventorytest.SeatIDs(events[0], s, r, n, 2))
			}
		}
	}
	if b.N > len(pairs) {
		b.Fatalf("at most %d operations per event (use -benchtime %dx)", len(pairs), len(pairs))
	}
	run(b, 32, "holds", func(i int) error {
		body := map[string]any{"event_id": events[0].EventID, "seat_ids": pairs[i]}
		r, err := env.Request("POST", "/api/v1/seats/hold", uuid.NewString(), body)
		if err == nil && r.Status != 201 {
			err = fmt.Errorf("hold answered %d", r.Status)
		}
		return err
	})
}

// BenchmarkLayout50k answers the seat map of a 50,000-seat event (with some seats held and
// sold) in process, measuring the server's work without client-side JSON decoding.
func BenchmarkLayout50k(b *testing.B) {
	env := inventorytest.New(b)
	p := env.Publish(b, stadium, 0)
	user := uuid.NewString()
	for s := range 10 {
		env.Call(b, "POST", "/api/v1/seats/hold", user, map[string]any{"event_id": p.EventID,
			"seat_ids": inventorytest.SeatIDs(p, s, 0, 1, 4)})
	}
	srv := echoFor(b, env)
	path := "/api/v1/events/" + p.EventID + "/venue/layout"
	warm := httptest.NewRequest("GET", path, nil) // loads and encodes the layout once
	sign(warm, user)
	srv.ServeHTTP(&discard{}, warm)
	lat := make([]time.Duration, 0, b.N)
	size := 0
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		req := httptest.NewRequest("GET", path, nil)
		sign(req, user)
		w := &discard{}
		t0 := time.Now()
		srv.ServeHTTP(w, req)
		lat = append(lat, time.Since(t0))
		if w.status != 200 {
			b.Fatalf("layout: %d", w.status)
		}
		size = w.n
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(size)/1e6, "MB/resp")
	report(b, lat, elapsed, "maps")
}

// BenchmarkLedgerBuild50k builds a 50,000-seat ledger from event.published, as the catalog
// consumer does (one transaction, batched array inserts).
func BenchmarkLedgerBuild50k(b *testing.B) {
	env := inventorytest.New(b)
	var total time.Duration
	for range b.N {
		p := inventorytest.EventPublished(stadium, 0)
		ev, err := kafka.NewEvent(contracts.TopicCatalogEvents, p.EventID, contracts.TypeEventPublished, "/bench", p)
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		if err := env.DB.RunInTx(context.Background(), nil, func(ctx context.Context, tx bun.Tx) error {
			return env.Events.Catalog(ctx, tx, ev)
		}); err != nil {
			b.Fatal(err)
		}
		total += time.Since(t0)
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/ledger")
}
