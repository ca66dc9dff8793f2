package http_test

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"evently.dev/libs/contracts"

	"evently.dev/services/inventory/internal/config"
	"evently.dev/services/inventory/internal/inventorytest"
)

// TestIntegrationBatchedCommitsSurviveARefusal races many commits through one committer so
// that they share ledger transactions, with one hold whose seats the ledger already sold
// (Redis forgot the sale). The batch holding it rolls back and its sales are retried one
// by one: the refused buyer gets 409, every other buyer its seats, and nothing is applied
// twice — commits, counters and seats.sold match the ledger exactly.
func TestIntegrationBatchedCommitsSurviveARefusal(t *testing.T) {
	env := inventorytest.New(t, func(c *config.Config) { c.Commit = config.Commit{MaxBatch: 64, Workers: 1} })
	var batched, fellBack atomic.Int32
	env.App.OnCommitBatch = func(size int, fb bool) {
		if size > 1 {
			batched.Add(1)
		}
		if fb {
			fellBack.Add(1)
		}
	}
	p := env.Publish(t, inventorytest.Layout{Sections: 2, Rows: 5, SeatsPerRow: 10, Price: 1500}, 6)
	ctx := context.Background()
	type buyer struct{ user, hold, booking string }
	var buyers []buyer
	for sec := range 2 {
		for row := range 5 {
			for from := 1; from <= 9; from += 2 {
				u := user()
				h := mustHold(t, env, u, map[string]any{"event_id": p.EventID, "seat_ids": inventorytest.SeatIDs(p, sec, row, from, 2)})
				buyers = append(buyers, buyer{user: u, hold: h["hold_id"].(string), booking: uuid.NewString()})
			}
		}
	}
	// The ledger sold buyer 7's seats behind Redis's back.
	victim := buyers[7]
	stolen := inventorytest.SeatIDs(p, 0, 1, 5, 2)
	if _, err := env.DB.NewRaw(`UPDATE seats SET status = 'SOLD', booking_id = ? WHERE event_id = ? AND seat_id IN (?)`,
		uuid.New(), p.EventID, bun.List(stolen)).Exec(ctx); err != nil {
		t.Fatal(err)
	}

	status := make([][2]int, len(buyers))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, b := range buyers {
		for twin := range 2 { // every booking retries at once: twins must not double anything
			wg.Go(func() {
				<-start
				r, err := env.Request("POST", "/internal/v1/holds/"+b.hold+"/commit", "service:booking",
					map[string]any{"booking_id": b.booking, "user_id": b.user})
				if err != nil {
					t.Error(err)
					return
				}
				if r.Status != 200 {
					status[i][twin] = r.Status
				}
			})
		}
	}
	close(start)
	wg.Wait()

	for i, twins := range status {
		for _, st := range twins {
			switch {
			case buyers[i] == victim && st != 409:
				t.Fatalf("buyer of already-sold seats got %d, want 409", st)
			case buyers[i] != victim && st != 0:
				t.Fatalf("buyer %d got %d, want 200", i, st)
			}
		}
	}
	if batched.Load() == 0 {
		t.Fatal("no commit shared a transaction: the batch path was not exercised")
	}
	if fellBack.Load() == 0 {
		t.Fatal("the refused sale did not send its batch to the one-by-one path")
	}
	want := len(buyers) - 1
	var commits, soldSeats, counted int
	if err := env.DB.NewRaw(`SELECT count(*) FROM commits WHERE event_id = ?`, p.EventID).Scan(ctx, &commits); err != nil {
		t.Fatal(err)
	}
	if err := env.DB.NewRaw(`SELECT count(*) FROM seats s JOIN commits c ON c.booking_id = s.booking_id
		WHERE s.event_id = ? AND s.status = 'SOLD'`, p.EventID).Scan(ctx, &soldSeats); err != nil {
		t.Fatal(err)
	}
	if err := env.DB.NewRaw(`SELECT COALESCE(sum(sold), 0) FROM section_sold_shards WHERE event_id = ?`, p.EventID).Scan(ctx, &counted); err != nil {
		t.Fatal(err)
	}
	if commits != want || soldSeats != 2*want || counted != 2*want {
		t.Fatalf("commits=%d sold-by-commit seats=%d counters=%d, want %d, %d, %d", commits, soldSeats, counted, want, 2*want, 2*want)
	}
	if n := env.OutboxTypes(t)[contracts.TypeSeatsSold]; n != want {
		t.Fatalf("%d seats.sold events, want %d", n, want)
	}
	for _, b := range buyers {
		if b == victim {
			continue
		}
		var n int
		if err := env.DB.NewRaw(`SELECT count(*) FROM seats WHERE booking_id = ? AND status = 'SOLD'`, b.booking).Scan(ctx, &n); err != nil {
			t.Fatal(err)
		}
		if n != 2 {
			t.Fatalf("booking %s owns %d seats, want 2", b.booking, n)
		}
	}
}

