package baseline

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"

	"evently.dev/bench/internal/system"
)

// RedisResult is the Redis ceiling of a 2-seat hold.
type RedisResult struct {
	Clients  int     `json:"clients"`
	Requests int     `json:"requests"`
	PerSec   float64 `json:"evals_per_s"`
	P50Ms    float64 `json:"p50_ms"`
	P99Ms    float64 `json:"p99_ms"`
	Script   string  `json:"script"`
}

// holdLike does, for two seats, the work of inventory's hold script: sold and closed
// checks, both seat claims with an expiry, the held, per-user and expiry indexes, the hold
// record and a change notice. Seat keys are random, so nearly every call succeeds.
const holdLike = `
if redis.call('EXISTS', KEYS[7]) == 1 then return 'CLOSED' end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 8, 9 do
  if redis.call('SISMEMBER', KEYS[1], KEYS[i]) == 1 then return 'SOLD' end
  if redis.call('EXISTS', KEYS[i]) == 1 then return 'TAKEN' end
end
redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', '(' .. string.format('%d', now))
local exp = string.format('%d', now + 600000)
for i = 8, 9 do
  redis.call('SET', KEYS[i], ARGV[1], 'PXAT', exp)
  redis.call('ZADD', KEYS[2], exp, KEYS[i])
  redis.call('ZADD', KEYS[6], exp, KEYS[i])
end
redis.call('PEXPIREAT', KEYS[6], exp)
redis.call('HSET', KEYS[5], 'user', ARGV[1], 'seats', ARGV[2], 'created', string.format('%d', now), 'exp', exp)
redis.call('PEXPIREAT', KEYS[5], exp)
redis.call('ZADD', KEYS[3], exp, ARGV[1])
redis.call('HSET', KEYS[4], ARGV[1], ARGV[2])
redis.call('PUBLISH', KEYS[10], ARGV[2])
return 'OK'
`

// RedisBenchmark runs redis-benchmark with EVAL of the hold-like script under a private
// key prefix, deleted afterwards (the shared Redis is never flushed).
func RedisBenchmark(ctx context.Context, addr string, requests, clients int) (RedisResult, error) {
	res := RedisResult{Clients: clients, Requests: requests, Script: strings.TrimSpace(holdLike)}
	bin, err := exec.LookPath("redis-benchmark")
	if err != nil {
		return res, fmt.Errorf("redis-benchmark not found (it comes with redis-tools): %w", err)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return res, err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return res, fmt.Errorf("redis-benchmark only runs against loopback, not %q", addr)
	}
	p := "bench-rb-" + randHex(4) + ":"
	defer system.DeleteRedisPrefix(context.WithoutCancel(ctx), addr, p)
	k := func(s string) string { return p + s }
	args := []string{"-h", host, "-p", port, "-c", strconv.Itoa(clients), "-n", strconv.Itoa(requests),
		"-r", "100000000", "--csv", "EVAL", holdLike, "10",
		k("sold"), k("held"), k("expiries"), k("holdinfo"), k("hold:__rand_int__"), k("user:__rand_int__"),
		k("closed"), k("seat:a__rand_int__"), k("seat:b__rand_int__"), k("changes"),
		"h__rand_int__", `["a","b"]`}
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput() //nolint:gosec // G204: redis-benchmark from PATH, arguments built here
	if err != nil {
		return res, fmt.Errorf("redis-benchmark: %w: %s", err, out)
	}
	// --csv prints a header and one row: test, rps, avg, min, p50, p95, p99, max. The test
	// name is the whole command, quotes unescaped, so only the last seven fields are read.
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	f := strings.Split(lines[len(lines)-1], ",")
	if len(f) < 8 {
		return res, fmt.Errorf("redis-benchmark output not understood: %s", out)
	}
	num := func(i int) float64 {
		v, _ := strconv.ParseFloat(strings.Trim(f[len(f)-8+i], `"`), 64)
		return v
	}
	res.PerSec, res.P50Ms, res.P99Ms = num(1), num(4), num(6)
	if res.PerSec == 0 {
		return res, fmt.Errorf("redis-benchmark printed no rate: %s", out)
	}
	return res, nil
}
