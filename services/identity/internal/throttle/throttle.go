// Package throttle slows password guessing per account in Redis, shared by every identity
// replica: after a number of consecutive failures for one address, each further attempt
// must wait, the wait doubling per failure up to a ceiling. It works however identity is
// reached (through the gateway, whose per-IP limit is the first line, or directly).
package throttle

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Policy is the throttle's shape.
type Policy struct {
	// FreeFailures are the consecutive failures allowed without any wait; the next
	// attempt after that many must wait BaseDelay.
	FreeFailures int
	// BaseDelay is the first wait; each further failure doubles it, up to MaxDelay.
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// Memory is how long failures are remembered after the last one.
	Memory time.Duration
}

// Logins is the throttle for login attempts.
type Logins struct {
	RDB    redis.Cmdable
	Prefix string
	Policy Policy
}

// key hashes the address: the throttle needs to tell addresses apart, not to read them.
func (l Logins) key(email string) string {
	sum := sha256.Sum256([]byte(email))
	return l.Prefix + "identity:login-failures:" + hex.EncodeToString(sum[:16])
}

// Wait is how long the address must wait before its next attempt.
func (l Logins) Wait(ctx context.Context, email string) (time.Duration, error) {
	ms, err := waitScript.Run(ctx, l.RDB, []string{l.key(email)}).Int64()
	if err != nil {
		return 0, fmt.Errorf("login throttle: %w", err)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// Failed counts a failure and starts the next wait when the free ones are used up.
func (l Logins) Failed(ctx context.Context, email string) error {
	p := l.Policy
	err := failScript.Run(ctx, l.RDB, []string{l.key(email)}, p.FreeFailures, p.BaseDelay.Milliseconds(),
		p.MaxDelay.Milliseconds(), (p.Memory + p.MaxDelay).Milliseconds()).Err()
	if err != nil {
		return fmt.Errorf("login throttle: %w", err)
	}
	return nil
}

// Succeeded forgets the address's failures.
func (l Logins) Succeeded(ctx context.Context, email string) error {
	if err := l.RDB.Del(ctx, l.key(email)).Err(); err != nil {
		return fmt.Errorf("login throttle: %w", err)
	}
	return nil
}

// Both scripts use Redis's clock, so replicas with skewed clocks agree on every wait.
var waitScript = redis.NewScript(`
local untilMs = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
if untilMs > now then return untilMs - now end
return 0
`)

var failScript = redis.NewScript(`
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
local free = tonumber(ARGV[1])
if n >= free then
  local t = redis.call('TIME')
  local now = t[1] * 1000 + math.floor(t[2] / 1000)
  local wait = tonumber(ARGV[2]) * math.pow(2, math.min(n - free, 30))
  wait = math.min(wait, tonumber(ARGV[3]))
  redis.call('HSET', KEYS[1], 'until', now + wait)
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return n
`)
