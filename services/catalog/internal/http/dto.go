package http

import (
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/google/uuid"

	"evently.dev/services/catalog/internal/domain"
)

// rowLabel accepts a row label written as a JSON string ("A", "12") or integer (12).
type rowLabel string

func (r *rowLabel) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*r = rowLabel(s)
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return errors.New("a row label must be a string of letters or a positive integer")
	}
	*r = rowLabel(strconv.FormatInt(n, 10))
	return nil
}

// optString tells an absent field from an explicit null.
type optString struct {
	Set, Null bool
	V         string
}

func (o *optString) UnmarshalJSON(b []byte) error {
	o.Set = true
	if string(b) == "null" {
		o.Null = true
		return nil
	}
	if err := json.Unmarshal(b, &o.V); err != nil {
		return errors.New("must be a string or null")
	}
	return nil
}

type sectionRequest struct {
	ID          *string  `json:"id,omitempty"`
	Name        string   `json:"name"`
	RowStart    rowLabel `json:"row_start"`
	RowEnd      rowLabel `json:"row_end"`
	SeatsPerRow int      `json:"seats_per_row"`
	PriceTier   *string  `json:"price_tier,omitempty"`
}

func (s sectionRequest) toInput() (domain.SectionInput, bool) {
	in := domain.SectionInput{Name: s.Name, RowStart: string(s.RowStart), RowEnd: string(s.RowEnd), SeatsPerRow: s.SeatsPerRow}
	if s.PriceTier != nil {
		in.PriceTier = *s.PriceTier
	}
	if s.ID != nil {
		id, err := uuid.Parse(*s.ID)
		if err != nil {
			return in, false
		}
		in.ID = &id
	}
	return in, true
}

type templateRequest struct {
	Name        *string           `json:"name"`
	Description *string           `json:"description"`
	Address     *string           `json:"address"`
	LayoutType  *string           `json:"layout_type"`
	Sections    *[]sectionRequest `json:"sections"`
}

type sectionResponse struct {
	ID          string `json:"id"`
	Code        string `json:"code"`
	Name        string `json:"name"`
	RowStart    string `json:"row_start"`
	RowEnd      string `json:"row_end"`
	Rows        int    `json:"rows"`
	SeatsPerRow int    `json:"seats_per_row"`
	Capacity    int    `json:"capacity"`
	PriceTier   string `json:"price_tier"`
}

type templateResponse struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Address     string            `json:"address"`
	LayoutType  string            `json:"layout_type"`
	TotalSeats  int               `json:"total_seats"`
	Sections    []sectionResponse `json:"sections"`
	Version     int               `json:"version"`
	CreatedAt   time.Time         `json:"created_at"`
	UpdatedAt   time.Time         `json:"updated_at"`
}

func newSectionResponse(s domain.Section) sectionResponse {
	return sectionResponse{ID: s.ID.String(), Code: s.Code, Name: s.Name, RowStart: s.RowStart, RowEnd: s.RowEnd,
		Rows: s.RowCount, SeatsPerRow: s.SeatsPerRow, Capacity: s.Capacity(), PriceTier: s.PriceTier}
}

func newTemplateResponse(t domain.Template) templateResponse {
	out := templateResponse{ID: t.ID.String(), Name: t.Name, Description: t.Description, Address: t.Address,
		LayoutType: t.LayoutType, TotalSeats: t.Capacity(), Version: t.Version, CreatedAt: t.CreatedAt,
		UpdatedAt: t.UpdatedAt, Sections: make([]sectionResponse, len(t.Sections))}
	for i, s := range t.Sections {
		out.Sections[i] = newSectionResponse(s)
	}
	return out
}

type pricingRequest struct {
	SectionID       string      `json:"section_id"`
	PriceMultiplier json.Number `json:"price_multiplier"`
}

type eventRequest struct {
	Name             *string           `json:"name"`
	Description      *string           `json:"description"`
	Category         *string           `json:"category"`
	Tags             *[]string         `json:"tags"`
	VenueTemplateID  *string           `json:"venue_template_id"`
	DateTime         *string           `json:"date_time"`
	EndTime          *string           `json:"end_time"`
	Timezone         *string           `json:"timezone"`
	BasePrice        *int64            `json:"base_price"`
	Currency         *string           `json:"currency"`
	SectionPricing   *[]pricingRequest `json:"section_pricing"`
	HoldLimitPerUser *int              `json:"hold_limit_per_user"`
	Status           *string           `json:"status"`
	SaleStartsAt     *string           `json:"sale_starts_at"`
	SaleEndsAt       *string           `json:"sale_ends_at"`
}

