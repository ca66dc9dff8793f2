package app

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"evently.dev/services/catalog/internal/domain"
)

func TestPublishedEventCarriesLayoutPricesAndPolicy(t *testing.T) {
	published := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	e := domain.Event{ID: uuid.Must(uuid.NewV7()), Name: "Show", Category: "music", VenueTemplateID: uuid.Must(uuid.NewV7()),
		VenueName: "Hall", StartsAt: published.Add(48 * time.Hour), EndsAt: published.Add(50 * time.Hour), Timezone: "UTC",
		Currency: "EUR", HoldLimitPerUser: 6, Version: 3, PublishedAt: &published,
		Sections: []domain.EventSection{
			{SectionID: uuid.Must(uuid.NewV7()), Code: "A", Name: "Stalls", RowStart: "A", RowEnd: "C", SeatsPerRow: 10,
				RowCount: 3, Price: 5000, Capacity: 30},
			{SectionID: uuid.Must(uuid.NewV7()), Code: "B", Name: "Circle", RowStart: "A", RowEnd: "B", SeatsPerRow: 8,
				RowCount: 2, Price: 3000, Capacity: 16},
		}}
	p := domain.Policy{EventID: e.ID, Version: 2, AllowCancellation: true, FeeType: "FIXED", FeeAmount: 100,
		RefundTiers: []domain.RefundTier{{HoursBefore: 24, Percent: 50}}}

	msg, err := publishedEvent(e, &p)
	if err != nil {
		t.Fatal(err)
	}
	if msg.EventID != e.ID.String() || msg.Version != 3 || !msg.PublishedAt.Equal(published) || msg.Currency != "EUR" {
		t.Fatalf("published = %+v", msg)
	}
	if msg.Tags == nil {
		t.Fatal("tags must be an empty list, not null")
	}
	if len(msg.Sections) != 2 || msg.Sections[1].Price != 3000 || msg.Sections[1].SectionID != e.Sections[1].SectionID.String() {
		t.Fatalf("sections = %+v", msg.Sections)
	}
	for i, sec := range msg.Sections {
		seats := 0
		for _, r := range sec.Rows {
			seats += r.Last - r.First + 1
		}
		if seats != e.Sections[i].Capacity {
			t.Fatalf("section %s lays out %d seats, want %d", sec.Code, seats, e.Sections[i].Capacity)
		}
	}
	if msg.Policy == nil || msg.Policy.PolicyVersion != 2 || len(msg.Policy.RefundTiers) != 1 || msg.Policy.RefundTiers[0].RefundPercent != 50 {
		t.Fatalf("policy = %+v", msg.Policy)
	}
	if noPolicy, err := publishedEvent(e, nil); err != nil || noPolicy.Policy != nil {
		t.Fatalf("without a policy: %+v, %v", noPolicy.Policy, err)
	}
}

func TestUpdatedAndCancelledEvents(t *testing.T) {
	e := domain.Event{ID: uuid.Must(uuid.NewV7()), Name: "Show", Status: domain.StatusPublished, Version: 4,
		Sections: []domain.EventSection{{SectionID: uuid.Must(uuid.NewV7()), Price: 7000}}}
	u := updatedEvent(e)
	if u.Version != 4 || len(u.Prices) != 1 || u.Prices[0].Price != 7000 || u.Prices[0].SectionID != e.Sections[0].SectionID.String() {
		t.Fatalf("updated = %+v", u)
	}
	at := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	e.CancelledAt, e.CancelReason = &at, "venue flooded"
	c := cancelledEvent(e)
	if !c.CancelledAt.Equal(at) || c.Reason != "venue flooded" || c.EventID != e.ID.String() {
		t.Fatalf("cancelled = %+v", c)
	}
}
