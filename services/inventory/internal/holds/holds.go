// Package holds keeps seat holds in Redis: the fast, temporary, all-or-nothing claims in
// front of the ledger (DESIGN §5). Every key of one event carries the event id in a hash
// tag ("inv:{EVENT}:...") so one Lua script can touch them all in one Redis Cluster slot.
//
// Keys (after REDIS_KEY_PREFIX):
//
//	inv:{E}:seat:S       hold id holding seat S (TTL = hold expiry)
//	inv:{E}:hold:H       hash: user, purpose, seats (JSON ids), rec (JSON hold), created, exp (same TTL)
//	inv:{E}:sold         set of seat ids that cannot be held (ledger cache) + marker "!loaded"
//	inv:{E}:held         zset seat id → hold expiry ms (seat maps read it in one call)
//	inv:{E}:user:U       zset seat id → expiry ms of U's held seats (per-user limit)
//	inv:{E}:expiries     zset hold id → expiry ms (the sweeper's work list)
//	inv:{E}:expiring     zset hold id → lease ms (claimed by a sweeper, not yet announced)
//	inv:{E}:holdinfo     hash hold id → hold JSON, kept until the end is announced
//	inv:{E}:closed       present when the event is cancelled
//	inv:{E}:changes      pub/sub channel of seat changes (SSE)
//	inv:live-events      zset event id → latest hold expiry (which events to sweep)
//	inv:user:{U}:holds   zset "E/H" → expiry ms (a user's holds across events)
//
// The last two live outside the event's slot, so they are written by separate commands
// (pipelined with the hold script) and treated as indexes that may hold stale members.
package holds

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"evently.dev/services/inventory/internal/domain"
)

// SoldMarker is the member that tells an empty sold set ("nothing sold") from a missing one.
const SoldMarker = "!loaded"

// indexSlack keeps index entries a little longer than the hold, so clock differences between
// a replica and Redis never hide a live hold.
const indexSlack = 5 * time.Second

// Store is the Redis hold store; it implements domain.Holds.
type Store struct {
	rdb    *redis.Client
	prefix string
}

var _ domain.Holds = (*Store)(nil)

// New returns a store whose keys all start with prefix (REDIS_KEY_PREFIX).
func New(rdb *redis.Client, prefix string) *Store { return &Store{rdb: rdb, prefix: prefix} }

// Client exposes the Redis client (pub/sub for live updates).
func (s *Store) Client() *redis.Client { return s.rdb }

// LoadScripts loads every Lua script once, so calls can use EVALSHA from the first request
// (Script.Run still falls back to EVAL after a server restart or SCRIPT FLUSH).
func (s *Store) LoadScripts(ctx context.Context) error {
	for _, sc := range allScripts {
		if err := sc.Load(ctx, s.rdb).Err(); err != nil {
			return fmt.Errorf("load redis script: %w", err)
		}
	}
	return nil
}

func (s *Store) base(eventID uuid.UUID) string { return s.prefix + "inv:{" + eventID.String() + "}:" }

// SeatKey is the key of one seat's claim.
func (s *Store) SeatKey(eventID uuid.UUID, seatID string) string {
	return s.base(eventID) + "seat:" + seatID
}

// HoldKey is the key of one hold's record.
func (s *Store) HoldKey(eventID, holdID uuid.UUID) string {
	return s.base(eventID) + "hold:" + holdID.String()
}

// SoldKey is the key of the event's sold set.
func (s *Store) SoldKey(eventID uuid.UUID) string { return s.base(eventID) + "sold" }

// ClosedKey marks a cancelled event.
func (s *Store) ClosedKey(eventID uuid.UUID) string { return s.base(eventID) + "closed" }

// Channel is the pub/sub channel of the event's seat changes.
func (s *Store) Channel(eventID uuid.UUID) string { return s.base(eventID) + "changes" }

