package auth

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"evently.dev/libs/sessions"
)

// ErrRevoked is a valid token whose session identity has since voided (logout, password
// or role change).
var ErrRevoked = errors.New("the token's session was revoked")

// Revocations is every gateway replica's copy of the session revocations identity writes
// to Redis. In sync (subscribed to the announcement channel, then fully loaded) a check is
// a map lookup, with no Redis call on the request path; out of sync (starting, or the
// subscription broke) each check reads the user's key instead, until the copy is rebuilt.
// When Redis cannot answer either, the request passes (logged): identity cannot record a
// revocation without Redis, so only revocations made while this replica alone lost Redis
// can be missed, for at most one access-token lifetime.
type Revocations struct {
	rdb    *redis.Client
	prefix string
	log    *slog.Logger

	mu     sync.RWMutex
	byUser map[string]sessions.Revocation
	synced atomic.Bool
	warned atomic.Int64
}

// NewRevocations reads revocations under prefix (REDIS_KEY_PREFIX); Run keeps it in sync.
func NewRevocations(rdb *redis.Client, prefix string, log *slog.Logger) *Revocations {
	return &Revocations{rdb: rdb, prefix: prefix, log: log, byUser: map[string]sessions.Revocation{}}
}

// Synced reports whether checks are answered from memory.
func (r *Revocations) Synced() bool { return r.synced.Load() }

// Voided reports whether the user's token issued at iat has been revoked.
func (r *Revocations) Voided(ctx context.Context, userID string, iat time.Time) bool {
	if r.synced.Load() {
		r.mu.RLock()
		rev, ok := r.byUser[userID]
		r.mu.RUnlock()
		return ok && rev.Voids(iat)
	}
	ctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	v, err := r.rdb.Get(ctx, sessions.Key(r.prefix, userID)).Result()
	if errors.Is(err, redis.Nil) {
		return false
	}
	if err != nil {
		r.warn("cannot read session revocations from redis; letting the token through", err)
		return false
	}
	rev, err := sessions.Parse(v)
	if err != nil {
		r.warn("unreadable session revocation", err)
		return false
	}
	r.store(rev)
	return rev.Voids(iat)
}

func (r *Revocations) warn(msg string, err error) {
	now := time.Now().UnixNano()
	if last := r.warned.Load(); now-last > int64(10*time.Second) && r.warned.CompareAndSwap(last, now) {
		r.log.Warn(msg, "error", err)
	}
}

func (r *Revocations) store(rev sessions.Revocation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if cur, ok := r.byUser[rev.UserID]; !ok || rev.NotAfter.After(cur.NotAfter) {
		r.byUser[rev.UserID] = rev
	}
}

// Run keeps the copy in sync until ctx ends: subscribe first, then load every stored
// revocation, so nothing written in between is missed; after any failure, fall back to
// per-request reads and start over.
func (r *Revocations) Run(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := r.follow(ctx)
		r.synced.Store(false)
		if ctx.Err() != nil {
			return
		}
		r.warn("session revocation feed interrupted; reading redis per request until it is back", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func (r *Revocations) follow(ctx context.Context) error {
	sub := r.rdb.Subscribe(ctx, sessions.Channel(r.prefix))
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil { // the subscription's confirmation
		return err
	}
	if err := r.reload(ctx); err != nil {
		return err
	}
	r.synced.Store(true)
	for {
		msg, err := sub.ReceiveTimeout(ctx, 15*time.Second)
		var nerr interface{ Timeout() bool }
		switch {
		case err != nil && errors.As(err, &nerr) && nerr.Timeout():
			// Quiet channel: prove the connection still works, and drop stale entries.
			if err := sub.Ping(ctx); err != nil {
				return err
			}
			r.prune(time.Now())
			continue
		case err != nil:
			return err
		}
		if m, ok := msg.(*redis.Message); ok {
			rev, err := sessions.Parse(m.Payload)
			if err != nil {
				r.warn("unreadable session revocation", err)
				continue
			}
			r.store(rev)
		}
	}
}

// reload replaces the copy with what Redis holds.
func (r *Revocations) reload(ctx context.Context) error {
	fresh := map[string]sessions.Revocation{}
	iter := r.rdb.Scan(ctx, 0, sessions.KeyPattern(r.prefix), 1000).Iterator()
	var keys []string
	flush := func() error {
		if len(keys) == 0 {
			return nil
		}
		vals, err := r.rdb.MGet(ctx, keys...).Result()
		if err != nil {
			return err
		}
		for _, v := range vals {
			if s, ok := v.(string); ok {
				if rev, err := sessions.Parse(s); err == nil {
					fresh[rev.UserID] = rev
				}
			}
		}
		keys = keys[:0]
		return nil
	}
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
		if len(keys) == 500 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := iter.Err(); err != nil {
		return err
	}
	if err := flush(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	// Entries learnt before a broken feed stay while they can still matter and are newer.
	now := time.Now()
	for u, rev := range r.byUser {
		if cur, ok := fresh[u]; now.Before(rev.Until) && (!ok || rev.NotAfter.After(cur.NotAfter)) {
			fresh[u] = rev
		}
	}
	r.byUser = fresh
	return nil
}

// prune forgets revocations no unexpired token can fall under any more.
func (r *Revocations) prune(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for u, rev := range r.byUser {
		if !now.Before(rev.Until) {
			delete(r.byUser, u)
		}
	}
}
