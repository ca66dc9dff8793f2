package inventory_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"

	"evently.dev/libs/assertion"
	"evently.dev/libs/logging"

	"evently.dev/services/booking/internal/inventory"
)

// BenchmarkCommit measures the client's cost per commit (the booking hot path) against a
// loopback server that verifies the assertion and answers a fixed two-seat commit.
func BenchmarkCommit(b *testing.B) {
	const secret = "bench-secret"
	holdID, bookingID, eventID := uuid.New(), uuid.New(), uuid.New()
	answer := []byte(`{"hold_id":"` + holdID.String() + `","booking_id":"` + bookingID.String() + `","event_id":"` +
		eventID.String() + `","user_id":"u1","seats":[{"seat_id":"A-1","section_id":"A","row":"1","number":1,"label":"Row 1, Seat 1","price":1500},` +
		`{"seat_id":"A-2","section_id":"A","row":"1","number":2,"label":"Row 1, Seat 2","price":1500}],"total_amount":3000,"currency":"EUR","committed_at":"2026-12-07T02:00:00Z","replayed":false}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok, err := assertion.Verify(r.Header, secret, time.Now()); err != nil || !ok {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(answer)
	}))
	defer srv.Close()
	c := inventory.New(inventory.Options{BaseURL: srv.URL, Secret: secret, Timeout: 5 * time.Second, Retries: 2, RetryBackoff: 100 * time.Millisecond})
	ctx := assertion.WithIdentity(logging.WithRequestID(context.Background(), "bench-request"),
		assertion.Identity{UserID: "u1", Role: assertion.RoleUser})
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Commit(ctx, holdID, bookingID, "u1", eventID); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
