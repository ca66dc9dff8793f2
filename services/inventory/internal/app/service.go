// Package app holds the inventory's use cases: placing, extending and releasing holds,
// committing them into the ledger for booking, returning cancelled bookings' seats, building
// the ledger from catalog's events, sweeping lapsed holds and answering seat maps.
package app

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"evently.dev/libs/contracts"
	"evently.dev/libs/groupcommit"

	"evently.dev/services/inventory/internal/config"
	"evently.dev/services/inventory/internal/domain"
)

// Settings are the knobs of the use cases, picked from the service's configuration.
type Settings struct {
	Hold   config.Hold
	Commit config.Commit
	// EventCacheTTL bounds how stale an event's sale data may be in this replica.
	EventCacheTTL time.Duration
	// LayoutCacheEvents is how many expanded layouts this replica keeps.
	LayoutCacheEvents int
	// AvailabilityCacheTTL is how long seat states read from Redis answer (0: never).
	AvailabilityCacheTTL time.Duration
}

// SettingsOf picks the use cases' settings from the service's configuration.
func SettingsOf(c config.Config) Settings {
	return Settings{Hold: c.Hold, Commit: c.Commit, EventCacheTTL: c.EventCacheTTL,
		LayoutCacheEvents: c.LayoutCacheEvents, AvailabilityCacheTTL: c.AvailabilityCacheTTL}
}

// Service wires the use cases to the ledger (PostgreSQL) and the holds (Redis), both
// behind the domain's interfaces.
type Service struct {
	Ledger domain.Ledger
	Holds  domain.Holds
	Cfg    Settings
	Log    *slog.Logger
	// Now is the clock (tests move it).
	Now func() time.Time
	// OnCommitBatch, when set before the first commit, sees each ledger transaction of
	// sales: how many it carried and whether it fell back to one transaction per sale.
	OnCommitBatch func(size int, fellBack bool)

	mu      sync.Mutex
	events  map[uuid.UUID]cachedEvent
	layouts map[uuid.UUID]*Layout
	views   map[uuid.UUID]*view
	// Striped locks make concurrent loads of one event's layout, or rebuilds of one event's
	// sold set, happen once without a map of locks that grows forever.
	layoutLocks [64]sync.Mutex
	soldLocks   [64]sync.Mutex
	// announcements is the queue of hold.created/released rows while RunAnnouncer runs.
	announcements atomic.Pointer[chan queued]
	// commits coalesces concurrent sales into shared transactions (see CommitHold).
	commits *groupcommit.Committer[sale, saleResult]
	metrics commitMetrics
}

type cachedEvent struct {
	ev  domain.Event
	at  time.Time
	err error
}

// New builds the service.
func New(ledger domain.Ledger, hs domain.Holds, cfg Settings, log *slog.Logger) *Service {
	s := &Service{Ledger: ledger, Holds: hs, Cfg: cfg, Log: log, Now: time.Now,
		events: map[uuid.UUID]cachedEvent{}, layouts: map[uuid.UUID]*Layout{}, views: map[uuid.UUID]*view{}, metrics: newCommitMetrics()}
	s.commits = s.newCommitter()
	return s
}

// Event returns the event's sale data (status, prices, limit), cached for EVENT_CACHE_TTL.
func (s *Service) Event(ctx context.Context, id uuid.UUID) (domain.Event, error) {
	s.mu.Lock()
	c, ok := s.events[id]
	s.mu.Unlock()
	if ok && s.Now().Sub(c.at) < s.Cfg.EventCacheTTL {
		return c.ev, c.err
	}
	rec, err := s.Ledger.Event(ctx, id, false)
	if err != nil && !errors.Is(err, domain.ErrEventNotFound) {
		return domain.Event{}, err
	}
	s.mu.Lock()
	if len(s.events) > 10_000 {
		clear(s.events)
	}
	s.events[id] = cachedEvent{ev: rec.Event, at: s.Now(), err: err}
	s.mu.Unlock()
	return rec.Event, err
}

// forget drops cached sale data after this replica changed it.
func (s *Service) forget(id uuid.UUID) {
	s.mu.Lock()
	delete(s.events, id)
	s.mu.Unlock()
}