func (s *Store) heldKey(e uuid.UUID) string     { return s.base(e) + "held" }
func (s *Store) expiriesKey(e uuid.UUID) string { return s.base(e) + "expiries" }
func (s *Store) expiringKey(e uuid.UUID) string { return s.base(e) + "expiring" }
func (s *Store) infoKey(e uuid.UUID) string     { return s.base(e) + "holdinfo" }
func (s *Store) userSeatsKey(e uuid.UUID, user string) string {
	return s.base(e) + "user:" + user
}
func (s *Store) liveKey() string                 { return s.prefix + "inv:live-events" }
func (s *Store) userIndexKey(user string) string { return s.prefix + "inv:user:{" + user + "}:holds" }

// Hold places h (its seats, user and prices filled) for ttl, refusing if any seat is sold
// or held, or if the user would hold more than limit seats of the event (0: no limit).
func (s *Store) Hold(ctx context.Context, h domain.Hold, ttl time.Duration, limit int) (domain.HoldResult, error) {
	rec, err := json.Marshal(h)
	if err != nil {
		return domain.HoldResult{}, fmt.Errorf("marshal hold: %w", err)
	}
	ids := h.SeatIDs()
	idsJSON, _ := json.Marshal(ids)
	e := h.EventID
	keys := make([]string, 0, 7+len(ids))
	keys = append(keys, s.SoldKey(e), s.heldKey(e), s.expiriesKey(e), s.infoKey(e), s.HoldKey(e, h.ID),
		s.userSeatsKey(e, h.UserID), s.ClosedKey(e))
	args := make([]any, 0, 8+len(ids))
	args = append(args, h.ID.String(), h.UserID, ttl.Milliseconds(), limit, rec, h.Purpose, s.Channel(e), idsJSON)
	for _, id := range ids {
		keys = append(keys, s.SeatKey(e, id))
		args = append(args, id)
	}
	// The indexes outside the event's slot are written first, in the same round trip: a
	// hold then never exists without its owner being able to find it.
	deadline := float64(time.Now().Add(ttl + indexSlack).UnixMilli())
	member := e.String() + "/" + h.ID.String()
	pipe := s.rdb.Pipeline()
	pipe.ZAdd(ctx, s.userIndexKey(h.UserID), redis.Z{Score: deadline, Member: member})
	pipe.ZAddGT(ctx, s.liveKey(), redis.Z{Score: deadline, Member: e.String()})
	res := holdScript.EvalSha(ctx, pipe, keys, args...)
	if _, err := pipe.Exec(ctx); err != nil && !redis.HasErrorPrefix(err, "NOSCRIPT") {
		return domain.HoldResult{}, fmt.Errorf("hold seats: %w", err)
	}
	out, err := res.StringSlice()
	if redis.HasErrorPrefix(err, "NOSCRIPT") {
		out, err = holdScript.Run(ctx, s.rdb, keys, args...).StringSlice()
	}
	if err != nil {
		return domain.HoldResult{}, fmt.Errorf("hold seats: %w", err)
	}
	if len(out) == 0 {
		return domain.HoldResult{}, errors.New("hold seats: empty script answer")
	}
	if out[0] != "OK" {
		_ = s.rdb.ZRem(ctx, s.userIndexKey(h.UserID), member).Err()
	}
	switch out[0] {
	case "OK":
		return domain.HoldResult{Outcome: domain.Held, CreatedAt: msTime(out[1]), ExpiresAt: msTime(out[2])}, nil
	case "TAKEN":
		return domain.HoldResult{Outcome: domain.Taken, Taken: out[1:]}, nil
	case "LIMIT":
		n, _ := strconv.Atoi(out[1])
		return domain.HoldResult{Outcome: domain.OverLimit, AlreadyHeld: n}, nil
	case "NOSOLD":
		return domain.HoldResult{Outcome: domain.SoldUnknown}, nil
	case "CLOSED":
		return domain.HoldResult{Outcome: domain.Closed}, nil
	}
	return domain.HoldResult{}, fmt.Errorf("hold seats: unexpected script answer %q", out[0])
}

