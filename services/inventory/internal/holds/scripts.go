package holds

import "github.com/redis/go-redis/v9"

// Every script reads the clock with TIME, so all replicas agree on expiry whatever their
// own clocks say, and formats integers with %d so Lua never turns milliseconds into
// scientific notation.
const luaPrelude = `
local function nowms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function int(n) return string.format('%d', n) end
`

// holdScript claims every seat or none.
// KEYS: 1 sold, 2 held, 3 expiries, 4 holdinfo, 5 hold, 6 userseats, 7 closed, 8.. seat keys
// ARGV: 1 hold id, 2 user id, 3 ttl ms, 4 limit (0 none), 5 record JSON, 6 purpose,
//
//	7 changes channel, 8 seat ids JSON, 9.. seat ids
//
// Returns {'OK', created, expires} | {'TAKEN', seat...} | {'LIMIT', held} | {'NOSOLD'} | {'CLOSED'}.
var holdScript = redis.NewScript(luaPrelude + `
if redis.call('EXISTS', KEYS[7]) == 1 then return {'CLOSED'} end
if redis.call('EXISTS', KEYS[1]) == 0 then return {'NOSOLD'} end
local now = nowms()
local n = #KEYS - 7
local taken = {}
for i = 1, n do
  local seat = ARGV[8 + i]
  if redis.call('SISMEMBER', KEYS[1], seat) == 1 or redis.call('EXISTS', KEYS[7 + i]) == 1 then
    taken[#taken + 1] = seat
  end
end
if #taken > 0 then
  table.insert(taken, 1, 'TAKEN')
  return taken
end
local limit = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', '(' .. int(now))
if limit > 0 then
  -- The user's set holds live holds and offers (scored by expiry) and bought seats
  -- (scored +inf, kept until the booking is cancelled): the limit counts all three.
  local have = redis.call('ZCARD', KEYS[6])
  if have + n > limit then return {'LIMIT', tostring(have)} end
end
local exp = now + tonumber(ARGV[3])
for i = 1, n do
  redis.call('SET', KEYS[7 + i], ARGV[1], 'PXAT', int(exp))
  redis.call('ZADD', KEYS[2], int(exp), ARGV[8 + i])
  redis.call('ZADD', KEYS[6], int(exp), ARGV[8 + i])
end
-- A set with bought seats never expires; one with holds only lives as long as they do.
if redis.call('ZCOUNT', KEYS[6], '+inf', '+inf') == 0 then
  redis.call('PEXPIREAT', KEYS[6], int(exp), 'GT')
  if redis.call('PTTL', KEYS[6]) < 0 then redis.call('PEXPIREAT', KEYS[6], int(exp)) end
end
redis.call('HSET', KEYS[5], 'user', ARGV[2], 'purpose', ARGV[6], 'seats', ARGV[8], 'rec', ARGV[5],
  'created', int(now), 'exp', int(exp))
redis.call('PEXPIREAT', KEYS[5], int(exp))
redis.call('ZADD', KEYS[3], int(exp), ARGV[1])
redis.call('HSET', KEYS[4], ARGV[1], ARGV[5])
redis.call('PUBLISH', ARGV[7], cjson.encode({type = 'held', hold_id = ARGV[1], seat_ids = cjson.decode(ARGV[8])}))
return {'OK', int(now), int(exp)}
`)

// releaseScript drops a live hold of its owner.
// KEYS: 1 hold, 2 held, 3 expiries, 4 holdinfo, 5 userseats
// ARGV: 1 hold id, 2 user id, 3 seat key prefix, 4 changes channel
// Returns {'OK', rec} | {'MISSING'} | {'NOTOWNER'}.
var releaseScript = redis.NewScript(luaPrelude + `
local h = redis.call('HMGET', KEYS[1], 'user', 'seats', 'rec')
if not h[1] then return {'MISSING'} end
if h[1] ~= ARGV[2] then return {'NOTOWNER'} end
local seats = cjson.decode(h[2])
for _, s in ipairs(seats) do
  local k = ARGV[3] .. s
  if redis.call('GET', k) == ARGV[1] then
    redis.call('DEL', k)
    redis.call('ZREM', KEYS[2], s)
  end
  redis.call('ZREM', KEYS[5], s)
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
redis.call('PUBLISH', ARGV[4], cjson.encode({type = 'released', hold_id = ARGV[1], seat_ids = seats}))
return {'OK', h[3]}
`)

// commitScript runs after the ledger committed a sale: it marks the seats sold (only in a
// sold set that exists — a missing one is rebuilt from the ledger later, and a set created
// here would look complete while it is not) and drops the hold if it is still there.
// KEYS: 1 hold, 2 held, 3 expiries, 4 holdinfo, 5 sold, 6 userseats
// ARGV: 1 hold id, 2 seat key prefix, 3 changes channel, 4.. seat ids
var commitScript = redis.NewScript(luaPrelude + `
local seats = {}
for i = 4, #ARGV do seats[#seats + 1] = ARGV[i] end
if redis.call('EXISTS', KEYS[5]) == 1 then
  redis.call('SADD', KEYS[5], unpack(seats))
end
for _, s in ipairs(seats) do
  local k = ARGV[2] .. s
  local owner = redis.call('GET', k)
  if owner == ARGV[1] then redis.call('DEL', k) end
  if owner == ARGV[1] or not owner then redis.call('ZREM', KEYS[2], s) end
  -- A bought seat keeps counting towards the user's limit until its booking is cancelled.
  redis.call('ZADD', KEYS[6], '+inf', s)
end
redis.call('PERSIST', KEYS[6])
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
redis.call('PUBLISH', ARGV[3], cjson.encode({type = 'sold', hold_id = ARGV[1], seat_ids = seats}))
return 1
`)

