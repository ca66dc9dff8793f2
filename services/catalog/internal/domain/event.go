package domain

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"evently.dev/libs/apperr"
)

// Event statuses: DRAFT → PUBLISHED → CANCELLED / COMPLETED.
const (
	StatusDraft     = "DRAFT"
	StatusPublished = "PUBLISHED"
	StatusCancelled = "CANCELLED"
	StatusCompleted = "COMPLETED"
)

// Defaults and bounds of an event.
const (
	DefaultHoldLimit = 8
	MaxHoldLimit     = 50
	MaxTags          = 20
)

var (
	slugRe     = regexp.MustCompile(`^[a-z0-9]+(?:-[a-z0-9]+)*$`)
	currencyRe = regexp.MustCompile(`^[A-Z]{3}$`)
)

// ValidSlug reports whether s is a lower-case slug such as "tech-conference".
func ValidSlug(s string) bool { return len(s) <= 50 && slugRe.MatchString(s) }

// ValidCurrency reports whether s looks like an ISO 4217 code (three upper-case letters).
func ValidCurrency(s string) bool { return currencyRe.MatchString(s) }

// Pricing is one section's multiplier, in thousandths.
type Pricing struct {
	SectionID uuid.UUID
	Milli     int64
}

// EventSection is a section of one event with its price and seat counts. A draft's
// sections follow its template; a published event's are frozen.
type EventSection struct {
	SectionID   uuid.UUID
	Position    int
	Code        string
	Name        string
	PriceTier   string
	RowStart    string
	RowEnd      string
	SeatsPerRow int
	RowCount    int
	Milli       int64
	Price       int64
	Capacity    int
	Sold        int
}

// Available is the number of seats not sold.
func (s EventSection) Available() int { return max(0, s.Capacity-s.Sold) }

// Shape is the part of the section seat generation needs.
func (s EventSection) Shape() SectionShape {
	return SectionShape{Code: s.Code, Name: s.Name, RowStart: s.RowStart, RowEnd: s.RowEnd, SeatsPerRow: s.SeatsPerRow}
}

