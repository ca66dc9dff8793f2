// Package redisx opens the instrumented go-redis client every service shares, with an
// optional key prefix so tests and environments can share one Redis without collisions.
package redisx

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"

	"evently.dev/libs/telemetry"
)

// Config holds the Redis settings every service shares.
type Config struct {
	Addr      string `envconfig:"REDIS_ADDR" default:"127.0.0.1:6379"`
	Password  string `envconfig:"REDIS_PASSWORD" mask:"true"`
	DB        int    `envconfig:"REDIS_DB" default:"0"`
	PoolSize  int    `envconfig:"REDIS_POOL_SIZE" default:"50"`
	KeyPrefix string `envconfig:"REDIS_KEY_PREFIX"`
}

// Open connects with metrics (and tracing when spans are exported) and checks the server answers.
func Open(ctx context.Context, cfg Config) (*redis.Client, error) {
	c := redis.NewClient(&redis.Options{
		Addr:         cfg.Addr,
		Password:     cfg.Password,
		DB:           cfg.DB,
		PoolSize:     cfg.PoolSize,
		MinIdleConns: 4,
		DialTimeout:  3 * time.Second,
		ReadTimeout:  2 * time.Second,
		WriteTimeout: 2 * time.Second,
	})
	if telemetry.Tracing() {
		if err := redisotel.InstrumentTracing(c); err != nil {
			return nil, fmt.Errorf("redis tracing: %w", err)
		}
	}
	if err := redisotel.InstrumentMetrics(c); err != nil {
		return nil, fmt.Errorf("redis metrics: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.Ping(pctx).Err(); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("connect to redis %s: %w", cfg.Addr, err)
	}
	return c, nil
}

// Check is a readiness probe for the client.
func Check(c *redis.Client) func(ctx context.Context) error {
	return func(ctx context.Context) error { return c.Ping(ctx).Err() }
}