// extendScript moves a live hold's expiry to min(now + extension, created + max lifetime).
// KEYS: 1 hold, 2 held, 3 expiries, 4 userseats
// ARGV: 1 hold id, 2 user id, 3 seat key prefix, 4 extension ms, 5 max lifetime ms
// Returns {'OK', created, expires} | {'CAPPED', created, expires} | {'MISSING'} | {'NOTOWNER'}.
var extendScript = redis.NewScript(luaPrelude + `
local h = redis.call('HMGET', KEYS[1], 'user', 'seats', 'created', 'exp')
if not h[1] then return {'MISSING'} end
if h[1] ~= ARGV[2] then return {'NOTOWNER'} end
local created, exp = tonumber(h[3]), tonumber(h[4])
local cap = created + tonumber(ARGV[5])
if exp >= cap then return {'CAPPED', int(created), int(exp)} end
local new = math.min(nowms() + tonumber(ARGV[4]), cap)
if new <= exp then return {'OK', int(created), int(exp)} end
for _, s in ipairs(cjson.decode(h[2])) do
  local k = ARGV[3] .. s
  if redis.call('GET', k) == ARGV[1] then
    redis.call('PEXPIREAT', k, int(new))
    redis.call('ZADD', KEYS[2], 'XX', int(new), s)
  end
  redis.call('ZADD', KEYS[4], 'XX', int(new), s)
end
redis.call('PEXPIREAT', KEYS[4], int(new), 'GT')
redis.call('HSET', KEYS[1], 'exp', int(new))
redis.call('PEXPIREAT', KEYS[1], int(new))
redis.call('ZADD', KEYS[3], 'XX', int(new), ARGV[1])
return {'OK', int(created), int(new)}
`)

// claimScript hands lapsed holds to exactly one sweeper: the ZREM from expiries decides.
// The claim is a lease in 'expiring'; if the claimer dies before announcing, the lease
// lapses and another sweeper claims the hold again (at-least-once announcement).
// KEYS: 1 expiries, 2 expiring, 3 holdinfo, 4 held
// ARGV: 1 batch size, 2 lease ms, 3 changes channel
// Returns a flat list: hold id, expiry ms ('0' when re-claimed), record JSON (” if lost).
var claimScript = redis.NewScript(luaPrelude + `
local now = nowms()
local out = {}
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', '(' .. int(now))
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. int(now), 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[1]))
for i = 1, #due, 2 do
  local id = due[i]
  if redis.call('ZREM', KEYS[1], id) == 1 then
    redis.call('ZADD', KEYS[2], int(now + tonumber(ARGV[2])), id)
    local rec = redis.call('HGET', KEYS[3], id) or ''
    out[#out + 1] = id
    out[#out + 1] = due[i + 1]
    out[#out + 1] = rec
    if rec ~= '' then
      local ids = {}
      for _, s in ipairs(cjson.decode(rec).seats) do ids[#ids + 1] = s.seat_id end
      redis.call('PUBLISH', ARGV[3], cjson.encode({type = 'expired', hold_id = id, seat_ids = ids}))
    end
  end
end
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. int(now), 'LIMIT', 0, tonumber(ARGV[1]))
for _, id in ipairs(stale) do
  redis.call('ZADD', KEYS[2], int(now + tonumber(ARGV[2])), id)
  out[#out + 1] = id
  out[#out + 1] = '0'
  out[#out + 1] = redis.call('HGET', KEYS[3], id) or ''
end
return out
`)

// ackScript forgets holds whose expiry is safely in the outbox.
// KEYS: 1 expiring, 2 holdinfo; ARGV: hold ids
var ackScript = redis.NewScript(`
for _, id in ipairs(ARGV) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
end
return 1
`)

// dropLiveScript removes an event from the live-holds index only if its score is still the
// one the sweeper saw: a hold placed meanwhile raised it, and the event stays.
// KEYS: 1 live events; ARGV: 1 event id, 2 score seen
var dropLiveScript = redis.NewScript(`
local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
if s and tonumber(s) == tonumber(ARGV[2]) then return redis.call('ZREM', KEYS[1], ARGV[1]) end
return 0
`)

// loadSoldScript fills a missing sold set from the ledger, marker first, so an event with
// nothing sold still has a set. It never touches a set that exists.
// KEYS: 1 sold; ARGV: 1 marker, 2.. seat ids
var loadSoldScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SADD', KEYS[1], ARGV[1])
local batch = 5000
for i = 2, #ARGV, batch do
  redis.call('SADD', KEYS[1], unpack(ARGV, i, math.min(i + batch - 1, #ARGV)))
end
return 1
`)

// unsoldScript returns seats to sale in the sold set, if the set exists.
// KEYS: 1 sold; ARGV: 1 changes channel, 2 change JSON, 3.. seat ids
var unsoldScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 and #ARGV > 2 then
  redis.call('SREM', KEYS[1], unpack(ARGV, 3))
end
redis.call('PUBLISH', ARGV[1], ARGV[2])
return 1
`)

// forgetBoughtScript takes returned seats (a cancelled booking) out of the user's set.
// KEYS: 1 userseats; ARGV: seat ids
var forgetBoughtScript = redis.NewScript(`
for _, s in ipairs(ARGV) do redis.call('ZREM', KEYS[1], s) end
return 1
`)

var allScripts = []*redis.Script{holdScript, releaseScript, commitScript, extendScript, claimScript,
	ackScript, dropLiveScript, loadSoldScript, unsoldScript, forgetBoughtScript}