// Event is a show in a venue, with prices per section.
type Event struct {
	ID               uuid.UUID
	Name             string
	Description      string
	Category         string
	Tags             []string
	VenueTemplateID  uuid.UUID
	VenueName        string
	StartsAt         time.Time
	EndsAt           time.Time
	Timezone         string
	Status           string
	BasePrice        int64
	Currency         string
	HoldLimitPerUser int
	SaleStartsAt     *time.Time
	SaleEndsAt       *time.Time
	Pricing          []Pricing
	Sections         []EventSection
	SoldTotal        int
	Version          int
	PublishedAt      *time.Time
	CancelledAt      *time.Time
	CancelReason     string
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// TotalCapacity is the number of seats of the event.
func (e Event) TotalCapacity() int {
	n := 0
	for _, s := range e.Sections {
		n += s.Capacity
	}
	return n
}

// Available is the number of seats not sold.
func (e Event) Available() int { return max(0, e.TotalCapacity()-e.SoldTotal) }

// PriceRange is the cheapest and dearest section price (0, 0 without sections).
func (e Event) PriceRange() (lo, hi int64) {
	for i, s := range e.Sections {
		if i == 0 || s.Price < lo {
			lo = s.Price
		}
		if s.Price > hi {
			hi = s.Price
		}
	}
	return lo, hi
}

// MultiplierFor returns the section's multiplier in thousandths (default 1.0).
func (e Event) MultiplierFor(id uuid.UUID) int64 {
	for _, p := range e.Pricing {
		if p.SectionID == id {
			return p.Milli
		}
	}
	return DefaultMultiplierMilli
}

// PricingInput is one section_pricing entry as sent: the multiplier keeps the JSON
// number's text so it is parsed exactly.
type PricingInput struct {
	SectionID  string
	Multiplier string
}

// EventInput is an event as the organiser sends it; nil fields are left unchanged on update.
type EventInput struct {
	Name             *string
	Description      *string
	Category         *string
	Tags             *[]string
	VenueTemplateID  *string
	DateTime         *string
	EndTime          *string
	Timezone         *string
	BasePrice        *int64
	Currency         *string
	SectionPricing   *[]PricingInput
	HoldLimitPerUser *int
	Status           *string
	SaleStartsAt     *string
	SaleEndsAt       *string
}

// ApplyEventInput validates in and applies it to e (a zero e, with creating set, for a new
// event). It does not look at the template: LayOut does that. A date_time in the past is a
// field error.
func ApplyEventInput(e *Event, in EventInput, now time.Time, creating bool) error {
	var f apperr.Fields
	applyDescription(&f, e, in, creating)
	applyVenue(&f, e, in, creating)
	applySchedule(&f, e, in, now, creating)
	applyPricing(&f, e, in, creating)
	if in.Status != nil && *in.Status != StatusDraft && *in.Status != StatusPublished {
		f.Add("status", "must be DRAFT or PUBLISHED (use the cancel endpoint to cancel)")
	}
	applySaleWindow(&f, e, in)
	return f.Err()
}

// applyDescription takes what the public pages show: name, description, category, tags.
func applyDescription(f *apperr.Fields, e *Event, in EventInput, creating bool) {
	setText(f, "name", in.Name, 200, creating || in.Name != nil, &e.Name)
	setText(f, "description", in.Description, 5000, false, &e.Description)
	if in.Category != nil {
		c := strings.TrimSpace(*in.Category)
		if c != "" && !ValidSlug(c) {
			f.Add("category", "must be a lower-case slug such as \"tech-conference\"")
		} else {
			e.Category = c
		}
	}
	if in.Tags != nil {
		tags, ok := normaliseTags(f, *in.Tags)
		if ok {
			e.Tags = tags
		}
	} else if creating {
		e.Tags = []string{}
	}
}

// setText trims a text field into dst, checking presence and length.
func setText(f *apperr.Fields, field string, p *string, maxLen int, required bool, dst *string) {
	if p == nil {
		if required {
			f.Add(field, "is required")
		}
		return
	}
	v := strings.TrimSpace(*p)
	switch {
	case required && v == "":
		f.Add(field, "is required")
	case len(v) > maxLen:
		f.Add(field, "must be at most %d characters", maxLen)
	default:
		*dst = v
	}
}

// applyVenue takes the venue template the layout will be copied from.
func applyVenue(f *apperr.Fields, e *Event, in EventInput, creating bool) {
	if in.VenueTemplateID == nil && !creating {
		return
	}
	if in.VenueTemplateID == nil || *in.VenueTemplateID == "" {
		f.Add("venue_template_id", "is required")
		return
	}
	id, err := uuid.Parse(*in.VenueTemplateID)
	if err != nil {
		f.Add("venue_template_id", "must be a UUID")
		return
	}
	e.VenueTemplateID = id
}

// applySchedule takes when the show happens: start (in the future), end (after the start)
// and the time zone it is shown in.
func applySchedule(f *apperr.Fields, e *Event, in EventInput, now time.Time, creating bool) {
	if t, ok := parseTime(f, "date_time", in.DateTime, creating); ok {
		if !t.After(now) {
			f.Add("date_time", "must be in the future")
		}
		e.StartsAt = t
	}
	if t, ok := parseTime(f, "end_time", in.EndTime, creating); ok {
		e.EndsAt = t
	}
	if !e.StartsAt.IsZero() && !e.EndsAt.IsZero() && !e.EndsAt.After(e.StartsAt) {
		f.Add("end_time", "must be after date_time")
	}
	if in.Timezone != nil {
		tz := strings.TrimSpace(*in.Timezone)
		if _, err := time.LoadLocation(tz); err != nil || tz == "" || tz == "Local" {
			f.Add("timezone", "must be an IANA time zone such as Asia/Kolkata")
		} else {
			e.Timezone = tz
		}
	} else if creating {
		e.Timezone = "UTC"
	}
}

// parseTime reads an RFC 3339 field; ok is false when it is absent or invalid.
func parseTime(f *apperr.Fields, field string, p *string, required bool) (time.Time, bool) {
	if p == nil || *p == "" {
		if required {
			f.Add(field, "is required")
		}
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, *p)
	if err != nil {
		f.Add(field, "must be an RFC 3339 time such as 2026-12-31T19:30:00Z")
		return time.Time{}, false
	}
	return t.UTC(), true
}

// applyPricing takes what a seat costs and how many one buyer may take: base price,
// currency, per-section pricing and the per-user hold limit.
func applyPricing(f *apperr.Fields, e *Event, in EventInput, creating bool) {
	if in.BasePrice != nil {
		if *in.BasePrice < 0 || *in.BasePrice > MaxBasePrice {
			f.Add("base_price", "must be between 0 and %d minor units", MaxBasePrice)
		} else {
			e.BasePrice = *in.BasePrice
		}
	} else if creating {
		f.Add("base_price", "is required")
	}
	if in.Currency != nil {
		if !ValidCurrency(*in.Currency) {
			f.Add("currency", "must be an ISO 4217 code of three upper-case letters, such as INR")
		} else {
			e.Currency = *in.Currency
		}
	} else if creating {
		f.Add("currency", "is required")
	}
	if in.SectionPricing != nil {
		e.Pricing = parsePricing(f, *in.SectionPricing)
	}
	if in.HoldLimitPerUser != nil {
		if *in.HoldLimitPerUser < 1 || *in.HoldLimitPerUser > MaxHoldLimit {
			f.Add("hold_limit_per_user", "must be between 1 and %d", MaxHoldLimit)
		} else {
			e.HoldLimitPerUser = *in.HoldLimitPerUser
		}
	} else if creating {
		e.HoldLimitPerUser = DefaultHoldLimit
	}
}

// applySaleWindow takes when tickets may be bought (both ends optional).
func applySaleWindow(f *apperr.Fields, e *Event, in EventInput) {
	if t, ok := parseTime(f, "sale_starts_at", in.SaleStartsAt, false); ok {
		e.SaleStartsAt = &t
	}
	if t, ok := parseTime(f, "sale_ends_at", in.SaleEndsAt, false); ok {
		e.SaleEndsAt = &t
	}
	if e.SaleStartsAt != nil && e.SaleEndsAt != nil && !e.SaleEndsAt.After(*e.SaleStartsAt) {
		f.Add("sale_ends_at", "must be after sale_starts_at")
	}
}

func normaliseTags(f *apperr.Fields, in []string) ([]string, bool) {
	if len(in) > MaxTags {
		f.Add("tags", "at most %d tags", MaxTags)
		return nil, false
	}
	seen := map[string]bool{}
	out := make([]string, 0, len(in))
	ok := true
	for i, t := range in {
		t = strings.TrimSpace(t)
		if !ValidSlug(t) {
			f.Add("tags["+strconv.Itoa(i)+"]", "must be a lower-case slug such as \"live-music\"")
			ok = false
			continue
		}
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out, ok
}

func parsePricing(f *apperr.Fields, in []PricingInput) []Pricing {
	out := make([]Pricing, 0, len(in))
	seen := map[uuid.UUID]bool{}
	for i, p := range in {
		prefix := "section_pricing[" + strconv.Itoa(i) + "]."
		id, err := uuid.Parse(p.SectionID)
		if err != nil {
			f.Add(prefix+"section_id", "must be the id of a section of the venue template")
			continue
		}
		if seen[id] {
			f.Add(prefix+"section_id", "appears twice")
			continue
		}
		seen[id] = true
		milli := int64(DefaultMultiplierMilli)
		if p.Multiplier != "" {
			m, err := ParseMultiplier(p.Multiplier)
			if err != nil {
				f.Add(prefix+"price_multiplier", "%s", err.Error())
				continue
			}
			milli = m
		}
		out = append(out, Pricing{SectionID: id, Milli: milli})
	}
	return out
}

// SectionsFromTemplate lays a draft out on its template: every template section becomes
// an event section priced from the event's base price and multipliers.
func SectionsFromTemplate(t Template) []EventSection {
	out := make([]EventSection, len(t.Sections))
	for i, s := range t.Sections {
		out[i] = EventSection{SectionID: s.ID, Position: s.Position, Code: s.Code, Name: s.Name, PriceTier: s.PriceTier,
			RowStart: s.RowStart, RowEnd: s.RowEnd, SeatsPerRow: s.SeatsPerRow, RowCount: s.RowCount, Capacity: s.Capacity()}
	}
	return out
}

// Reprice sets every section's multiplier and price from the base price and pricing.
// With strict set, a pricing entry for a section the event does not have is a field error;
// otherwise (a draft whose template lost a section) it is dropped.
func (e *Event) Reprice(strict bool) error {
	var f apperr.Fields
	have := map[uuid.UUID]bool{}
	for _, s := range e.Sections {
		have[s.SectionID] = true
	}
	kept := e.Pricing[:0:0]
	for i, p := range e.Pricing {
		if !have[p.SectionID] {
			if strict {
				f.Add("section_pricing["+strconv.Itoa(i)+"].section_id", "is not a section of the venue template")
			}
			continue
		}
		kept = append(kept, p)
	}
	e.Pricing = kept
	for i := range e.Sections {
		m := e.MultiplierFor(e.Sections[i].SectionID)
		e.Sections[i].Milli = m
		e.Sections[i].Price = SectionPrice(e.BasePrice, m)
	}
	return f.Err()
}

// CheckPublishable applies the publishing rules: start in the future, end after start,
// seats to sell.
func (e Event) CheckPublishable(now time.Time) error {
	var f apperr.Fields
	if !e.StartsAt.After(now) {
		f.Add("date_time", "must be in the future to publish")
	}
	if !e.EndsAt.After(e.StartsAt) {
		f.Add("end_time", "must be after date_time")
	}
	if e.TotalCapacity() == 0 {
		f.Add("venue_template_id", "the venue template has no seats")
	}
	return f.Err()
}
