// Package cache keeps browse answers in Redis. Every key embeds a generation number that
// each catalog change increments after it commits, so stale entries become unreachable at
// once (and expire by TTL) instead of being hunted down key by key.
package cache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
)

// Cache is a generation-keyed JSON cache. A nil *Cache or a Redis outage means no caching,
// never a failed request.
type Cache struct {
	rdb    *redis.Client
	prefix string
	ttl    time.Duration
	log    *slog.Logger
}

// New returns a cache whose keys all start with prefix (the environment's REDIS_KEY_PREFIX).
func New(rdb *redis.Client, prefix string, ttl time.Duration, log *slog.Logger) *Cache {
	if log == nil {
		log = slog.Default()
	}
	return &Cache{rdb: rdb, prefix: prefix + "catalog:", ttl: ttl, log: log}
}

func (c *Cache) genKey() string { return c.prefix + "gen" }

// Remember returns the cached value for (kind, key) in dst, or runs load, stores its
// result and decodes it into dst.
func Remember[T any](ctx context.Context, c *Cache, kind, key string, load func() (T, error)) (T, error) {
	if c == nil || c.rdb == nil || c.ttl <= 0 {
		return load()
	}
	gen, err := c.rdb.Get(ctx, c.genKey()).Result()
	if errors.Is(err, redis.Nil) {
		gen, err = "0", nil
	}
	if err != nil {
		c.log.WarnContext(ctx, "cache unavailable, reading through", "error", err)
		return load()
	}
	sum := sha256.Sum256([]byte(key))
	k := c.prefix + "v1:" + gen + ":" + kind + ":" + hex.EncodeToString(sum[:16])
	if b, err := c.rdb.Get(ctx, k).Bytes(); err == nil {
		var v T
		if json.Unmarshal(b, &v) == nil {
			return v, nil
		}
	}
	v, err := load()
	if err != nil {
		return v, err
	}
	if b, err := json.Marshal(v); err == nil {
		if err := c.rdb.Set(ctx, k, b, c.ttl).Err(); err != nil {
			c.log.WarnContext(ctx, "cache write failed", "error", err)
		}
	}
	return v, nil
}

// Invalidate makes every cached entry unreachable. Call it after the change committed: a
// reader that cached the old state before then used the old generation.
func (c *Cache) Invalidate(ctx context.Context) {
	if c == nil || c.rdb == nil {
		return
	}
	if err := c.rdb.Incr(context.WithoutCancel(ctx), c.genKey()).Err(); err != nil {
		c.log.WarnContext(ctx, "cache invalidation failed; entries expire by TTL", "error", err)
	}
}
