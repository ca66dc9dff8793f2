package app

import (
	"bytes"
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// view is one event's seat states as this replica last read them from Redis, shared by
// best-available picks, seat maps and availability counts. Reading a big event's sold and
// held sets costs Redis and this process time in proportion to the event's size; a view
// younger than AVAILABILITY_CACHE_TTL answers instead, so the cost per request stays flat
// from 1,000 to 100,000 seats. Staleness is bounded by the TTL and never risks a double
// hold: the hold script in Redis still decides every seat.
type view struct {
	// refresh makes concurrent refreshes of one event happen once.
	refresh sync.Mutex

	mu     sync.Mutex
	at     time.Time
	status []uint8 // by layout seat index: stateAvailable, stateHeld or stateSold
	// gen changes with every change of status, so an answer rendered from one generation
	// can be served again until the next.
	gen uint64
}

// viewGen numbers every change of every view, so that a generation never repeats even
// when a view is dropped and read again.
var viewGen atomic.Uint64

// viewOf returns the event's view, creating an empty one.
func (s *Service) viewOf(eventID uuid.UUID) *view {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.views[eventID]
	if !ok {
		if len(s.views) >= s.Cfg.LayoutCacheEvents*2 {
			clear(s.views) // views rebuild from one Redis read
		}
		v = &view{}
		s.views[eventID] = v
	}
	return v
}

// freshView returns the event's view, read again from Redis unless it was read less than
// the TTL ago, or, with force, after asked. With a TTL of zero every call reads Redis.
func (s *Service) freshView(ctx context.Context, l *Layout, force bool) (*view, error) {
	v := s.viewOf(l.EventID)
	asked := time.Now()
	ok := func() bool {
		v.mu.Lock()
		defer v.mu.Unlock()
		if v.status == nil || len(v.status) != len(l.Seats) {
			return false
		}
		if force {
			return !v.at.Before(asked)
		}
		return s.Cfg.AvailabilityCacheTTL > 0 && time.Since(v.at) < s.Cfg.AvailabilityCacheTTL
	}
	if ok() {
		return v, nil
	}
	v.refresh.Lock()
	defer v.refresh.Unlock()
	if ok() { // another caller refreshed it while this one waited
		return v, nil
	}
	at := time.Now()
	snap, err := s.snapshot(ctx, l.EventID)
	if err != nil {
		return nil, err
	}
	st := make([]uint8, len(l.Seats))
	for id := range snap.Held {
		if i, ok := l.index[id]; ok {
			st[i] = stateHeld
		}
	}
	for id := range snap.Sold {
		if i, ok := l.index[id]; ok {
			st[i] = stateSold
		}
	}
	v.mu.Lock()
	// A read that found the states as they were keeps the generation: the seat map
	// rendered from it (17 MB of JSON, gzipped, for 100,000 seats) is served again instead
	// of being rendered anew after every TTL while readers keep coming.
	if v.status == nil || !bytes.Equal(v.status, st) {
		v.gen = viewGen.Add(1)
	}
	v.status, v.at = st, at
	v.mu.Unlock()
	return v, nil
}

// copyStatus returns a private copy of the view's states and their generation.
func (v *view) copyStatus() ([]uint8, uint64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]uint8(nil), v.status...), v.gen
}

// mark sets the states of the seats with the given layout indexes.
func (v *view) mark(l *Layout, ids []string, state uint8) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.status) != len(l.Seats) {
		return
	}
	for _, id := range ids {
		if i, ok := l.index[id]; ok {
			v.status[i] = state
		}
	}
	v.gen = viewGen.Add(1)
}

// note records a change this replica made in the event's view, when there is one, so that
// the replica's own changes show at once rather than after the TTL.
func (s *Service) note(eventID uuid.UUID, ids []string, state uint8) {
	s.mu.Lock()
	v, ok := s.views[eventID]
	l := s.layouts[eventID]
	s.mu.Unlock()
	if ok && l != nil {
		v.mark(l, ids, state)
	}
}
