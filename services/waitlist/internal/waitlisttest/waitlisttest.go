// Package waitlisttest gives the waitlist's integration tests a migrated database of their
// own and an httptest stand-in for inventory's seat map and hold endpoints. PostgreSQL is
// the real server; only inventory, another service, is stood in for.
package waitlisttest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"evently.dev/libs/assertion"
	"evently.dev/libs/consumer"
	"evently.dev/libs/outbox"
	"evently.dev/libs/testkit"

	"evently.dev/services/waitlist/migrations"
)

// Secret signs the assertions between the service under test and the stand-in.
const Secret = "waitlist-test-secret"

// DB opens a fresh, migrated database.
func DB(t testing.TB) *bun.DB {
	t.Helper()
	return testkit.MigratedDB(t, "waitlist", outbox.Migrations, consumer.Migrations, migrations.FS)
}

// Seat is one seat of the stand-in's event.
type Seat struct {
	ID, SectionID, Row string
	Number             int
	Status             string // AVAILABLE, HELD, SOLD
	HeldBy             string
	HoldID             string
}

// Inventory is the stand-in: one event's seats, holds that are all-or-nothing and refuse
// any seat not AVAILABLE, and a record of every hold request.
type Inventory struct {
	URL     string
	EventID uuid.UUID

	mu sync.Mutex
	// Seats in seat-map order.
	Seats []*Seat
	// Conflicts counts hold requests that named a seat someone already had.
	Conflicts int
	// Granted lists every granted hold's seats, by hold id.
	Granted map[string][]string
	// Owners maps a granted hold to its user.
	Owners map[string]string
	// Limit, when set, is the event's per-user seat limit: a hold that would give its user
	// more held seats is refused with 422 hold_limit_exceeded, as inventory does.
	Limit int
}

// NewInventory starts a stand-in whose event has sections (ids) × rows × perRow seats, all
// SOLD; section i's seats are named like "A-R1-S1" with the i-th letter.
func NewInventory(t testing.TB, sections []string, rows, perRow int) *Inventory {
	t.Helper()
	inv := &Inventory{EventID: uuid.Must(uuid.NewV7()), Granted: map[string][]string{}, Owners: map[string]string{}}
	for i, sec := range sections {
		for r := 1; r <= rows; r++ {
			for n := 1; n <= perRow; n++ {
				row := fmt.Sprint(r)
				inv.Seats = append(inv.Seats, &Seat{ID: fmt.Sprintf("%c-R%s-S%d", 'A'+i, row, n), SectionID: sec, Row: row, Number: n, Status: "SOLD"})
			}
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(inv.serve))
	t.Cleanup(srv.Close)
	inv.URL = srv.URL
	return inv
}

// Release makes the given seats AVAILABLE (a cancelled booking).
func (inv *Inventory) Release(ids ...string) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	for _, s := range inv.Seats {
		if want[s.ID] {
			s.Status, s.HeldBy, s.HoldID = "AVAILABLE", "", ""
		}
	}
}

// Snapshot returns a copy of the seats.
func (inv *Inventory) Snapshot() []Seat {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	out := make([]Seat, len(inv.Seats))
	for i, s := range inv.Seats {
		out[i] = *s
	}
	return out
}

