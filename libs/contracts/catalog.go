package contracts

import (
	"fmt"
	"time"
)

// Catalog event types, on TopicCatalogEvents keyed by event id.
const (
	TypeEventPublished = "evently.catalog.event.published.v1"
	TypeEventUpdated   = "evently.catalog.event.updated.v1"
	TypeEventCancelled = "evently.catalog.event.cancelled.v1"
	TypePolicyUpdated  = "evently.catalog.policy.updated.v1"
)

// SeatID is the one rule that turns a section code, row label and seat number into the
// stable seat id (e.g. "A-R3-S12"); catalog and inventory must agree on it.
func SeatID(sectionCode, row string, number int) string {
	return fmt.Sprintf("%s-R%s-S%d", sectionCode, row, number)
}

// EventPublished freezes an event's layout and prices. The layout is compact — rows with
// seat ranges and drawing offsets, not one entry per seat — so a 50,000-seat stadium stays
// far below Kafka's 1 MB message limit.
type EventPublished struct {
	EventID          string          `json:"event_id"`
	Name             string          `json:"name"`
	Category         string          `json:"category"`
	Tags             []string        `json:"tags"`
	VenueTemplateID  string          `json:"venue_template_id"`
	VenueName        string          `json:"venue_name"`
	StartsAt         time.Time       `json:"starts_at"`
	EndsAt           time.Time       `json:"ends_at"`
	Timezone         string          `json:"timezone,omitempty"`
	Currency         string          `json:"currency"`
	HoldLimitPerUser int             `json:"hold_limit_per_user"`
	SaleStartsAt     *time.Time      `json:"sale_starts_at,omitempty"`
	SaleEndsAt       *time.Time      `json:"sale_ends_at,omitempty"`
	Sections         []LayoutSection `json:"sections"`
	Policy           *PolicySnapshot `json:"policy,omitempty"`
	PublishedAt      time.Time       `json:"published_at"`
	Version          int             `json:"version"`
}

// LayoutSection is one priced section of a published event.
type LayoutSection struct {
	SectionID string      `json:"section_id"`
	Code      string      `json:"code"`
	Name      string      `json:"name"`
	PriceTier string      `json:"price_tier,omitempty"`
	Price     int64       `json:"price"`
	Capacity  int         `json:"capacity"`
	Rows      []LayoutRow `json:"rows"`
}

// LayoutRow is a run of seats numbered First..Last in one row; seat n is drawn at
// (X0 + (n-First)*DX, Y).
type LayoutRow struct {
	Label string  `json:"label"`
	First int     `json:"first"`
	Last  int     `json:"last"`
	Y     float64 `json:"y"`
	X0    float64 `json:"x0"`
	DX    float64 `json:"dx"`
}

// EventUpdated carries what may change after publishing: text, times, unsold-seat prices
// and the hold limit. The layout never changes once published.
type EventUpdated struct {
	EventID          string         `json:"event_id"`
	Name             string         `json:"name"`
	Status           string         `json:"status"`
	StartsAt         time.Time      `json:"starts_at"`
	EndsAt           time.Time      `json:"ends_at"`
	Currency         string         `json:"currency"`
	HoldLimitPerUser int            `json:"hold_limit_per_user"`
	Prices           []SectionPrice `json:"prices"`
	UpdatedAt        time.Time      `json:"updated_at"`
	Version          int            `json:"version"`
}

// SectionPrice is one section's price in minor units.
type SectionPrice struct {
	SectionID string `json:"section_id"`
	Price     int64  `json:"price"`
}

// EventCancelled tells every service to stop selling, release and refund.
type EventCancelled struct {
	EventID     string    `json:"event_id"`
	Reason      string    `json:"reason,omitempty"`
	CancelledAt time.Time `json:"cancelled_at"`
}

// PolicyUpdated announces a new version of an event's cancellation policy. It is sent
// for drafts too, so booking knows the terms before the first sale.
type PolicyUpdated struct {
	EventID string `json:"event_id"`
	PolicySnapshot
	UpdatedAt time.Time `json:"updated_at"`
}

// PolicySnapshot is one version of a cancellation policy (API.md's fields).
type PolicySnapshot struct {
	PolicyVersion        int          `json:"policy_version"`
	AllowCancellation    bool         `json:"allow_cancellation"`
	CancellationDeadline *time.Time   `json:"cancellation_deadline,omitempty"`
	FeeType              string       `json:"fee_type"`
	FeeAmount            int64        `json:"fee_amount"`
	RefundTiers          []RefundTier `json:"refund_tiers"`
	RequiresApproval     bool         `json:"requires_approval"`
	RefundProcessingDays int          `json:"refund_processing_days"`
}

// RefundTier refunds RefundPercent when cancelled at least HoursBefore the start.
type RefundTier struct {
	HoursBefore   int `json:"hours_before"`
	RefundPercent int `json:"refund_percent"`
}
