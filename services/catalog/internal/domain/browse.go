package domain

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"evently.dev/libs/apperr"
)

// Sort orders of an event listing.
const (
	SortDate      = "date"
	SortDateDesc  = "-date"
	SortPrice     = "price"
	SortPriceDesc = "-price"
	SortName      = "name"
	SortNameDesc  = "-name"
)

// Filter selects and orders events for a listing.
type Filter struct {
	Q             string
	Category      string
	Tags          []string
	TemplateID    *uuid.UUID
	From, To      *time.Time
	MinPrice      *int64
	MaxPrice      *int64
	Statuses      []string
	AvailableOnly bool
	UpcomingAfter *time.Time
	Sort          string
	Limit, Offset int
}

// Key is a canonical rendering of every field, for cache keys.
func (f Filter) Key() string {
	var b strings.Builder
	w := func(k, v string) { b.WriteString(k + "=" + v + "&") }
	w("q", f.Q)
	w("c", f.Category)
	w("t", strings.Join(f.Tags, ","))
	if f.TemplateID != nil {
		w("v", f.TemplateID.String())
	}
	tm := func(k string, t *time.Time) {
		if t != nil {
			w(k, t.UTC().Format(time.RFC3339Nano))
		}
	}
	tm("from", f.From)
	tm("to", f.To)
	tm("up", f.UpcomingAfter)
	if f.MinPrice != nil {
		w("min", strconv.FormatInt(*f.MinPrice, 10))
	}
	if f.MaxPrice != nil {
		w("max", strconv.FormatInt(*f.MaxPrice, 10))
	}
	w("s", strings.Join(f.Statuses, ","))
	w("a", strconv.FormatBool(f.AvailableOnly))
	w("o", f.Sort)
	w("l", strconv.Itoa(f.Limit))
	w("off", strconv.Itoa(f.Offset))
	return b.String()
}

// ValidSearchText reports whether a search string is plain text: valid UTF-8 without NUL
// or other control characters, which PostgreSQL refuses in text and would turn into a 500.
func ValidSearchText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// ParseFilter reads a listing's query parameters (get returns "" for an absent one).
// Every problem is a 400 with field errors. Non-admins see PUBLISHED events only and may
// not ask for other statuses. limit and offset are read by the caller.
func ParseFilter(get func(string) string, admin bool) (Filter, error) {
	var f apperr.Fields
	out := Filter{Sort: SortDate}
	out.Q = strings.TrimSpace(get("q"))
	if len(out.Q) > 200 {
		f.Add("q", "must be at most 200 characters")
	} else if !ValidSearchText(out.Q) {
		f.Add("q", "must be UTF-8 text without control characters")
	}
	if c := strings.TrimSpace(get("category")); c != "" {
		if !ValidSlug(c) {
			f.Add("category", "must be a lower-case slug")
		}
		out.Category = c
	}
	if t := strings.TrimSpace(get("tags")); t != "" {
		for _, s := range strings.Split(t, ",") {
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			if !ValidSlug(s) {
				f.Add("tags", "must be a comma-separated list of lower-case slugs")
				break
			}
			out.Tags = append(out.Tags, s)
		}
		if len(out.Tags) > MaxTags {
			f.Add("tags", "at most %d tags", MaxTags)
		}
	}
	if v := get("venue_template_id"); v != "" {
		id, err := uuid.Parse(v)
		if err != nil {
			f.Add("venue_template_id", "must be a UUID")
		} else {
			out.TemplateID = &id
		}
	}
	out.From = parseDateParam(&f, "date_from", get("date_from"), false)
	out.To = parseDateParam(&f, "date_to", get("date_to"), true)
	if out.From != nil && out.To != nil && out.To.Before(*out.From) {
		f.Add("date_to", "must not be before date_from")
	}
	out.MinPrice = parseMoneyParam(&f, "min_price", get("min_price"))
	out.MaxPrice = parseMoneyParam(&f, "max_price", get("max_price"))
	if out.MinPrice != nil && out.MaxPrice != nil && *out.MaxPrice < *out.MinPrice {
		f.Add("max_price", "must not be below min_price")
	}
	if s := strings.TrimSpace(get("status")); s != "" {
		for _, st := range strings.Split(strings.ToUpper(s), ",") {
			st = strings.TrimSpace(st)
			switch st {
			case StatusDraft, StatusPublished, StatusCancelled, StatusCompleted:
				if !admin && st != StatusPublished {
					f.Add("status", "only PUBLISHED events are listed publicly")
				}
				out.Statuses = append(out.Statuses, st)
			default:
				f.Add("status", "must be DRAFT, PUBLISHED, CANCELLED or COMPLETED (comma-separated)")
			}
		}
	}
	if !admin {
		out.Statuses = []string{StatusPublished}
	}
	if s := get("available_only"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			f.Add("available_only", "must be true or false")
		}
		out.AvailableOnly = b
	}
	if s := get("sort"); s != "" {
		switch s {
		case SortDate, SortDateDesc, SortPrice, SortPriceDesc, SortName, SortNameDesc:
			out.Sort = s
		default:
			f.Add("sort", "must be one of date, -date, price, -price, name, -name")
		}
	}
	return out, f.BadRequest()
}

// parseDateParam accepts RFC 3339 or YYYY-MM-DD; a bare date_to means the end of that day.
func parseDateParam(f *apperr.Fields, field, s string, endOfDay bool) *time.Time {
	if s == "" {
		return nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		t = t.UTC()
		return &t
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		f.Add(field, "must be a date (YYYY-MM-DD) or an RFC 3339 time")
		return nil
	}
	if endOfDay {
		t = t.Add(24*time.Hour - time.Nanosecond)
	}
	return &t
}

func parseMoneyParam(f *apperr.Fields, field, s string) *int64 {
	if s == "" {
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		f.Add(field, "must be a non-negative integer in minor units")
		return nil
	}
	return &n
}

// SearchTerms turns free text into prefix-matching full-text terms: letters and digits
// only, so the text can never break the tsquery syntax.
func SearchTerms(q string) []string {
	words := strings.FieldsFunc(strings.ToLower(q), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	if len(words) > 10 {
		words = words[:10]
	}
	return words
}
