package app

// The catalog's state mapped to the contracts it publishes on evently.catalog.events.v1:
// pure functions, so the use cases need no adapter to build their events.

import (
	"time"

	"evently.dev/libs/contracts"

	"evently.dev/services/catalog/internal/domain"
)

// publishedEvent is event.published: the frozen layout (rows with seat ranges), prices and the
// current policy.
func publishedEvent(e domain.Event, p *domain.Policy) (contracts.EventPublished, error) {
	shapes := make([]domain.SectionShape, len(e.Sections))
	for i, s := range e.Sections {
		shapes[i] = s.Shape()
	}
	rows, err := domain.LayoutRows(shapes)
	if err != nil {
		return contracts.EventPublished{}, err
	}
	out := contracts.EventPublished{EventID: e.ID.String(), Name: e.Name, Category: e.Category, Tags: e.Tags,
		VenueTemplateID: e.VenueTemplateID.String(), VenueName: e.VenueName, StartsAt: e.StartsAt, EndsAt: e.EndsAt,
		Timezone: e.Timezone, Currency: e.Currency, HoldLimitPerUser: e.HoldLimitPerUser,
		SaleStartsAt: e.SaleStartsAt, SaleEndsAt: e.SaleEndsAt, Sections: make([]contracts.LayoutSection, len(e.Sections)),
		Version: e.Version}
	if out.Tags == nil {
		out.Tags = []string{}
	}
	if e.PublishedAt != nil {
		out.PublishedAt = *e.PublishedAt
	}
	for i, s := range e.Sections {
		out.Sections[i] = contracts.LayoutSection{SectionID: s.SectionID.String(), Code: s.Code, Name: s.Name,
			PriceTier: s.PriceTier, Price: s.Price, Capacity: s.Capacity, Rows: rows[i]}
	}
	if p != nil {
		snap := policySnapshot(*p)
		out.Policy = &snap
	}
	return out, nil
}

// updatedEvent is event.updated: what may change after publishing.
func updatedEvent(e domain.Event) contracts.EventUpdated {
	out := contracts.EventUpdated{EventID: e.ID.String(), Name: e.Name, Status: e.Status, StartsAt: e.StartsAt,
		EndsAt: e.EndsAt, Currency: e.Currency, HoldLimitPerUser: e.HoldLimitPerUser, UpdatedAt: e.UpdatedAt,
		Version: e.Version, Prices: make([]contracts.SectionPrice, len(e.Sections))}
	for i, s := range e.Sections {
		out.Prices[i] = contracts.SectionPrice{SectionID: s.SectionID.String(), Price: s.Price}
	}
	return out
}

// cancelledEvent is event.cancelled.
func cancelledEvent(e domain.Event) contracts.EventCancelled {
	at := time.Now().UTC()
	if e.CancelledAt != nil {
		at = *e.CancelledAt
	}
	return contracts.EventCancelled{EventID: e.ID.String(), Reason: e.CancelReason, CancelledAt: at}
}

// policySnapshot renders one policy version as the contract carries it.
func policySnapshot(p domain.Policy) contracts.PolicySnapshot {
	s := contracts.PolicySnapshot{PolicyVersion: p.Version, AllowCancellation: p.AllowCancellation,
		CancellationDeadline: p.Deadline, FeeType: p.FeeType, FeeAmount: p.FeeAmount,
		RequiresApproval: p.RequiresApproval, RefundProcessingDays: p.RefundProcessingDays,
		RefundTiers: make([]contracts.RefundTier, len(p.RefundTiers))}
	for i, t := range p.RefundTiers {
		s.RefundTiers[i] = contracts.RefundTier{HoursBefore: t.HoursBefore, RefundPercent: t.Percent}
	}
	return s
}

// policyUpdatedEvent is policy.updated.
func policyUpdatedEvent(p domain.Policy) contracts.PolicyUpdated {
	return contracts.PolicyUpdated{EventID: p.EventID.String(), PolicySnapshot: policySnapshot(p), UpdatedAt: p.CreatedAt}
}
