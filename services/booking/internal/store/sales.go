package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/uptrace/bun/dialect/pgdialect"

	"evently.dev/libs/pg"

	"evently.dev/services/booking/internal/domain"
)

// NoteSales records sales announced by inventory, a consumer batch's in one statement,
// for a later check against the bookings.
func (s *Store) NoteSales(ctx context.Context, cs []domain.Commit) error {
	if len(cs) == 0 {
		return nil
	}
	holds, users, sales, at := make([]string, len(cs)), make([]string, len(cs)), make([]string, len(cs)), make([]string, len(cs))
	for i, c := range cs {
		raw, err := json.Marshal(c)
		if err != nil {
			return wrap("note sales", err)
		}
		// Microseconds, cut as bun cuts every other time it writes: PostgreSQL would round
		// the nanoseconds instead, and a sale could land a microsecond after the same
		// instant written elsewhere.
		holds[i], users[i], sales[i] = c.HoldID.String(), c.UserID, string(raw)
		at[i] = c.CommittedAt.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano)
	}
	_, err := s.db.NewRaw(`INSERT INTO unbooked_sales (hold_id, user_id, sale, sold_at)
		SELECT x.h::uuid, x.u, x.s::jsonb, x.t::timestamptz FROM unnest(?::text[], ?::text[], ?::text[], ?::text[]) AS x(h, u, s, t)
		ON CONFLICT DO NOTHING`, pgdialect.Array(holds), pgdialect.Array(users), pgdialect.Array(sales), pgdialect.Array(at)).Exec(ctx)
	return wrap("note sales", err)
}

// SettleSales forgets, in one statement, the noted sales sold at or before olderThan whose
// booking exists: the usual case, where the request wrote it.
func (s *Store) SettleSales(ctx context.Context, olderThan time.Time) (int, error) {
	res, err := s.db.NewRaw(`DELETE FROM unbooked_sales AS u USING bookings AS b
		WHERE u.sold_at <= ? AND b.hold_id = u.hold_id AND b.user_id = u.user_id`, olderThan).Exec(ctx)
	if err != nil {
		return 0, wrap("settle sales", err)
	}
	n, err := res.RowsAffected()
	return int(n), wrap("settle sales", err)
}

// UnbookedSales reads up to limit noted sales sold at or before olderThan, oldest first.
func (s *Store) UnbookedSales(ctx context.Context, olderThan time.Time, limit int) ([]domain.Commit, error) {
	var raws []string
	err := s.db.NewRaw(`SELECT sale::text FROM unbooked_sales WHERE sold_at <= ? ORDER BY sold_at LIMIT ?`,
		olderThan, limit).Scan(ctx, &raws)
	if err != nil && !pg.IsNoRows(err) {
		return nil, wrap("unbooked sales", err)
	}
	out := make([]domain.Commit, 0, len(raws))
	for _, r := range raws {
		var c domain.Commit
		if err := json.Unmarshal([]byte(r), &c); err != nil {
			return nil, wrap("unbooked sales", err)
		}
		out = append(out, c)
	}
	return out, nil
}

// ForgetSale drops a noted sale once its booking is written.
func (s *Store) ForgetSale(ctx context.Context, c domain.Commit) error {
	_, err := s.db.NewRaw(`DELETE FROM unbooked_sales WHERE hold_id = ? AND user_id = ?`, c.HoldID, c.UserID).Exec(ctx)
	return wrap("forget sale", err)
}
