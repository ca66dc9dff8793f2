package auth

import (
	"sync"
	"time"

	"evently.dev/libs/assertion"
)

// VerifiedCache remembers tokens that passed verification until they expire, so a
// client's repeated requests cost a map lookup instead of a signature check (the largest
// CPU cost per proxied request). Only valid tokens enter it, and minting one takes
// identity's key, so its size is bounded by real sessions; at capacity it is emptied and
// refills from traffic. A token's signature and claims never change, so caching changes
// no answer; revocation is checked on every request after the cache.
type VerifiedCache struct {
	mu      sync.RWMutex
	max     int
	entries map[string]cached
}

type cached struct {
	id  assertion.Identity
	iat time.Time
	exp time.Time
}

// NewVerifiedCache returns a cache of at most size tokens; size ≤ 0 returns nil (no cache).
func NewVerifiedCache(size int) *VerifiedCache {
	if size <= 0 {
		return nil
	}
	return &VerifiedCache{max: size, entries: make(map[string]cached, min(size, 1024))}
}

func (c *VerifiedCache) get(raw string, now time.Time) (assertion.Identity, time.Time, bool) {
	if c == nil {
		return assertion.Identity{}, time.Time{}, false
	}
	c.mu.RLock()
	e, ok := c.entries[raw]
	c.mu.RUnlock()
	if !ok || !now.Before(e.exp) {
		return assertion.Identity{}, time.Time{}, false
	}
	return e.id, e.iat, true
}

func (c *VerifiedCache) put(raw string, id assertion.Identity, iat, exp time.Time) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		clear(c.entries)
	}
	c.entries[raw] = cached{id: id, iat: iat, exp: exp}
}
