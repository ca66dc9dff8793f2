// Package inventoryapitest is an in-memory stand-in for inventory's internal API, for the
// tests of its callers (booking, the waitlist): the real inventory is another module and
// cannot start in-process. It follows the contract: assertions are verified; holds are
// all-or-nothing and refuse seats not AVAILABLE (409 seats_unavailable) or unknown (404
// seat_not_found); a commit is idempotent by hold for its user (answered from the recorded
// sale even after the hold is gone), a lapsed, unknown or foreign hold is 409 hold_expired,
// a hold committed for another booking is 409 hold_already_committed, a booking that
// committed another hold is 409 booking_already_committed, and the seat ledger refuses a
// second sale of a seat with 409 seats_unavailable.
package inventoryapitest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"evently.dev/libs/assertion"
	"evently.dev/libs/contracts/inventoryapi"
)

// Seat states of an event's seat map.
const (
	Available = "AVAILABLE"
	Held      = "HELD"
	Sold      = "SOLD"
)

// Seat is one seat of an event added with AddEvent.
type Seat struct {
	ID, SectionID, Row string
	Number             int
	Price              int64
	Status             string
	// HeldBy and HoldID name the hold that has the seat while it is HELD.
	HeldBy, HoldID string
}

// Hold is a live hold in the fake.
type Hold struct {
	ID        uuid.UUID
	EventID   uuid.UUID
	UserID    string
	Purpose   string
	Seats     []inventoryapi.HeldSeat
	Currency  string
	CreatedAt time.Time
	ExpiresAt time.Time
}

func (h Hold) total() int64 {
	var t int64
	for _, s := range h.Seats {
		t += s.Price
	}
	return t
}

// Fake is the stand-in server.
type Fake struct {
	URL    string
	Secret string

	mu      sync.Mutex
	events  map[uuid.UUID][]*Seat // seat maps in order
	holds   map[uuid.UUID]Hold
	granted map[uuid.UUID]Hold                // every hold ever placed, by id
	commits map[uuid.UUID]inventoryapi.Commit // by hold id
	sold    map[string]string                 // event/seat → booking id
	calls   int
	// conflicts counts hold requests that named a seat someone already had.
	conflicts  int
	limit      int
	down       bool
	dropAnswer bool
	onSale     func(holdID, bookingID uuid.UUID)
}

// New starts a fake inventory for the test's life, verifying assertions signed with secret.
func New(t testing.TB, secret string) *Fake {
	t.Helper()
	f := &Fake{Secret: secret, events: map[uuid.UUID][]*Seat{}, holds: map[uuid.UUID]Hold{},
		granted: map[uuid.UUID]Hold{}, commits: map[uuid.UUID]inventoryapi.Commit{}, sold: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+inventoryapi.PathHolds, f.placeHold)
	mux.HandleFunc("GET "+inventoryapi.PathHolds+"/{hold_id}", f.getHold)
	mux.HandleFunc("POST "+inventoryapi.PathHolds+"/{hold_id}/commit", f.commit)
	mux.HandleFunc("POST "+inventoryapi.PathHolds+"/{hold_id}/release", f.releaseHold)
	mux.HandleFunc("POST "+inventoryapi.PathPrefix+"/bookings/{booking_id}/release", f.releaseBooking)
	mux.HandleFunc("GET "+inventoryapi.PathPrefix+"/events/{event_id}/availability", f.availability)
	mux.HandleFunc("GET "+inventoryapi.PathPrefix+"/events/{event_id}/seats/available", f.availableSeats)
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { problem(w, 404, "not_found", "no such route", nil) })
	srv := httptest.NewServer(f.verify(mux))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