func msTime(s string) time.Time {
	n, _ := strconv.ParseInt(s, 10, 64)
	return time.UnixMilli(n).UTC()
}

// LoadSold fills the event's missing sold set with the ledger's unavailable seats; a set
// that exists is left alone.
func (s *Store) LoadSold(ctx context.Context, eventID uuid.UUID, seatIDs []string) error {
	args := make([]any, 0, 1+len(seatIDs))
	args = append(args, SoldMarker)
	for _, id := range seatIDs {
		args = append(args, id)
	}
	if err := loadSoldScript.Run(ctx, s.rdb, []string{s.SoldKey(eventID)}, args...).Err(); err != nil {
		return fmt.Errorf("load sold set of %s: %w", eventID, err)
	}
	return nil
}

// LoadBuyers records each buyer's bought seats of the event (from the ledger) for the
// per-user limit. It runs before a missing sold set is rebuilt, while holds of the event
// are refused, so no hold is checked against a half-loaded set.
func (s *Store) LoadBuyers(ctx context.Context, eventID uuid.UUID, bought map[string][]string) error {
	pipe := s.rdb.Pipeline()
	for user, seats := range bought {
		key := s.userSeatsKey(eventID, user)
		zs := make([]redis.Z, len(seats))
		for i, id := range seats {
			zs[i] = redis.Z{Score: math.Inf(1), Member: id}
		}
		pipe.ZAdd(ctx, key, zs...)
		pipe.Persist(ctx, key)
	}
	if _, err := pipe.Exec(ctx); err != nil && len(bought) > 0 {
		return fmt.Errorf("load buyers of %s: %w", eventID, err)
	}
	return nil
}

// ForgetBought stops counting returned seats against the user's limit.
func (s *Store) ForgetBought(ctx context.Context, eventID uuid.UUID, userID string, seatIDs []string) error {
	if len(seatIDs) == 0 {
		return nil
	}
	args := make([]any, 0, len(seatIDs))
	for _, id := range seatIDs {
		args = append(args, id)
	}
	if err := forgetBoughtScript.Run(ctx, s.rdb, []string{s.userSeatsKey(eventID, userID)}, args...).Err(); err != nil {
		return fmt.Errorf("forget bought seats of %s: %w", userID, err)
	}
	return nil
}

// Find returns a live hold of userID by id; ok is false when the user has no such hold
// (expired, released, committed, or someone else's).
func (s *Store) Find(ctx context.Context, userID string, holdID uuid.UUID) (domain.Hold, bool, error) {
	members, err := s.rdb.ZRange(ctx, s.userIndexKey(userID), 0, -1).Result()
	if err != nil {
		return domain.Hold{}, false, fmt.Errorf("find hold: %w", err)
	}
	suffix := "/" + holdID.String()
	for _, m := range members {
		if ev, ok := strings.CutSuffix(m, suffix); ok {
			eventID, err := uuid.Parse(ev)
			if err != nil {
				continue
			}
			h, found, err := s.get(ctx, eventID, holdID)
			if err != nil || !found || h.UserID != userID {
				return domain.Hold{}, false, err
			}
			return h, true, nil
		}
	}
	return domain.Hold{}, false, nil
}

// get reads one hold record.
func (s *Store) get(ctx context.Context, eventID, holdID uuid.UUID) (domain.Hold, bool, error) {
	v, err := s.rdb.HMGet(ctx, s.HoldKey(eventID, holdID), "rec", "created", "exp").Result()
	if err != nil {
		return domain.Hold{}, false, fmt.Errorf("get hold %s: %w", holdID, err)
	}
	return decodeHold(v)
}

func decodeHold(v []any) (domain.Hold, bool, error) {
	rec, ok := v[0].(string)
	if !ok {
		return domain.Hold{}, false, nil
	}
	var h domain.Hold
	if err := json.Unmarshal([]byte(rec), &h); err != nil {
		return domain.Hold{}, false, fmt.Errorf("decode hold: %w", err)
	}
	c, _ := v[1].(string)
	x, _ := v[2].(string)
	h.CreatedAt, h.ExpiresAt = msTime(c), msTime(x)
	return h, true, nil
}

