// Package inventorytest is an in-memory stand-in for inventory's internal commit API, for
// the booking saga's tests (the real inventory is another module and cannot start
// in-process). It follows the contract faithfully: assertions are verified, a commit is
// idempotent by hold and booking id (answered from the recorded commit even after the
// hold is gone), a lapsed, unknown or foreign hold is 409 hold_expired, a hold committed
// for another booking is 409 hold_already_committed, and the seat ledger refuses a second
// sale of a seat with 409 seats_unavailable.
package inventorytest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"evently.dev/libs/assertion"
)

// Seat is a held seat as inventory answers it.
type Seat struct {
	SeatID    string `json:"seat_id"`
	SectionID string `json:"section_id"`
	Row       string `json:"row"`
	Number    int    `json:"number"`
	Label     string `json:"label"`
	Price     int64  `json:"price"`
}

// Hold is a live hold in the fake.
type Hold struct {
	ID        uuid.UUID
	EventID   uuid.UUID
	UserID    string
	Seats     []Seat
	Currency  string
	ExpiresAt time.Time
}

type commit struct {
	HoldID      string    `json:"hold_id"`
	BookingID   string    `json:"booking_id"`
	EventID     string    `json:"event_id"`
	UserID      string    `json:"user_id"`
	Seats       []Seat    `json:"seats"`
	TotalAmount int64     `json:"total_amount"`
	Currency    string    `json:"currency"`
	CommittedAt time.Time `json:"committed_at"`
	Replayed    bool      `json:"replayed"`
}

// Fake is the stand-in server.
type Fake struct {
	URL    string
	Secret string

	mu      sync.Mutex
	holds   map[uuid.UUID]Hold
	commits map[uuid.UUID]commit // by hold id
	sold    map[string]string    // event/seat → booking id
	// Calls counts commit requests received.
	Calls int
	// Down makes every request answer 503 (inventory unreachable).
	Down bool
	// DropAnswer commits and then answers 503, as if the answer was lost on the way back
	// (the booking service's crash or timeout right after inventory's commit).
	DropAnswer bool
	// OnSale, when set, runs after a new sale is recorded and before it is answered: what
	// happens meanwhile elsewhere (the seats.sold reconciler being quick, say).
	OnSale func(holdID, bookingID uuid.UUID)
}

// New starts a fake inventory for the test's life.
func New(t testing.TB, secret string) *Fake {
	f := &Fake{Secret: secret, holds: map[uuid.UUID]Hold{}, commits: map[uuid.UUID]commit{}, sold: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /internal/v1/holds/{hold_id}/commit", f.commit)
	srv := httptest.NewServer(f.verify(mux))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

// AddHold creates a live hold of userID for the given seats at price each.
func (f *Fake) AddHold(userID string, eventID uuid.UUID, ttl time.Duration, prices map[string]int64) Hold {
	h := Hold{ID: uuid.Must(uuid.NewV7()), EventID: eventID, UserID: userID, Currency: "EUR",
		ExpiresAt: time.Now().Add(ttl)}
	for id, p := range prices {
		h.Seats = append(h.Seats, Seat{SeatID: id, SectionID: "sec-" + id[:1], Row: "1", Number: 1, Label: "Seat " + id, Price: p})
	}
	f.mu.Lock()
	f.holds[h.ID] = h
	f.mu.Unlock()
	return h
}

// SetDown makes every request answer 503 (true) or serves normally again (false).
func (f *Fake) SetDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Down = down
}

// SetDropAnswer makes commits succeed but their answers get lost (true), or not.
func (f *Fake) SetDropAnswer(drop bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.DropAnswer = drop
}

// Expire makes a hold lapse now.
func (f *Fake) Expire(id uuid.UUID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	h := f.holds[id]
	h.ExpiresAt = time.Now().Add(-time.Second)
	f.holds[id] = h
}

// CommitCount is how many commits the ledger recorded.
func (f *Fake) CommitCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.commits)
}

// SoldTo reports which booking a seat was sold to ("" if none).
func (f *Fake) SoldTo(eventID uuid.UUID, seatID string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sold[eventID.String()+"/"+seatID]
}

func (f *Fake) verify(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok, err := assertion.Verify(r.Header, f.Secret, time.Now()); err != nil || !ok {
			problem(w, 401, "unauthenticated", "internal endpoints need a signed service assertion")
			return
		}
		f.mu.Lock()
		down := f.Down
		f.mu.Unlock()
		if down {
			problem(w, 503, "unavailable", "inventory is down")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (f *Fake) commit(w http.ResponseWriter, r *http.Request) {
	holdID, err := uuid.Parse(r.PathValue("hold_id"))
	if err != nil {
		problem(w, 400, "validation_failed", "hold_id: must be a UUID")
		return
	}
	var body struct {
		BookingID string `json:"booking_id"`
		UserID    string `json:"user_id"`
		EventID   string `json:"event_id"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.UserID == "" {
		problem(w, 400, "invalid_json", "bad body")
		return
	}
	bookingID, err := uuid.Parse(body.BookingID)
	if err != nil {
		problem(w, 400, "validation_failed", "booking_id: must be a UUID")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Calls++
	if h, ok := f.holds[holdID]; ok && body.EventID != "" && h.EventID.String() != body.EventID {
		problem(w, 422, "event_mismatch", "the hold belongs to another event")
		return
	}
	if c, ok := f.commits[holdID]; ok {
		// Like inventory: the same user's second booking attempt of a committed hold learns
		// the sale (and its booking id); anyone else is refused.
		if c.BookingID != bookingID.String() && c.UserID != body.UserID {
			problem(w, 409, "hold_already_committed", "the hold was already committed for another booking")
			return
		}
		c.Replayed = true
		f.answer(w, c)
		return
	}
	for _, c := range f.commits {
		if c.BookingID == bookingID.String() {
			problem(w, 409, "booking_already_committed", "the booking already committed another hold")
			return
		}
	}
	h, ok := f.holds[holdID]
	if !ok || h.UserID != body.UserID || !h.ExpiresAt.After(time.Now()) {
		problem(w, 409, "hold_expired", "the hold has expired or does not exist")
		return
	}
	for _, s := range h.Seats {
		if f.sold[h.EventID.String()+"/"+s.SeatID] != "" {
			problem(w, 409, "seats_unavailable", "the ledger refused the sale")
			return
		}
	}
	var total int64
	for _, s := range h.Seats {
		f.sold[h.EventID.String()+"/"+s.SeatID] = bookingID.String()
		total += s.Price
	}
	c := commit{HoldID: holdID.String(), BookingID: bookingID.String(), EventID: h.EventID.String(), UserID: h.UserID,
		Seats: h.Seats, TotalAmount: total, Currency: h.Currency, CommittedAt: time.Now().UTC()}
	f.commits[holdID] = c
	delete(f.holds, holdID)
	if f.OnSale != nil {
		f.OnSale(holdID, bookingID)
	}
	f.answer(w, c)
}

func (f *Fake) answer(w http.ResponseWriter, c commit) {
	if f.DropAnswer {
		problem(w, 503, "unavailable", "answer lost")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(c)
}

func problem(w http.ResponseWriter, status int, code, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "https://evently.dev/problems/" + code, "status": status,
		"code": code, "detail": detail})
}
