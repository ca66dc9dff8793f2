#!/usr/bin/env bash
# The Redis ceiling beside BenchmarkHoldTwoSeats: redis-benchmark runs a Lua script doing
# what the hold script does for 2 seats (closed/sold checks, 2 seat claims, held and
# per-user zsets, hold hash, expiries, holdinfo, PUBLISH) with EVAL, on random seat keys
# under a private prefix that is deleted afterwards (never FLUSHALL: Redis is shared).
set -euo pipefail
N=${N:-100000}
C=${C:-32}
P="bench-eval-$RANDOM$RANDOM:"
E="${P}inv:{e1}:"
redis-cli SADD "${E}sold" '!loaded' >/dev/null
SCRIPT='
if redis.call("EXISTS", KEYS[7]) == 1 then return {"CLOSED"} end
if redis.call("EXISTS", KEYS[1]) == 0 then return {"NOSOLD"} end
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 8, 9 do
  if redis.call("SISMEMBER", KEYS[1], KEYS[i]) == 1 or redis.call("EXISTS", KEYS[i]) == 1 then return {"TAKEN"} end
end
redis.call("ZREMRANGEBYSCORE", KEYS[6], "-inf", now)
if redis.call("ZCARD", KEYS[6]) + 2 > 10 then return {"LIMIT"} end
local exp = string.format("%d", now + 600000)
for i = 8, 9 do
  redis.call("SET", KEYS[i], ARGV[1], "PXAT", exp)
  redis.call("ZADD", KEYS[2], exp, KEYS[i])
  redis.call("ZADD", KEYS[6], exp, KEYS[i])
end
redis.call("PEXPIREAT", KEYS[6], exp)
redis.call("HSET", KEYS[5], "user", ARGV[1], "seats", ARGV[2], "rec", ARGV[2], "created", now, "exp", exp)
redis.call("PEXPIREAT", KEYS[5], exp)
redis.call("ZADD", KEYS[3], exp, ARGV[1])
redis.call("HSET", KEYS[4], ARGV[1], ARGV[2])
redis.call("PUBLISH", KEYS[10], ARGV[2])
return {"OK", exp}'
redis-benchmark -q -n "$N" -c "$C" -r 100000000 EVAL "$SCRIPT" 10 \
  "${E}sold" "${E}held" "${E}expiries" "${E}holdinfo" "${E}hold:__rand_int__" "${E}user:__rand_int__" \
  "${E}closed" "${E}seat:a__rand_int__" "${E}seat:b__rand_int__" "${E}changes" \
  "h__rand_int__" '{"seats":["a","b"],"total_amount":6000}'
redis-cli --scan --pattern "${P}*" | xargs -r -n 500 redis-cli DEL >/dev/null
