package refund

import (
	"errors"
	"testing"
	"time"
)

func TestCompute(t *testing.T) {
	start := time.Date(2027, 6, 1, 20, 0, 0, 0, time.UTC)
	deadline := start.Add(-24 * time.Hour)
	tiers := []Tier{{HoursBefore: 168, Percent: 100}, {HoursBefore: 48, Percent: 50}, {HoursBefore: 24, Percent: 25}}
	hours := func(h int) time.Time { return start.Add(-time.Duration(h) * time.Hour) }
	type want struct {
		pct                int
		gross, fee, refund int64
		err                error
	}
	cases := []struct {
		name  string
		p     *Policy
		total int64
		now   time.Time
		want  want
	}{
		{"no policy refunds everything", nil, 10000, hours(1), want{100, 10000, 0, 10000, nil}},
		{"no policy still refuses after the start", nil, 10000, start, want{err: ErrEventStarted}},
		{"not allowed", &Policy{AllowCancellation: false}, 10000, hours(500), want{err: ErrNotAllowed}},
		{"exactly at the deadline is allowed", &Policy{AllowCancellation: true, Deadline: &deadline}, 10000, deadline,
			want{100, 10000, 0, 10000, nil}},
		{"one second after the deadline is refused", &Policy{AllowCancellation: true, Deadline: &deadline}, 10000,
			deadline.Add(time.Second), want{err: ErrDeadlinePassed}},
		{"one second before the start without tiers", &Policy{AllowCancellation: true}, 10000, start.Add(-time.Second),
			want{100, 10000, 0, 10000, nil}},
		{"exactly at the start", &Policy{AllowCancellation: true}, 10000, start, want{err: ErrEventStarted}},
		{"top tier reached exactly", &Policy{AllowCancellation: true, Tiers: tiers}, 10000, hours(168),
			want{100, 10000, 0, 10000, nil}},
		{"one second short of the top tier", &Policy{AllowCancellation: true, Tiers: tiers}, 10000,
			hours(168).Add(time.Second), want{50, 5000, 0, 5000, nil}},
		{"middle tier", &Policy{AllowCancellation: true, Tiers: tiers}, 10000, hours(100), want{50, 5000, 0, 5000, nil}},
		{"lowest tier exactly", &Policy{AllowCancellation: true, Tiers: tiers}, 10000, hours(24), want{25, 2500, 0, 2500, nil}},
		{"tiers but none reached is 0 %", &Policy{AllowCancellation: true, Tiers: tiers}, 10000,
			hours(24).Add(time.Second), want{0, 0, 0, 0, nil}},
		{"tier order does not matter", &Policy{AllowCancellation: true,
			Tiers: []Tier{{24, 25}, {168, 100}, {48, 50}}}, 10000, hours(50), want{50, 5000, 0, 5000, nil}},
		{"zero-hour tier applies until the start", &Policy{AllowCancellation: true, Tiers: []Tier{{0, 10}}}, 999,
			start.Add(-time.Second), want{10, 99, 0, 99, nil}},
		{"fixed fee", &Policy{AllowCancellation: true, FeeType: FeeFixed, FeeAmount: 750}, 10000, hours(10),
			want{100, 10000, 750, 9250, nil}},
		{"fixed fee larger than the total", &Policy{AllowCancellation: true, FeeType: FeeFixed, FeeAmount: 50000}, 10000,
			hours(10), want{100, 10000, 10000, 0, nil}},
		{"fixed fee larger than a partial refund", &Policy{AllowCancellation: true, FeeType: FeeFixed, FeeAmount: 3000,
			Tiers: tiers}, 10000, hours(30), want{25, 2500, 2500, 0, nil}},
		{"fee with 0 % refund keeps nothing extra", &Policy{AllowCancellation: true, FeeType: FeeFixed, FeeAmount: 500,
			Tiers: tiers}, 10000, hours(1), want{0, 0, 0, 0, nil}},
		{"percentage fee", &Policy{AllowCancellation: true, FeeType: FeePercentage, FeeAmount: 10}, 10000, hours(10),
			want{100, 10000, 1000, 9000, nil}},
		{"100 % fee", &Policy{AllowCancellation: true, FeeType: FeePercentage, FeeAmount: 100}, 10000, hours(10),
			want{100, 10000, 10000, 0, nil}},
		{"percentage fee over 100 is capped", &Policy{AllowCancellation: true, FeeType: FeePercentage, FeeAmount: 250},
			10000, hours(10), want{100, 10000, 10000, 0, nil}},
		{"percentage fee on a partial refund is capped at it", &Policy{AllowCancellation: true, FeeType: FeePercentage,
			FeeAmount: 30, Tiers: tiers}, 10000, hours(30), want{25, 2500, 2500, 0, nil}},
		{"NONE ignores a stray amount", &Policy{AllowCancellation: true, FeeType: FeeNone, FeeAmount: 99}, 10000, hours(10),
			want{100, 10000, 0, 10000, nil}},
		{"rounding floors the refund", &Policy{AllowCancellation: true, Tiers: []Tier{{0, 33}}}, 1001, hours(1),
			want{33, 330, 0, 330, nil}}, // exact 330.33
		{"rounding floors the percentage fee", &Policy{AllowCancellation: true, FeeType: FeePercentage, FeeAmount: 15},
			999, hours(1), want{100, 999, 149, 850, nil}}, // exact fee 149.85
		{"odd amount at 50 %", &Policy{AllowCancellation: true, Tiers: []Tier{{0, 50}}}, 1, hours(1), want{50, 0, 0, 0, nil}},
		{"zero total", &Policy{AllowCancellation: true, FeeType: FeeFixed, FeeAmount: 100}, 0, hours(1), want{100, 0, 0, 0, nil}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q, err := Compute(c.p, c.total, start, c.now)
			if c.want.err != nil {
				if !errors.Is(err, c.want.err) {
					t.Fatalf("err = %v, want %v", err, c.want.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if q.Percent != c.want.pct || q.Gross != c.want.gross || q.Fee != c.want.fee || q.Refund != c.want.refund {
				t.Fatalf("got pct=%d gross=%d fee=%d refund=%d, want pct=%d gross=%d fee=%d refund=%d",
					q.Percent, q.Gross, q.Fee, q.Refund, c.want.pct, c.want.gross, c.want.fee, c.want.refund)
			}
			if q.Refund+q.Fee != q.Gross || q.Refund < 0 || q.Gross > c.total {
				t.Fatalf("inconsistent quote %+v for total %d", q, c.total)
			}
		})
	}
}

func TestComputeCarriesPolicyFacts(t *testing.T) {
	start := time.Now().Add(48 * time.Hour)
	q, err := Compute(&Policy{Version: 3, AllowCancellation: true, RequiresApproval: true}, 100, start, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if q.PolicyVersion != 3 || !q.RequiresApproval {
		t.Fatalf("quote %+v lost the policy version or approval flag", q)
	}
}

func TestFull(t *testing.T) {
	for _, total := range []int64{0, 1, 12345} {
		if q := Full(total); q.Refund != total || q.Fee != 0 || q.Percent != 100 || q.RequiresApproval {
			t.Errorf("Full(%d) = %+v", total, q)
		}
	}
}

// FuzzCompute checks the invariants for any policy and total: refund and fee are never
// negative, never exceed the total, and add up to the gross refund.
func FuzzCompute(f *testing.F) {
	f.Add(int64(10000), 50, 24, int64(500), 1, int64(30*3600))
	f.Add(int64(1), 100, 0, int64(100), 2, int64(1))
	f.Fuzz(func(t *testing.T, total int64, pct, hours int, fee int64, feeType int, secsLeft int64) {
		if total < 0 || total > 1<<50 || secsLeft <= 0 || secsLeft > 1<<40 || hours < 0 || hours > 1<<20 {
			return
		}
		types := []string{FeeNone, FeeFixed, FeePercentage}
		p := &Policy{AllowCancellation: true, Tiers: []Tier{{hours, pct}},
			FeeType: types[((feeType%3)+3)%3], FeeAmount: fee}
		start := time.Unix(1<<40, 0)
		q, err := Compute(p, total, start, start.Add(-time.Duration(secsLeft)*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if q.Refund < 0 || q.Fee < 0 || q.Refund+q.Fee != q.Gross || q.Gross > total {
			t.Fatalf("bad quote %+v for total %d", q, total)
		}
	})
}