// TestIntegrationBestAvailableRushFillsTheSection races more best-available buyers than a
// section has pairs of seats. Picks come from one shared view that reserves what it hands
// out: no seat goes to two buyers (Redis agrees seat by seat), and buyers are refused only
// once no two adjacent seats are left.
func TestIntegrationBestAvailableRushFillsTheSection(t *testing.T) {
	env := inventorytest.New(t)
	p := env.Publish(t, inventorytest.Layout{Sections: 1, Rows: 5, SeatsPerRow: 20, Price: 1000}, 10)
	sec := p.Sections[0].SectionID
	const buyers = 80 // 50 pairs exist
	type result struct {
		status int
		seats  []string
		hold   string
	}
	results := make([]result, buyers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range buyers {
		wg.Go(func() {
			<-start
			r, err := env.Request("POST", "/api/v1/seats/hold", user(), map[string]any{"event_id": p.EventID, "section_id": sec, "quantity": 2})
			if err != nil {
				t.Error(err)
				return
			}
			res := result{status: r.Status}
			if r.Status == 201 {
				m := r.JSON(t)
				res.hold = m["hold_id"].(string)
				for _, s := range m["seats"].([]any) {
					res.seats = append(res.seats, s.(map[string]any)["seat_id"].(string))
				}
			}
			results[i] = res
		})
	}
	close(start)
	wg.Wait()
	ctx := context.Background()
	owner := map[string]string{}
	won := 0
	for _, r := range results {
		switch r.status {
		case 201:
			won++
			for _, s := range r.seats {
				if prev, dup := owner[s]; dup {
					t.Fatalf("seat %s handed to holds %s and %s", s, prev, r.hold)
				}
				owner[s] = r.hold
				got, err := env.Redis.Get(ctx, env.Holds.SeatKey(uuid.MustParse(p.EventID), s)).Result()
				if err != nil || got != r.hold {
					t.Fatalf("seat %s: Redis says %q (%v), want hold %s", s, got, err, r.hold)
				}
			}
		case 409:
		default:
			t.Fatalf("unexpected status %d", r.status)
		}
	}
	// Every refusal was honest: no row is left with two free seats side by side.
	for row := range 5 {
		ids := inventorytest.SeatIDs(p, 0, row, 1, 20)
		for i := 1; i < len(ids); i++ {
			_, a := owner[ids[i-1]]
			_, b := owner[ids[i]]
			if !a && !b {
				t.Fatalf("row %d still has %s and %s free after %d buyers were refused", row+1, ids[i-1], ids[i], buyers-won)
			}
		}
	}
	t.Logf("%d of %d buyers got a pair; %d seats held", won, buyers, len(owner))
}

// TestIntegrationSeatsSoldCarriesTheLedgersCounts sells pairs one after another, so each
// sale is a transaction of its own through the one-statement batch path. The counts each
// seats.sold carries are read back in the statement that changes them: the counter shards
// it inserts, those it raises and those it leaves alone must add up to the ledger's SOLD
// seats after that very sale, section by section.
func TestIntegrationSeatsSoldCarriesTheLedgersCounts(t *testing.T) {
	env := inventorytest.New(t, func(c *config.Config) { c.Commit = config.Commit{MaxBatch: 64, Workers: 1} })
	var lone atomic.Int32
	env.App.OnCommitBatch = func(size int, fb bool) {
		if size == 1 && !fb {
			lone.Add(1)
		}
	}
	p := env.Publish(t, inventorytest.Layout{Sections: 2, Rows: 5, SeatsPerRow: 10, Price: 1500}, 6)
	ctx := context.Background()
	sold := map[string]int{}
	for i := range 24 { // more sales than shards, so shard rows are both inserted and raised
		sec, row, from := i%2, (i/2)%5, 1+2*((i/10)%5)
		u := user()
		h := mustHold(t, env, u, map[string]any{"event_id": p.EventID, "seat_ids": inventorytest.SeatIDs(p, sec, row, from, 2)})
		booking := uuid.NewString()
		r, err := env.Request("POST", "/internal/v1/holds/"+h["hold_id"].(string)+"/commit", "service:booking",
			map[string]any{"booking_id": booking, "user_id": u})
		if err != nil || r.Status != 200 {
			t.Fatalf("sale %d: %v %v", i, r.Status, err)
		}
		sold[p.Sections[sec].SectionID] += 2
		var payload string
		if err := env.DB.NewRaw(`SELECT payload::text FROM outbox WHERE type = ? AND payload::jsonb->>'booking_id' = ?`,
			contracts.TypeSeatsSold, booking).Scan(ctx, &payload); err != nil {
			t.Fatal(err)
		}
		var ev contracts.SeatsSold
		if err := json.Unmarshal([]byte(payload), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.SoldTotal != 2*(i+1) || ev.Capacity != 100 || len(ev.Sections) != 2 {
			t.Fatalf("sale %d: sold_total %d capacity %d sections %d, want %d, 100, 2", i, ev.SoldTotal, ev.Capacity, len(ev.Sections), 2*(i+1))
		}
		for _, s := range ev.Sections {
			if s.Sold != sold[s.SectionID] || s.Capacity != 50 {
				t.Fatalf("sale %d: section %s sold %d of %d, want %d of 50", i, s.SectionID, s.Sold, s.Capacity, sold[s.SectionID])
			}
		}
		// The commit record (what a booking is rebuilt from after a crash) says what the
		// event says: the statement takes its columns as arrays, in the sales' order.
		var rec struct {
			HoldID      string    `bun:"hold_id"`
			UserID      string    `bun:"user_id"`
			EventID     string    `bun:"event_id"`
			Seats       string    `bun:"seats"`
			TotalAmount int64     `bun:"total_amount"`
			Currency    string    `bun:"currency"`
			CommittedAt time.Time `bun:"committed_at"`
		}
		if err := env.DB.NewRaw(`SELECT hold_id::text, user_id, event_id::text, seats::text, total_amount, currency, committed_at
			FROM commits WHERE booking_id = ?`, booking).Scan(ctx, &rec); err != nil {
			t.Fatalf("sale %d: commit record: %v", i, err)
		}
		var recSeats []contracts.SoldSeat
		if err := json.Unmarshal([]byte(rec.Seats), &recSeats); err != nil {
			t.Fatal(err)
		}
		if rec.HoldID != h["hold_id"] || rec.UserID != u || rec.EventID != p.EventID || rec.TotalAmount != ev.TotalAmount ||
			rec.Currency != ev.Currency || !rec.CommittedAt.Equal(ev.SoldAt) || len(recSeats) != 2 ||
			recSeats[0] != ev.Seats[0] || recSeats[1] != ev.Seats[1] || recSeats[0].Price+recSeats[1].Price != rec.TotalAmount ||
			recSeats[0].SectionID != p.Sections[sec].SectionID {
			t.Fatalf("sale %d: commit record %+v does not match seats.sold %+v", i, rec, ev)
		}
	}
	if lone.Load() != 24 {
		t.Fatalf("%d of 24 lone sales went through the batch path", lone.Load())
	}
	var ledger int
	if err := env.DB.NewRaw(`SELECT count(*) FROM seats WHERE event_id = ? AND status = 'SOLD'`, p.EventID).Scan(ctx, &ledger); err != nil {
		t.Fatal(err)
	}
	if ledger != 48 {
		t.Fatalf("ledger has %d SOLD seats, want 48", ledger)
	}
}