// Layout is an event's expanded seat layout: immutable once published, so cached for good.
type Layout struct {
	EventID  uuid.UUID
	Sections []domain.SectionLayout
	Seats    []domain.Seat
	index    map[string]int32
	// runs lists, per section, its row runs front first, each as seat indexes.
	runs map[string][][]int32
}

// Seat returns the seat with id.
func (l *Layout) Seat(id string) (domain.Seat, bool) {
	i, ok := l.index[id]
	if !ok {
		return domain.Seat{}, false
	}
	return l.Seats[i], true
}

// newLayout indexes expanded seats.
func newLayout(eventID uuid.UUID, sections []domain.SectionLayout, seats []domain.Seat) *Layout {
	l := &Layout{EventID: eventID, Sections: sections, Seats: seats,
		index: make(map[string]int32, len(seats)), runs: map[string][][]int32{}}
	for i, st := range seats {
		l.index[st.ID] = int32(i)
		runs := l.runs[st.SectionID]
		for len(runs) <= st.Run {
			runs = append(runs, nil)
		}
		runs[st.Run] = append(runs[st.Run], int32(i))
		l.runs[st.SectionID] = runs
	}
	return l
}

// Layout returns the event's expanded layout, loading it once per replica.
func (s *Service) Layout(ctx context.Context, id uuid.UUID) (*Layout, error) {
	s.mu.Lock()
	if l, ok := s.layouts[id]; ok {
		s.mu.Unlock()
		return l, nil
	}
	s.mu.Unlock()
	lock := &s.layoutLocks[id[15]%64]
	lock.Lock()
	defer lock.Unlock()
	s.mu.Lock()
	l, ok := s.layouts[id]
	s.mu.Unlock()
	if ok {
		return l, nil
	}
	rec, err := s.Ledger.Event(ctx, id, true)
	if err != nil {
		return nil, err
	}
	seats, err := domain.ExpandLayout(rec.Layout, contracts.SeatID)
	if err != nil {
		return nil, err
	}
	l = newLayout(id, rec.Layout, seats)
	s.mu.Lock()
	if len(s.layouts) >= s.Cfg.LayoutCacheEvents {
		for k := range s.layouts { // evict an arbitrary entry; layouts reload cheaply
			delete(s.layouts, k)
			break
		}
	}
	s.layouts[id] = l
	s.mu.Unlock()
	return l, nil
}

// ensureSold rebuilds a missing sold set from the ledger; concurrent callers for one event
// share one rebuild.
func (s *Service) ensureSold(ctx context.Context, eventID uuid.UUID) error {
	lock := &s.soldLocks[eventID[15]%64]
	lock.Lock()
	defer lock.Unlock()
	if _, loaded, err := s.Holds.Snapshot(ctx, eventID); err != nil || loaded {
		return err
	}
	ids, err := s.Ledger.UnavailableSeatIDs(ctx, eventID)
	if err != nil {
		return err
	}
	// Redis lost the event: its buyers' bought seats (for the per-user limit) go back first.
	bought, err := s.Ledger.BoughtSeats(ctx, eventID)
	if err != nil {
		return err
	}
	if err := s.Holds.LoadBuyers(ctx, eventID, bought); err != nil {
		return err
	}
	s.Log.InfoContext(ctx, "rebuilt sold set from the ledger", "event_id", eventID, "unavailable", len(ids), "buyers", len(bought))
	return s.Holds.LoadSold(ctx, eventID, ids)
}

// snapshot returns Redis availability, rebuilding the sold set first when missing.
func (s *Service) snapshot(ctx context.Context, eventID uuid.UUID) (domain.SeatSnapshot, error) {
	snap, loaded, err := s.Holds.Snapshot(ctx, eventID)
	if err != nil || loaded {
		return snap, err
	}
	if err := s.ensureSold(ctx, eventID); err != nil {
		return domain.SeatSnapshot{}, err
	}
	snap, _, err = s.Holds.Snapshot(ctx, eventID)
	return snap, err
}
