// Package sessions is the Redis contract between identity and the gateway for revoked
// sessions: identity records "every access token of this user issued at or before second
// T is void" under a key that lives as long as such a token could, and announces it on a
// channel; every gateway replica keeps the records in memory and refuses those tokens.
package sessions

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Revocation voids the user's access tokens whose iat is at or before NotAfter (whole
// seconds, as iat is); it matters only until Until, when the last of them has expired.
type Revocation struct {
	UserID   string
	NotAfter time.Time
	Until    time.Time
}

// Key is the Redis key holding a user's revocation.
func Key(prefix, userID string) string { return prefix + "sessions:revoked:" + userID }

// KeyPattern matches every revocation key (for a full reload).
func KeyPattern(prefix string) string { return prefix + "sessions:revoked:*" }

// Channel is where revocations are announced as they are written.
func Channel(prefix string) string { return prefix + "sessions:revoked" }

// Value encodes the stored and announced form: "user notAfterUnix untilUnix".
func (r Revocation) Value() string {
	return r.UserID + " " + strconv.FormatInt(r.NotAfter.Unix(), 10) + " " + strconv.FormatInt(r.Until.Unix(), 10)
}

// Parse decodes Value's form.
func Parse(s string) (Revocation, error) {
	f := strings.Fields(s)
	if len(f) != 3 {
		return Revocation{}, fmt.Errorf("sessions: malformed revocation %q", s)
	}
	na, err1 := strconv.ParseInt(f[1], 10, 64)
	un, err2 := strconv.ParseInt(f[2], 10, 64)
	if err1 != nil || err2 != nil || f[0] == "" {
		return Revocation{}, fmt.Errorf("sessions: malformed revocation %q", s)
	}
	return Revocation{UserID: f[0], NotAfter: time.Unix(na, 0), Until: time.Unix(un, 0)}, nil
}

// Voids reports whether a token issued at iat falls under the revocation.
func (r Revocation) Voids(iat time.Time) bool { return !iat.After(r.NotAfter) }

// Write stores r (keeping a later one already stored) and announces it, in one script so
// a reader that reloads after subscribing cannot miss it.
func Write(ctx context.Context, rdb redis.Scripter, prefix string, r Revocation) error {
	ttl := time.Until(r.Until)
	if ttl <= 0 {
		return nil
	}
	err := writeScript.Run(ctx, rdb, []string{Key(prefix, r.UserID)}, r.Value(), r.NotAfter.Unix(),
		ttl.Milliseconds(), Channel(prefix)).Err()
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("record session revocation: %w", err)
	}
	return nil
}

// A later revocation always wins: two writers racing cannot move the cut-off backwards.
var writeScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur then
  local na = tonumber(string.match(cur, '^%S+ (%d+)'))
  if na and na > tonumber(ARGV[2]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[1])
return 1
`)