// ListUser returns the user's live holds over all events, soonest expiry first.
func (s *Store) ListUser(ctx context.Context, userID string) ([]domain.Hold, error) {
	key := s.userIndexKey(userID)
	_ = s.rdb.ZRemRangeByScore(ctx, key, "-inf", "("+strconv.FormatInt(time.Now().UnixMilli(), 10)).Err()
	members, err := s.rdb.ZRange(ctx, key, 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("list holds: %w", err)
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.SliceCmd, 0, len(members))
	for _, m := range members {
		ev, h, _ := strings.Cut(m, "/")
		eventID, err1 := uuid.Parse(ev)
		holdID, err2 := uuid.Parse(h)
		if err1 != nil || err2 != nil {
			continue
		}
		cmds = append(cmds, pipe.HMGet(ctx, s.HoldKey(eventID, holdID), "rec", "created", "exp"))
	}
	if len(cmds) == 0 {
		return []domain.Hold{}, nil
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("list holds: %w", err)
	}
	out := make([]domain.Hold, 0, len(cmds))
	for _, c := range cmds {
		h, ok, err := decodeHold(c.Val())
		if err != nil {
			return nil, err
		}
		if ok && h.UserID == userID {
			out = append(out, h)
		}
	}
	return out, nil
}

// Release drops a live hold of userID and returns it; domain.ErrHoldNotFound when there is
// none of theirs.
func (s *Store) Release(ctx context.Context, userID string, eventID, holdID uuid.UUID) (domain.Hold, error) {
	keys := []string{s.HoldKey(eventID, holdID), s.heldKey(eventID), s.expiriesKey(eventID), s.infoKey(eventID),
		s.userSeatsKey(eventID, userID)}
	out, err := releaseScript.Run(ctx, s.rdb, keys, holdID.String(), userID, s.base(eventID)+"seat:",
		s.Channel(eventID)).StringSlice()
	if err != nil {
		return domain.Hold{}, fmt.Errorf("release hold %s: %w", holdID, err)
	}
	switch out[0] {
	case "MISSING", "NOTOWNER": // another user's hold is none of theirs
		return domain.Hold{}, domain.ErrHoldNotFound
	}
	var h domain.Hold
	if err := json.Unmarshal([]byte(out[1]), &h); err != nil {
		return domain.Hold{}, fmt.Errorf("decode released hold: %w", err)
	}
	_ = s.rdb.ZRem(ctx, s.userIndexKey(userID), eventID.String()+"/"+holdID.String()).Err()
	return h, nil
}

// Extend pushes a hold's expiry to min(now + by, created + maxLifetime) and returns the
// new expiry; domain.ErrHoldMaxLifetime, with the expiry, when it is already at the cap.
func (s *Store) Extend(ctx context.Context, userID string, eventID, holdID uuid.UUID, by, maxLifetime time.Duration) (time.Time, error) {
	keys := []string{s.HoldKey(eventID, holdID), s.heldKey(eventID), s.expiriesKey(eventID), s.userSeatsKey(eventID, userID)}
	out, err := extendScript.Run(ctx, s.rdb, keys, holdID.String(), userID, s.base(eventID)+"seat:",
		by.Milliseconds(), maxLifetime.Milliseconds()).StringSlice()
	if err != nil {
		return time.Time{}, fmt.Errorf("extend hold %s: %w", holdID, err)
	}
	switch out[0] {
	case "MISSING", "NOTOWNER":
		return time.Time{}, domain.ErrHoldNotFound
	case "CAPPED":
		return msTime(out[2]), domain.ErrHoldMaxLifetime
	}
	exp := msTime(out[2])
	score := float64(exp.Add(indexSlack).UnixMilli())
	pipe := s.rdb.Pipeline()
	pipe.ZAddXX(ctx, s.userIndexKey(userID), redis.Z{Score: score, Member: eventID.String() + "/" + holdID.String()})
	pipe.ZAddGT(ctx, s.liveKey(), redis.Z{Score: score, Member: eventID.String()})
	if _, err := pipe.Exec(ctx); err != nil {
		return time.Time{}, fmt.Errorf("extend hold indexes: %w", err)
	}
	return exp, nil
}

