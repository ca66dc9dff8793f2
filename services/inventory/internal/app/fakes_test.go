package app_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"evently.dev/services/inventory/internal/app"
	"evently.dev/services/inventory/internal/config"
	"evently.dev/services/inventory/internal/domain"
)

// fakeLedger is an in-memory ledger of one event's seats and commits: enough of
// domain.Ledger for the commit and return paths, whose decisions (refusals, replays,
// twins) are the app's and need no PostgreSQL to be checked. A method the tests do not
// use panics through the nil embedded interface.
type fakeLedger struct {
	domain.Ledger

	mu sync.Mutex
	// seats maps seat id → booking id (uuid.Nil: available).
	seats   map[string]uuid.UUID
	commits []domain.Commit
	// published are the messages of committed transactions.
	published []domain.Message
	// clashOnInsert makes every commit insert clash, as when a twin recorded it first.
	clashOnInsert bool
	// txs counts transactions.
	txs int
}

func newFakeLedger(seatIDs ...string) *fakeLedger {
	l := &fakeLedger{seats: map[string]uuid.UUID{}}
	for _, id := range seatIDs {
		l.seats[id] = uuid.Nil
	}
	return l
}

// InTx runs fn under the lock and undoes its writes when it fails, like a rollback.
func (l *fakeLedger) InTx(ctx context.Context, fn func(ctx context.Context, l domain.Ledger) error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.txs++
	seats := make(map[string]uuid.UUID, len(l.seats))
	for k, v := range l.seats {
		seats[k] = v
	}
	nc, np := len(l.commits), len(l.published)
	if err := fn(ctx, l); err != nil {
		l.seats, l.commits, l.published = seats, l.commits[:nc], l.published[:np]
		return err
	}
	return nil
}

func (l *fakeLedger) sell(bookingID uuid.UUID, ids []string) int {
	n := 0
	for _, id := range ids {
		if b, ok := l.seats[id]; ok && b == uuid.Nil {
			l.seats[id] = bookingID
			n++
		}
	}
	return n
}

func (l *fakeLedger) SellSeats(_ context.Context, _, bookingID uuid.UUID, ids []string) (int, error) {
	return l.sell(bookingID, ids), nil
}

func (l *fakeLedger) SellBatch(_ context.Context, cs []domain.Commit) (int, map[uuid.UUID][]domain.SectionCount, error) {
	n := 0
	for _, c := range cs {
		for _, st := range c.Seats {
			n += l.sell(c.BookingID, []string{st.SeatID})
		}
	}
	if err := l.insertAll(cs); err != nil {
		return 0, nil, err
	}
	out := map[uuid.UUID][]domain.SectionCount{}
	for _, c := range cs {
		out[c.EventID] = l.counts()
	}
	return n, out, nil
}

func (l *fakeLedger) UnsellableSeats(_ context.Context, _, bookingID uuid.UUID, ids []string) ([]string, error) {
	var out []string
	for _, id := range ids {
		if b, ok := l.seats[id]; !ok || (b != uuid.Nil && b != bookingID) {
			out = append(out, id)
		}
	}
	return out, nil
}

func (l *fakeLedger) insert(c domain.Commit) error {
	if l.clashOnInsert {
		return domain.ErrCommitClash
	}
	l.commits = append(l.commits, c)
	return nil
}

func (l *fakeLedger) InsertCommit(_ context.Context, c domain.Commit) error { return l.insert(c) }

func (l *fakeLedger) insertAll(cs []domain.Commit) error {
	for _, c := range cs {
		if err := l.insert(c); err != nil {
			return err
		}
	}
	return nil
}

// FindCommit is called inside InTx (the lock is held) and outside it.
func (l *fakeLedger) FindCommit(_ context.Context, holdID, bookingID uuid.UUID) (domain.Commit, bool, error) {
	for _, c := range l.commits {
		if c.HoldID == holdID || c.BookingID == bookingID {
			return c, true, nil
		}
	}
	return domain.Commit{}, false, nil
}

func (l *fakeLedger) counts() []domain.SectionCount {
	sold := 0
	for _, b := range l.seats {
		if b != uuid.Nil {
			sold++
		}
	}
	return []domain.SectionCount{{SectionID: "A", Capacity: len(l.seats), Sold: sold}}
}

func (l *fakeLedger) AdjustSold(context.Context, uuid.UUID, uuid.UUID, map[string]int) ([]domain.SectionCount, error) {
	return l.counts(), nil
}

func (l *fakeLedger) Publish(_ context.Context, msgs ...domain.Message) error {
	l.published = append(l.published, msgs...)
	return nil
}

// fakeHolds keeps holds in a map, as Redis would for the calls the tests make.
type fakeHolds struct {
	domain.Holds

	mu    sync.Mutex
	holds map[uuid.UUID]domain.Hold
	// cleaned lists the holds CommitCleanup dropped.
	cleaned []uuid.UUID
	// extendErr and extendTo are Extend's answer.
	extendErr error
	extendTo  time.Time
}

func newFakeHolds(hs ...domain.Hold) *fakeHolds {
	f := &fakeHolds{holds: map[uuid.UUID]domain.Hold{}}
	for _, h := range hs {
		f.holds[h.ID] = h
	}
	return f
}

func (f *fakeHolds) Find(_ context.Context, userID string, holdID uuid.UUID) (domain.Hold, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	h, ok := f.holds[holdID]
	if !ok || h.UserID != userID {
		return domain.Hold{}, false, nil
	}
	return h, true, nil
}

func (f *fakeHolds) CommitCleanup(_ context.Context, _, holdID uuid.UUID, _ string, _ []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.holds, holdID)
	f.cleaned = append(f.cleaned, holdID)
	return nil
}

func (f *fakeHolds) Extend(context.Context, string, uuid.UUID, uuid.UUID, time.Duration, time.Duration) (time.Time, error) {
	return f.extendTo, f.extendErr
}

// newService builds the use cases over fakes, with the clock at now.
func newService(t *testing.T, l domain.Ledger, h domain.Holds, now time.Time) *app.Service {
	t.Helper()
	cfg := app.Settings{Hold: config.Hold{TTL: 10 * time.Minute, MaxLifetime: 30 * time.Minute, MaxSeats: 10},
		Commit: config.Commit{MaxBatch: 16, Workers: 1}, EventCacheTTL: time.Second, LayoutCacheEvents: 4}
	s := app.New(l, h, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	s.Now = func() time.Time { return now }
	t.Cleanup(s.Close)
	return s
}

// hold builds a live hold of user on seats of section A.
func hold(user string, eventID uuid.UUID, now time.Time, seatIDs ...string) domain.Hold {
	h := domain.Hold{ID: uuid.Must(uuid.NewV7()), EventID: eventID, UserID: user, Purpose: domain.PurposeUser,
		Currency: "EUR", CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute)}
	for _, id := range seatIDs {
		h.Seats = append(h.Seats, domain.HeldSeat{SeatID: id, SectionID: "A", Price: 1000})
		h.TotalAmount += 1000
	}
	return h
}