func (r eventRequest) toInput() domain.EventInput {
	in := domain.EventInput{Name: r.Name, Description: r.Description, Category: r.Category, Tags: r.Tags,
		VenueTemplateID: r.VenueTemplateID, DateTime: r.DateTime, EndTime: r.EndTime, Timezone: r.Timezone,
		BasePrice: r.BasePrice, Currency: r.Currency, HoldLimitPerUser: r.HoldLimitPerUser, Status: r.Status,
		SaleStartsAt: r.SaleStartsAt, SaleEndsAt: r.SaleEndsAt}
	if r.SectionPricing != nil {
		ps := make([]domain.PricingInput, len(*r.SectionPricing))
		for i, p := range *r.SectionPricing {
			ps[i] = domain.PricingInput{SectionID: p.SectionID, Multiplier: p.PriceMultiplier.String()}
		}
		in.SectionPricing = &ps
	}
	return in
}

type eventSectionResponse struct {
	SectionID       string      `json:"section_id"`
	Code            string      `json:"code"`
	Name            string      `json:"name"`
	PriceTier       string      `json:"price_tier"`
	PriceMultiplier json.Number `json:"price_multiplier"`
	Price           int64       `json:"price"`
	Currency        string      `json:"currency"`
	RowStart        string      `json:"row_start"`
	RowEnd          string      `json:"row_end"`
	SeatsPerRow     int         `json:"seats_per_row"`
	Capacity        int         `json:"capacity"`
	Sold            int         `json:"sold"`
	Available       int         `json:"available"`
}

type pricingResponse struct {
	SectionID       string      `json:"section_id"`
	PriceMultiplier json.Number `json:"price_multiplier"`
}

type eventResponse struct {
	ID               string                 `json:"id"`
	Name             string                 `json:"name"`
	Description      string                 `json:"description"`
	Category         string                 `json:"category"`
	Tags             []string               `json:"tags"`
	DateTime         time.Time              `json:"date_time"`
	EndTime          time.Time              `json:"end_time"`
	Timezone         string                 `json:"timezone"`
	VenueTemplateID  string                 `json:"venue_template_id"`
	VenueName        string                 `json:"venue_name"`
	Status           string                 `json:"status"`
	BasePrice        int64                  `json:"base_price"`
	Currency         string                 `json:"currency"`
	MinPrice         int64                  `json:"min_price"`
	MaxPrice         int64                  `json:"max_price"`
	SectionPricing   []pricingResponse      `json:"section_pricing"`
	Sections         []eventSectionResponse `json:"sections"`
	TotalCapacity    int                    `json:"total_capacity"`
	BookedCount      int                    `json:"booked_count"`
	AvailableTickets int                    `json:"available_tickets"`
	HoldLimitPerUser int                    `json:"hold_limit_per_user"`
	SaleStartsAt     *time.Time             `json:"sale_starts_at,omitempty"`
	SaleEndsAt       *time.Time             `json:"sale_ends_at,omitempty"`
	PublishedAt      *time.Time             `json:"published_at,omitempty"`
	CancelledAt      *time.Time             `json:"cancelled_at,omitempty"`
	CancelReason     string                 `json:"cancel_reason,omitempty"`
	Version          int                    `json:"version"`
	CreatedAt        time.Time              `json:"created_at"`
	UpdatedAt        time.Time              `json:"updated_at"`
}

func newEventSections(e domain.Event) []eventSectionResponse {
	out := make([]eventSectionResponse, len(e.Sections))
	for i, s := range e.Sections {
		out[i] = eventSectionResponse{SectionID: s.SectionID.String(), Code: s.Code, Name: s.Name, PriceTier: s.PriceTier,
			PriceMultiplier: json.Number(domain.FormatMultiplier(s.Milli)), Price: s.Price, Currency: e.Currency,
			RowStart: s.RowStart, RowEnd: s.RowEnd, SeatsPerRow: s.SeatsPerRow, Capacity: s.Capacity, Sold: s.Sold,
			Available: s.Available()}
	}
	return out
}