func (inv *Inventory) serve(w http.ResponseWriter, r *http.Request) {
	id, ok, err := assertion.Verify(r.Header, Secret, time.Now())
	if err != nil || !ok {
		problem(w, 401, "unauthenticated", nil)
		return
	}
	inv.mu.Lock()
	defer inv.mu.Unlock()
	prefix := "/api/v1/events/" + inv.EventID.String()
	switch {
	case r.Method == "GET" && r.URL.Path == prefix+"/availability":
		counts := map[string]int{}
		total := 0
		var secs []map[string]any
		for _, s := range inv.Seats {
			if _, seen := counts[s.SectionID]; !seen {
				counts[s.SectionID] = 0
				secs = append(secs, map[string]any{"section_id": s.SectionID})
			}
			if s.Status == "AVAILABLE" {
				counts[s.SectionID]++
				total++
			}
		}
		for _, m := range secs {
			m["available"] = counts[m["section_id"].(string)]
		}
		writeJSON(w, 200, map[string]any{"event_id": inv.EventID, "status": "PUBLISHED", "on_sale": true, "available": total, "sections": secs})
	case r.Method == "GET" && r.URL.Path == prefix+"/venue/layout":
		seats := make([]map[string]any, len(inv.Seats))
		for i, s := range inv.Seats {
			seats[i] = map[string]any{"seat_id": s.ID, "section_id": s.SectionID, "row": s.Row, "number": s.Number, "status": s.Status, "price": 1500}
		}
		writeJSON(w, 200, map[string]any{"event_id": inv.EventID, "seats": seats})
	case r.Method == "GET" && strings.HasPrefix(r.URL.Path, "/api/v1/events/"):
		problem(w, 404, "event_not_found", nil)
	case r.Method == "POST" && r.URL.Path == "/internal/v1/holds":
		var req struct {
			EventID    string   `json:"event_id"`
			UserID     string   `json:"user_id"`
			SeatIDs    []string `json:"seat_ids"`
			TTLSeconds int      `json:"ttl_seconds"`
			Purpose    string   `json:"purpose"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Purpose != "WAITLIST_OFFER" || req.TTLSeconds < 1 || req.UserID == "" {
			problem(w, 400, "bad_request", nil)
			return
		}
		byID := map[string]*Seat{}
		for _, s := range inv.Seats {
			byID[s.ID] = s
		}
		var taken []string
		for _, sid := range req.SeatIDs {
			if s, ok := byID[sid]; !ok || s.Status != "AVAILABLE" {
				taken = append(taken, sid)
			}
		}
		if inv.Limit > 0 {
			held := 0
			for _, s := range inv.Seats {
				if s.HeldBy == req.UserID {
					held++
				}
			}
			if held+len(req.SeatIDs) > inv.Limit {
				problem(w, 422, "hold_limit_exceeded", nil)
				return
			}
		}
		if len(taken) > 0 {
			inv.Conflicts++
			problem(w, 409, "seats_unavailable", map[string]any{"conflicting_seat_ids": taken})
			return
		}
		hold := uuid.Must(uuid.NewV7()).String()
		var seats []map[string]any
		for _, sid := range req.SeatIDs {
			s := byID[sid]
			s.Status, s.HeldBy, s.HoldID = "HELD", req.UserID, hold
			seats = append(seats, map[string]any{"seat_id": sid, "section_id": s.SectionID, "label": "Seat " + sid, "price": 1500})
		}
		inv.Granted[hold] = append([]string(nil), req.SeatIDs...)
		inv.Owners[hold] = req.UserID
		writeJSON(w, 201, map[string]any{"hold_id": hold, "event_id": req.EventID, "user_id": req.UserID, "seats": seats,
			"total_amount": 1500 * len(seats), "currency": "EUR", "expires_at": time.Now().Add(time.Duration(req.TTLSeconds) * time.Second).UTC()})
	case r.Method == "DELETE" && strings.HasPrefix(r.URL.Path, "/api/v1/seats/hold/"):
		hold := strings.TrimPrefix(r.URL.Path, "/api/v1/seats/hold/")
		if inv.Owners[hold] != id.UserID {
			problem(w, 404, "hold_not_found", nil)
			return
		}
		for _, s := range inv.Seats {
			if s.HoldID == hold {
				s.Status, s.HeldBy, s.HoldID = "AVAILABLE", "", ""
			}
		}
		delete(inv.Owners, hold)
		w.WriteHeader(204)
	default:
		problem(w, 404, "not_found", nil)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func problem(w http.ResponseWriter, status int, code string, extra map[string]any) {
	m := map[string]any{"status": status, "code": code, "detail": code}
	for k, v := range extra {
		m[k] = v
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(m)
}