// CommitCleanup runs after the ledger sold a hold's seats: sold set updated, hold dropped.
func (s *Store) CommitCleanup(ctx context.Context, eventID, holdID uuid.UUID, userID string, seatIDs []string) error {
	keys := []string{s.HoldKey(eventID, holdID), s.heldKey(eventID), s.expiriesKey(eventID), s.infoKey(eventID),
		s.SoldKey(eventID), s.userSeatsKey(eventID, userID)}
	args := make([]any, 0, 3+len(seatIDs))
	args = append(args, holdID.String(), s.base(eventID)+"seat:", s.Channel(eventID))
	for _, id := range seatIDs {
		args = append(args, id)
	}
	// One round trip: the script (by SHA, loaded at start) and the user index's entry,
	// which lives outside the event's slot. A flushed script cache costs a second trip.
	pipe := s.rdb.Pipeline()
	res := commitScript.EvalSha(ctx, pipe, keys, args...)
	pipe.ZRem(ctx, s.userIndexKey(userID), eventID.String()+"/"+holdID.String())
	_, _ = pipe.Exec(ctx)
	err := res.Err()
	if redis.HasErrorPrefix(err, "NOSCRIPT") {
		err = commitScript.Run(ctx, s.rdb, keys, args...).Err()
	}
	if err != nil {
		return fmt.Errorf("commit cleanup of hold %s: %w", holdID, err)
	}
	return nil
}

// Unsold takes seats out of the sold set (a cancelled booking) and tells live subscribers.
func (s *Store) Unsold(ctx context.Context, eventID uuid.UUID, change domain.Change) error {
	msg, _ := json.Marshal(change)
	args := make([]any, 0, 2+len(change.SeatIDs))
	args = append(args, s.Channel(eventID), msg)
	for _, id := range change.SeatIDs {
		args = append(args, id)
	}
	if err := unsoldScript.Run(ctx, s.rdb, []string{s.SoldKey(eventID)}, args...).Err(); err != nil {
		return fmt.Errorf("return seats to sale in redis: %w", err)
	}
	return nil
}

// Close marks a cancelled event so the hold script refuses it, whatever any cache says.
func (s *Store) Close(ctx context.Context, eventID uuid.UUID) error {
	return s.rdb.Set(ctx, s.ClosedKey(eventID), "1", 0).Err()
}

// Snapshot reads the sold set and the live held seats in one round trip. ok is false when
// the sold set is missing and must be rebuilt from the ledger first.
func (s *Store) Snapshot(ctx context.Context, eventID uuid.UUID) (domain.SeatSnapshot, bool, error) {
	now := strconv.FormatInt(time.Now().UnixMilli(), 10)
	pipe := s.rdb.Pipeline()
	sold := pipe.SMembers(ctx, s.SoldKey(eventID))
	held := pipe.ZRangeByScore(ctx, s.heldKey(eventID), &redis.ZRangeBy{Min: now, Max: "+inf"})
	if _, err := pipe.Exec(ctx); err != nil {
		return domain.SeatSnapshot{}, false, fmt.Errorf("availability snapshot: %w", err)
	}
	snap := domain.SeatSnapshot{Sold: make(map[string]struct{}, len(sold.Val())), Held: make(map[string]struct{}, len(held.Val()))}
	loaded := false
	for _, id := range sold.Val() {
		if id == SoldMarker {
			loaded = true
			continue
		}
		snap.Sold[id] = struct{}{}
	}
	for _, id := range held.Val() {
		snap.Held[id] = struct{}{}
	}
	return snap, loaded, nil
}

