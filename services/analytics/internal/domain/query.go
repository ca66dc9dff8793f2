package domain

import (
	"strings"
	"time"

	"evently.dev/libs/apperr"
)

// GroupBy is how a revenue report groups its rows.
type GroupBy string

// Revenue report groupings.
const (
	GroupByDay      GroupBy = "day"
	GroupByWeek     GroupBy = "week"
	GroupByMonth    GroupBy = "month"
	GroupByEvent    GroupBy = "event"
	GroupByCategory GroupBy = "category"
)

// PopularBy is what ranks popular events.
type PopularBy string

// Popular-event rankings.
const (
	PopularBySeatsSold PopularBy = "seats_sold"
	PopularByRevenue   PopularBy = "revenue"
	PopularByFillRate  PopularBy = "fill_rate"
	PopularByWaitlist  PopularBy = "waitlist"
)

// MaxRangeDays caps a revenue report's range (about three years), so one request cannot
// ask for an unbounded scan.
const MaxRangeDays = 3*366 + 1

// DefaultRangeDays is the range of a revenue report that names neither end.
const DefaultRangeDays = 30

// RevenueQuery is a validated revenue report request: whole days From..To (inclusive) in
// the reporting time zone.
type RevenueQuery struct {
	From, To time.Time
	GroupBy  GroupBy
	Currency string
}

// ParseRevenueQuery validates a revenue report's parameters. Dates are YYYY-MM-DD or
// RFC 3339; an RFC 3339 time counts as its calendar day in loc, because reports are
// aggregated per day. Missing ends default to the last DefaultRangeDays days up to today.
func ParseRevenueQuery(from, to, groupBy, currency string, loc *time.Location, now time.Time) (RevenueQuery, error) {
	var f apperr.Fields
	q := RevenueQuery{GroupBy: GroupByDay, Currency: strings.ToUpper(strings.TrimSpace(currency))}
	switch g := GroupBy(groupBy); g {
	case "":
	case GroupByDay, GroupByWeek, GroupByMonth, GroupByEvent, GroupByCategory:
		q.GroupBy = g
	default:
		f.Add("group_by", "must be one of day, week, month, event, category")
	}
	if q.Currency != "" && !validCurrency(q.Currency) {
		f.Add("currency", "must be a three-letter ISO 4217 code")
	}
	var okFrom, okTo bool
	q.To, okTo = Day(now, loc), true
	if to != "" {
		q.To, okTo = parseDay(to, loc)
		if !okTo {
			f.Add("to", "must be a date (YYYY-MM-DD) or an RFC 3339 time")
		}
	}
	q.From, okFrom = q.To.AddDate(0, 0, -(DefaultRangeDays-1)), true
	if from != "" {
		q.From, okFrom = parseDay(from, loc)
		if !okFrom {
			f.Add("from", "must be a date (YYYY-MM-DD) or an RFC 3339 time")
		}
	}
	if okFrom && okTo {
		switch days := int(q.To.Sub(q.From).Hours()/24) + 1; {
		case q.From.After(q.To):
			f.Add("from", "must not be after to")
		case days > MaxRangeDays:
			f.Add("to", "the range may span at most %d days", MaxRangeDays)
		}
	}
	return q, f.BadRequest()
}

func parseDay(s string, loc *time.Location) (time.Time, bool) {
	if d, err := time.Parse(DateLayout, s); err == nil {
		return d, true
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return Day(t, loc), true
	}
	return time.Time{}, false
}

func validCurrency(c string) bool {
	if len(c) != 3 {
		return false
	}
	for _, r := range c {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

// ParsePopularBy validates a popular-events ranking (default seats_sold).
func ParsePopularBy(s string) (PopularBy, error) {
	switch b := PopularBy(s); b {
	case "":
		return PopularBySeatsSold, nil
	case PopularBySeatsSold, PopularByRevenue, PopularByFillRate, PopularByWaitlist:
		return b, nil
	}
	var f apperr.Fields
	f.Add("by", "must be one of seats_sold, revenue, fill_rate, waitlist")
	return "", f.BadRequest()
}

// ParseCurrency validates an optional currency filter.
func ParseCurrency(s string) (string, error) {
	c := strings.ToUpper(strings.TrimSpace(s))
	if c == "" || validCurrency(c) {
		return c, nil
	}
	var f apperr.Fields
	f.Add("currency", "must be a three-letter ISO 4217 code")
	return "", f.BadRequest()
}