// AddEvent adds an event whose sections (ids) have rows × perRow seats each, all in state
// status, priced 1500. Section i's seats are named like "A-R1-S1" with the i-th letter.
func (f *Fake) AddEvent(sections []string, rows, perRow int, status string) uuid.UUID {
	id := uuid.Must(uuid.NewV7())
	var seats []*Seat
	for i, sec := range sections {
		for r := 1; r <= rows; r++ {
			for n := 1; n <= perRow; n++ {
				row := fmt.Sprint(r)
				seats = append(seats, &Seat{ID: fmt.Sprintf("%c-R%s-S%d", 'A'+i, row, n), SectionID: sec, Row: row,
					Number: n, Price: 1500, Status: status})
			}
		}
	}
	f.mu.Lock()
	f.events[id] = seats
	f.mu.Unlock()
	return id
}

// Free makes the event's given seats AVAILABLE (a cancelled booking elsewhere).
func (f *Fake) Free(eventID uuid.UUID, ids ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	for _, s := range f.events[eventID] {
		if want[s.ID] {
			s.Status, s.HeldBy, s.HoldID = Available, "", ""
		}
	}
}

// Seats returns a copy of an event's seat map.
func (f *Fake) Seats(eventID uuid.UUID) []Seat {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Seat, len(f.events[eventID]))
	for i, s := range f.events[eventID] {
		out[i] = *s
	}
	return out
}

// AddHold creates a live hold of userID for seats priced as given, outside any seat map.
func (f *Fake) AddHold(userID string, eventID uuid.UUID, ttl time.Duration, prices map[string]int64) Hold {
	now := time.Now()
	h := Hold{ID: uuid.Must(uuid.NewV7()), EventID: eventID, UserID: userID, Purpose: inventoryapi.PurposeUser,
		Currency: "EUR", CreatedAt: now, ExpiresAt: now.Add(ttl)}
	for id, p := range prices {
		h.Seats = append(h.Seats, inventoryapi.HeldSeat{SeatID: id, SectionID: "sec-" + id[:1], Row: "1", Number: 1,
			Label: "Seat " + id, Price: p})
	}
	f.mu.Lock()
	f.holds[h.ID] = h
	f.granted[h.ID] = h
	f.mu.Unlock()
	return h
}

// Expire makes a hold lapse now.
func (f *Fake) Expire(id uuid.UUID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if h, ok := f.holds[id]; ok {
		h.ExpiresAt = time.Now().Add(-time.Second)
		f.holds[id] = h
	}
}

// SetDown makes every request answer 503 (true) or serves normally again (false).
func (f *Fake) SetDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
}

// SetDropAnswer makes commits succeed but answer 503, as if the answer was lost on the
// way back (the caller's crash or timeout right after inventory's commit), or not.
func (f *Fake) SetDropAnswer(drop bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dropAnswer = drop
}

// SetLimit refuses (422 hold_limit_exceeded) a hold request that would give its user more
// than n held seats; 0 sets no limit.
func (f *Fake) SetLimit(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.limit = n
}

// OnSale, when set, runs after a new sale is recorded and before it is answered: what
// happens meanwhile elsewhere (the seats.sold reconciler being quick, say). It runs with
// the fake's lock held, so it must not call the fake.
func (f *Fake) OnSale(fn func(holdID, bookingID uuid.UUID)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.onSale = fn
}

// CommitCount is how many sales the ledger recorded.
func (f *Fake) CommitCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.commits)
}

// CommitCalls is how many commit requests arrived (retries and replays included).
func (f *Fake) CommitCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// SoldTo reports which booking a seat was sold to ("" if none).
func (f *Fake) SoldTo(eventID uuid.UUID, seatID string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sold[eventID.String()+"/"+seatID]
}

// Conflicts counts hold requests refused because a seat was already held or sold.
func (f *Fake) Conflicts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.conflicts
}

// Granted returns every hold the fake ever placed or was given, by id.
func (f *Fake) Granted() map[uuid.UUID]Hold {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[uuid.UUID]Hold, len(f.granted))
	for id, h := range f.granted {
		out[id] = h
	}
	return out
}