// LiveEvents lists events with (possibly) live holds.
func (s *Store) LiveEvents(ctx context.Context, limit int64) ([]domain.LiveEvent, error) {
	zs, err := s.rdb.ZRangeByScoreWithScores(ctx, s.liveKey(), &redis.ZRangeBy{Min: "-inf", Max: "+inf", Count: limit}).Result()
	if err != nil {
		return nil, fmt.Errorf("live events: %w", err)
	}
	out := make([]domain.LiveEvent, 0, len(zs))
	for _, z := range zs {
		m, _ := z.Member.(string)
		id, err := uuid.Parse(m)
		if err != nil {
			_ = s.rdb.ZRem(ctx, s.liveKey(), m).Err()
			continue
		}
		out = append(out, domain.LiveEvent{EventID: id, Score: z.Score})
	}
	return out, nil
}

// ClaimExpired hands this sweeper up to batch lapsed holds of the event, leased for lease.
func (s *Store) ClaimExpired(ctx context.Context, eventID uuid.UUID, batch int, lease time.Duration) ([]domain.ExpiredHold, error) {
	keys := []string{s.expiriesKey(eventID), s.expiringKey(eventID), s.infoKey(eventID), s.heldKey(eventID)}
	out, err := claimScript.Run(ctx, s.rdb, keys, batch, lease.Milliseconds(), s.Channel(eventID)).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("claim expired holds of %s: %w", eventID, err)
	}
	res := make([]domain.ExpiredHold, 0, len(out)/3)
	for i := 0; i+2 < len(out); i += 3 {
		x := domain.ExpiredHold{EventID: eventID, HoldID: out[i], ExpiredAt: time.Now().UTC()}
		if out[i+1] != "0" {
			if f, err := strconv.ParseFloat(out[i+1], 64); err == nil {
				x.ExpiredAt = time.UnixMilli(int64(f)).UTC()
			}
		}
		if out[i+2] != "" {
			var h domain.Hold
			if err := json.Unmarshal([]byte(out[i+2]), &h); err == nil {
				x.Hold = &h
			}
		}
		res = append(res, x)
	}
	return res, nil
}

// AckExpired forgets announced holds.
func (s *Store) AckExpired(ctx context.Context, eventID uuid.UUID, done []domain.ExpiredHold) error {
	if len(done) == 0 {
		return nil
	}
	ids := make([]any, len(done))
	for i, d := range done {
		ids[i] = d.HoldID
	}
	if err := ackScript.Run(ctx, s.rdb, []string{s.expiringKey(eventID), s.infoKey(eventID)}, ids...).Err(); err != nil {
		return fmt.Errorf("ack expired holds: %w", err)
	}
	pipe := s.rdb.Pipeline()
	for _, d := range done {
		if d.Hold != nil {
			pipe.ZRem(ctx, s.userIndexKey(d.Hold.UserID), eventID.String()+"/"+d.HoldID)
		}
	}
	_, err := pipe.Exec(ctx)
	return err
}

// DropIfIdle removes an event from the live index when it has no holds left and its score
// is still the one seen (see dropLiveScript).
func (s *Store) DropIfIdle(ctx context.Context, ev domain.LiveEvent) error {
	if float64(time.Now().UnixMilli()) <= ev.Score {
		return nil
	}
	pipe := s.rdb.Pipeline()
	a := pipe.ZCard(ctx, s.expiriesKey(ev.EventID))
	b := pipe.ZCard(ctx, s.expiringKey(ev.EventID))
	if _, err := pipe.Exec(ctx); err != nil {
		return err
	}
	if a.Val()+b.Val() > 0 {
		return nil
	}
	return dropLiveScript.Run(ctx, s.rdb, []string{s.liveKey()}, ev.EventID.String(),
		strconv.FormatFloat(ev.Score, 'f', -1, 64)).Err()
}