func newEventResponse(e domain.Event) eventResponse {
	lo, hi := e.PriceRange()
	out := eventResponse{ID: e.ID.String(), Name: e.Name, Description: e.Description, Category: e.Category, Tags: e.Tags,
		DateTime: e.StartsAt, EndTime: e.EndsAt, Timezone: e.Timezone, VenueTemplateID: e.VenueTemplateID.String(),
		VenueName: e.VenueName, Status: e.Status, BasePrice: e.BasePrice, Currency: e.Currency, MinPrice: lo, MaxPrice: hi,
		SectionPricing: make([]pricingResponse, len(e.Pricing)), Sections: newEventSections(e),
		TotalCapacity: e.TotalCapacity(), BookedCount: e.SoldTotal, AvailableTickets: e.Available(),
		HoldLimitPerUser: e.HoldLimitPerUser, SaleStartsAt: e.SaleStartsAt, SaleEndsAt: e.SaleEndsAt,
		PublishedAt: e.PublishedAt, CancelledAt: e.CancelledAt, CancelReason: e.CancelReason, Version: e.Version,
		CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
	if out.Tags == nil {
		out.Tags = []string{}
	}
	for i, p := range e.Pricing {
		out.SectionPricing[i] = pricingResponse{SectionID: p.SectionID.String(), PriceMultiplier: json.Number(domain.FormatMultiplier(p.Milli))}
	}
	return out
}

type tierRequest struct {
	HoursBefore   *int `json:"hours_before"`
	RefundPercent *int `json:"refund_percent"`
}

type policyRequest struct {
	AllowCancellation    *bool          `json:"allow_cancellation"`
	CancellationDeadline optString      `json:"cancellation_deadline"`
	FeeType              *string        `json:"fee_type"`
	FeeAmount            *int64         `json:"fee_amount"`
	RefundTiers          *[]tierRequest `json:"refund_tiers"`
	RequiresApproval     *bool          `json:"requires_approval"`
	RefundProcessingDays *int           `json:"refund_processing_days"`
}

func (r policyRequest) toInput() domain.PolicyInput {
	in := domain.PolicyInput{AllowCancellation: r.AllowCancellation, FeeType: r.FeeType, FeeAmount: r.FeeAmount,
		RequiresApproval: r.RequiresApproval, RefundProcessingDays: r.RefundProcessingDays}
	if r.CancellationDeadline.Set {
		if r.CancellationDeadline.Null {
			in.ClearDeadline = true
		} else {
			v := r.CancellationDeadline.V
			in.CancellationDeadline = &v
		}
	}
	if r.RefundTiers != nil {
		ts := make([]domain.RefundTierInput, len(*r.RefundTiers))
		for i, t := range *r.RefundTiers {
			ts[i] = domain.RefundTierInput{HoursBefore: t.HoursBefore, RefundPercent: t.RefundPercent}
		}
		in.RefundTiers = &ts
	}
	return in
}

type tierResponse struct {
	HoursBefore   int `json:"hours_before"`
	RefundPercent int `json:"refund_percent"`
}

type policyResponse struct {
	EventID              string         `json:"event_id"`
	PolicyVersion        int            `json:"policy_version"`
	AllowCancellation    bool           `json:"allow_cancellation"`
	CancellationDeadline *time.Time     `json:"cancellation_deadline"`
	FeeType              string         `json:"fee_type"`
	FeeAmount            int64          `json:"fee_amount"`
	RefundTiers          []tierResponse `json:"refund_tiers"`
	RequiresApproval     bool           `json:"requires_approval"`
	RefundProcessingDays int            `json:"refund_processing_days"`
	UpdatedAt            time.Time      `json:"updated_at"`
}

func newPolicyResponse(p domain.Policy) policyResponse {
	out := policyResponse{EventID: p.EventID.String(), PolicyVersion: p.Version, AllowCancellation: p.AllowCancellation,
		CancellationDeadline: p.Deadline, FeeType: p.FeeType, FeeAmount: p.FeeAmount, RequiresApproval: p.RequiresApproval,
		RefundProcessingDays: p.RefundProcessingDays, UpdatedAt: p.CreatedAt, RefundTiers: make([]tierResponse, len(p.RefundTiers))}
	for i, t := range p.RefundTiers {
		out.RefundTiers[i] = tierResponse{HoursBefore: t.HoursBefore, RefundPercent: t.Percent}
	}
	return out
}

type tagRequest struct {
	Slug *string `json:"slug"`
	Name *string `json:"name"`
}

type tagResponse struct {
	ID         string    `json:"id"`
	Slug       string    `json:"slug"`
	Name       string    `json:"name"`
	EventCount int       `json:"event_count"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

func newTagResponse(t domain.Tag) tagResponse {
	return tagResponse{ID: t.ID.String(), Slug: t.Slug, Name: t.Name, EventCount: t.EventCount,
		CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
}

type cancelRequest struct {
	Reason string `json:"reason"`
}