func (f *Fake) verify(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok, err := assertion.Verify(r.Header, f.Secret, time.Now()); err != nil || !ok {
			problem(w, 401, "unauthenticated", "internal endpoints need a signed service assertion", nil)
			return
		}
		f.mu.Lock()
		down := f.down
		f.mu.Unlock()
		if down {
			problem(w, 503, "unavailable", "inventory is down", nil)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (f *Fake) placeHold(w http.ResponseWriter, r *http.Request) {
	var req inventoryapi.PlaceHoldRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		problem(w, 400, "invalid_json", "bad body", nil)
		return
	}
	eventID, err := uuid.Parse(req.EventID)
	if err != nil || req.UserID == "" || len(req.SeatIDs) == 0 || req.TTLSeconds < 0 ||
		(req.Purpose != "" && req.Purpose != inventoryapi.PurposeWaitlistOffer && req.Purpose != inventoryapi.PurposeUser) {
		problem(w, 422, "validation_failed", "event_id, user_id, seat_ids, ttl_seconds or purpose is invalid", nil)
		return
	}
	if req.Purpose == "" {
		req.Purpose = inventoryapi.PurposeWaitlistOffer
	}
	ttl := 10 * time.Minute
	if req.TTLSeconds > 0 {
		ttl = time.Duration(req.TTLSeconds) * time.Second
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	seats, ok := f.events[eventID]
	if !ok {
		problem(w, 404, inventoryapi.CodeEventNotFound, "the event does not exist", nil)
		return
	}
	byID := make(map[string]*Seat, len(seats))
	for _, s := range seats {
		byID[s.ID] = s
	}
	var unknown, taken []string
	for _, id := range req.SeatIDs {
		s, ok := byID[id]
		switch {
		case !ok:
			unknown = append(unknown, id)
		case s.Status != Available:
			taken = append(taken, id)
		}
	}
	if len(unknown) > 0 {
		problem(w, 404, inventoryapi.CodeSeatNotFound, "unknown seats", inventoryapi.SeatsProblem{UnknownSeatIDs: unknown})
		return
	}
	if f.limit > 0 {
		held := 0
		for _, s := range seats {
			if s.Status == Held && s.HeldBy == req.UserID {
				held++
			}
		}
		if held+len(req.SeatIDs) > f.limit {
			problem(w, 422, inventoryapi.CodeHoldLimitExceeded, "over the per-user seat limit", nil)
			return
		}
	}
	if len(taken) > 0 {
		f.conflicts++
		problem(w, 409, inventoryapi.CodeSeatsUnavailable, "some seats are held or sold", inventoryapi.SeatsProblem{ConflictingSeatIDs: taken})
		return
	}
	now := time.Now().UTC()
	h := Hold{ID: uuid.Must(uuid.NewV7()), EventID: eventID, UserID: req.UserID, Purpose: req.Purpose, Currency: "EUR",
		CreatedAt: now, ExpiresAt: now.Add(ttl)}
	for _, id := range req.SeatIDs {
		s := byID[id]
		s.Status, s.HeldBy, s.HoldID = Held, req.UserID, h.ID.String()
		h.Seats = append(h.Seats, inventoryapi.HeldSeat{SeatID: s.ID, SectionID: s.SectionID, Row: s.Row, Number: s.Number,
			Label: "Seat " + s.ID, Price: s.Price})
	}
	f.holds[h.ID] = h
	f.granted[h.ID] = h
	writeJSON(w, 201, toAPI(h, now))
}

func toAPI(h Hold, now time.Time) inventoryapi.Hold {
	ttl := int((h.ExpiresAt.Sub(now) + time.Second - 1) / time.Second)
	return inventoryapi.Hold{HoldID: h.ID, EventID: h.EventID, UserID: h.UserID, Purpose: h.Purpose, Seats: h.Seats,
		TotalAmount: h.total(), Currency: h.Currency, CreatedAt: h.CreatedAt, ExpiresAt: h.ExpiresAt, TTLSeconds: max(ttl, 0)}
}

// liveHold returns userID's live hold by the request's hold_id, or answers 404.
func (f *Fake) liveHold(w http.ResponseWriter, r *http.Request, userID string) (Hold, bool) {
	id, err := uuid.Parse(r.PathValue("hold_id"))
	if err != nil {
		problem(w, 400, "validation_failed", "hold_id: must be a UUID", nil)
		return Hold{}, false
	}
	h, ok := f.holds[id]
	if !ok || h.UserID != userID || !h.ExpiresAt.After(time.Now()) {
		problem(w, 404, inventoryapi.CodeHoldNotFound, "no live hold of this user has this id", nil)
		return Hold{}, false
	}
	return h, true
}

func (f *Fake) getHold(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if h, ok := f.liveHold(w, r, r.URL.Query().Get("user_id")); ok {
		writeJSON(w, 200, toAPI(h, time.Now()))
	}
}

func (f *Fake) releaseHold(w http.ResponseWriter, r *http.Request) {
	var req inventoryapi.ReleaseHoldRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.UserID == "" {
		problem(w, 400, "invalid_json", "bad body", nil)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	h, ok := f.liveHold(w, r, req.UserID)
	if !ok {
		return
	}
	f.setSeats(h, Available)
	delete(f.holds, h.ID)
	w.WriteHeader(http.StatusNoContent)
}

// setSeats moves a hold's seats in its event's seat map, if it has one.
func (f *Fake) setSeats(h Hold, status string) {
	for _, s := range f.events[h.EventID] {
		for _, hs := range h.Seats {
			if s.ID == hs.SeatID {
				s.Status, s.HeldBy, s.HoldID = status, "", ""
			}
		}
	}
}

func (f *Fake) commit(w http.ResponseWriter, r *http.Request) {
	holdID, err := uuid.Parse(r.PathValue("hold_id"))
	if err != nil {
		problem(w, 400, "validation_failed", "hold_id: must be a UUID", nil)
		return
	}
	var body inventoryapi.CommitRequest
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.UserID == "" {
		problem(w, 400, "invalid_json", "bad body", nil)
		return
	}
	bookingID, err := uuid.Parse(body.BookingID)
	if err != nil {
		problem(w, 400, "validation_failed", "booking_id: must be a UUID", nil)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if h, ok := f.holds[holdID]; ok && body.EventID != "" && h.EventID.String() != body.EventID {
		problem(w, 422, inventoryapi.CodeEventMismatch, "the hold belongs to another event", nil)
		return
	}
	if c, ok := f.commits[holdID]; ok {
		// Like inventory: the same user's second booking attempt of a committed hold learns
		// the sale (and its booking id); anyone else is refused.
		if c.BookingID != bookingID && c.UserID != body.UserID {
			problem(w, 409, inventoryapi.CodeHoldAlreadyCommitted, "the hold was already committed for another booking", nil)
			return
		}
		c.Replayed = true
		f.answer(w, c)
		return
	}
	for _, c := range f.commits {
		if c.BookingID == bookingID {
			problem(w, 409, inventoryapi.CodeBookingAlreadyCommitted, "the booking already committed another hold", nil)
			return
		}
	}
	h, ok := f.holds[holdID]
	if !ok || h.UserID != body.UserID || !h.ExpiresAt.After(time.Now()) {
		problem(w, 409, inventoryapi.CodeHoldExpired, "the hold has expired or does not exist", nil)
		return
	}
	var taken []string
	for _, s := range h.Seats {
		if f.sold[h.EventID.String()+"/"+s.SeatID] != "" {
			taken = append(taken, s.SeatID)
		}
	}
	if len(taken) > 0 {
		problem(w, 409, inventoryapi.CodeSeatsUnavailable, "the ledger refused the sale", inventoryapi.SeatsProblem{ConflictingSeatIDs: taken})
		return
	}
	for _, s := range h.Seats {
		f.sold[h.EventID.String()+"/"+s.SeatID] = bookingID.String()
	}
	f.setSeats(h, Sold)
	c := inventoryapi.Commit{HoldID: holdID, BookingID: bookingID, EventID: h.EventID, UserID: h.UserID,
		Seats: h.Seats, TotalAmount: h.total(), Currency: h.Currency, CommittedAt: time.Now().UTC()}
	f.commits[holdID] = c
	delete(f.holds, holdID)
	if f.onSale != nil {
		f.onSale(holdID, bookingID)
	}
	f.answer(w, c)
}

func (f *Fake) answer(w http.ResponseWriter, c inventoryapi.Commit) {
	if f.dropAnswer {
		problem(w, 503, "unavailable", "answer lost", nil)
		return
	}
	writeJSON(w, 200, c)
}

func (f *Fake) releaseBooking(w http.ResponseWriter, r *http.Request) {
	bookingID, err := uuid.Parse(r.PathValue("booking_id"))
	if err != nil {
		problem(w, 400, "validation_failed", "booking_id: must be a UUID", nil)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := inventoryapi.BookingRelease{BookingID: bookingID, SeatIDs: []string{}}
	for _, c := range f.commits {
		if c.BookingID != bookingID {
			continue
		}
		for _, s := range c.Seats {
			key := c.EventID.String() + "/" + s.SeatID
			if f.sold[key] == bookingID.String() {
				delete(f.sold, key)
				out.SeatIDs = append(out.SeatIDs, s.SeatID)
			}
		}
		if len(out.SeatIDs) > 0 {
			out.EventID, out.Released = c.EventID, true
			f.setSeats(Hold{EventID: c.EventID, Seats: c.Seats}, Available)
		}
	}
	writeJSON(w, 200, out)
}

// event returns the request's event's seats, or answers 404.
func (f *Fake) event(w http.ResponseWriter, r *http.Request) (uuid.UUID, []*Seat, bool) {
	id, err := uuid.Parse(r.PathValue("event_id"))
	if err != nil {
		problem(w, 400, "validation_failed", "id: must be a UUID", nil)
		return uuid.Nil, nil, false
	}
	seats, ok := f.events[id]
	if !ok {
		problem(w, 404, inventoryapi.CodeEventNotFound, "the event does not exist or is not published", nil)
	}
	return id, seats, ok
}

func (f *Fake) availability(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id, seats, ok := f.event(w, r)
	if !ok {
		return
	}
	a := inventoryapi.Availability{EventID: id, Status: "PUBLISHED", Currency: "EUR", OnSale: true}
	idx := map[string]int{}
	for _, s := range seats {
		i, seen := idx[s.SectionID]
		if !seen {
			i = len(a.Sections)
			idx[s.SectionID] = i
			a.Sections = append(a.Sections, inventoryapi.SectionCount{SectionID: s.SectionID, Name: s.SectionID, Price: s.Price})
		}
		sc := &a.Sections[i]
		sc.Capacity++
		a.Capacity++
		switch s.Status {
		case Available:
			sc.Available++
			a.Available++
		case Held:
			sc.Held++
			a.Held++
		default:
			sc.Sold++
			a.Sold++
		}
	}
	writeJSON(w, 200, a)
}

func (f *Fake) availableSeats(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id, seats, ok := f.event(w, r)
	if !ok {
		return
	}
	out := inventoryapi.AvailableSeats{EventID: id, Seats: []inventoryapi.Seat{}}
	for _, s := range seats {
		if s.Status == Available {
			out.Seats = append(out.Seats, inventoryapi.Seat{SeatID: s.ID, SectionID: s.SectionID, Row: s.Row,
				Number: s.Number, Label: "Seat " + s.ID, Price: s.Price})
		}
	}
	writeJSON(w, 200, out)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// problem answers an RFC 9457 body; extra, when not nil, adds its members.
func problem(w http.ResponseWriter, status int, code, detail string, extra any) {
	m := map[string]any{}
	if extra != nil {
		b, _ := json.Marshal(extra)
		_ = json.Unmarshal(b, &m)
	}
	m["type"], m["title"], m["status"], m["code"], m["detail"] = "https://evently.dev/problems/"+code, http.StatusText(status), status, code, detail
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(m)
}
