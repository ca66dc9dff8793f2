package bench

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/uuid"

	"evently.dev/services/inventory/internal/domain"
	"evently.dev/services/inventory/internal/inventorytest"
)

// BenchmarkCommitHold sells 2-seat holds through the use case from 32 concurrent callers,
// as booking's confirmations arrive during a rush (large batches), and from 1 and 4, as
// they arrive at a steady rate (a sale alone or in small batches, where each sale's
// latency is its own round trips): the group commit, its ledger statement and outbox
// rows, and the Redis cleanup. The holds are placed before the timer starts; allocations
// are reported per sale, so a change of the commit path shows up here.
func BenchmarkCommitHold(b *testing.B) {
	for _, clients := range []int{1, 4, 32} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) { benchCommitHold(b, clients) })
	}
}

func benchCommitHold(b *testing.B, clients int) {
	env := inventorytest.New(b)
	b.Cleanup(env.App.Close)
	p := env.Publish(b, stadium, 0)
	eventID := uuid.MustParse(p.EventID)
	ctx := context.Background()
	type placed struct {
		hold domain.Hold
		user string
	}
	limit := stadium.Sections * stadium.Rows * (stadium.SeatsPerRow / 2)
	if b.N > limit {
		b.Fatalf("at most %d operations per event (use -benchtime %dx)", limit, limit)
	}
	hs := make([]placed, 0, b.N)
	for s := range stadium.Sections {
		for r := range stadium.Rows {
			for n := 1; n+1 <= stadium.SeatsPerRow && len(hs) < b.N; n += 2 {
				user := fmt.Sprintf("buyer-%d", len(hs))
				h, err := env.App.HoldSeats(ctx, user, domain.HoldSpec{EventID: eventID, SeatIDs: inventorytest.SeatIDs(p, s, r, n, 2)})
				if err != nil {
					b.Fatal(err)
				}
				hs = append(hs, placed{hold: h, user: user})
			}
		}
	}
	b.ReportAllocs()
	run(b, clients, "sales", func(i int) error {
		_, _, err := env.App.CommitHold(ctx, hs[i].hold.ID, uuid.Must(uuid.NewV7()), hs[i].user, eventID)
		return err
	})
}
