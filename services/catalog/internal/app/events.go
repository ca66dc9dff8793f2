package app

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"evently.dev/libs/apperr"
	"evently.dev/libs/assertion"
	"evently.dev/libs/contracts"

	"evently.dev/services/catalog/internal/domain"
)

// CreateEvent validates and stores a new event, DRAFT unless status PUBLISHED was asked
// for, in which case it is published (and announced) in the same transaction.
func (a *Catalog) CreateEvent(ctx context.Context, in domain.EventInput) (domain.Event, error) {
	now := a.now()
	e := domain.Event{Status: domain.StatusDraft}
	if err := domain.ApplyEventInput(&e, in, now, true); err != nil {
		return e, err
	}
	e.ID, e.Version, e.CreatedAt, e.UpdatedAt = uuid.Must(uuid.NewV7()), 1, now, now
	publish := in.Status != nil && *in.Status == domain.StatusPublished
	err := a.store.InTx(ctx, func(ctx context.Context, tx domain.Tx) error {
		t, err := tx.GetTemplate(ctx, e.VenueTemplateID)
		if errors.Is(err, domain.ErrTemplateNotFound) {
			return apperr.Fields{{Field: "venue_template_id", Message: "no venue template has this id"}}.Err()
		} else if err != nil {
			return err
		}
		e.VenueName = t.Name
		e.Sections = domain.SectionsFromTemplate(t)
		if err := e.Reprice(true); err != nil {
			return err
		}
		if publish {
			if err := e.CheckPublishable(now); err != nil {
				return err
			}
			e.Status, e.PublishedAt = domain.StatusPublished, &now
		}
		if err := tx.InsertEvent(ctx, e); err != nil {
			return err
		}
		if publish {
			return a.announcePublished(ctx, tx, e)
		}
		return nil
	})
	if err != nil {
		return domain.Event{}, err
	}
	a.cache.Invalidate(ctx)
	return e, nil
}

func (a *Catalog) announcePublished(ctx context.Context, tx domain.Tx, e domain.Event) error {
	var policy *domain.Policy
	p, err := tx.CurrentPolicy(ctx, e.ID)
	switch {
	case err == nil:
		policy = &p
	case !errors.Is(err, domain.ErrPolicyNotFound):
		return err
	}
	msg, err := publishedEvent(e, policy)
	if err != nil {
		return err
	}
	return tx.Publish(ctx, contracts.TypeEventPublished, e.ID.String(), msg)
}

// GetEvent returns an event. Callers who are not admins see no drafts; their answers
// come from the cache.
func (a *Catalog) GetEvent(ctx context.Context, id uuid.UUID) (domain.Event, error) {
	if isAdmin(ctx) {
		return a.store.GetEvent(ctx, id)
	}
	return a.cache.Event(ctx, "event:"+id.String(), func() (domain.Event, error) {
		e, err := a.store.GetEvent(ctx, id)
		if err == nil && e.Status == domain.StatusDraft {
			return domain.Event{}, domain.ErrEventNotFound
		}
		return e, err
	})
}

// GetAdminEvent returns an event of any status.
func (a *Catalog) GetAdminEvent(ctx context.Context, id uuid.UUID) (domain.Event, error) {
	return a.store.GetEvent(ctx, id)
}

func isAdmin(ctx context.Context) bool {
	id, ok := assertion.FromContext(ctx)
	return ok && id.IsAdmin()
}

// ListEvents runs a browse filter; public listings are cached.
func (a *Catalog) ListEvents(ctx context.Context, f domain.Filter, cached bool) (EventPage, error) {
	load := func() (EventPage, error) {
		items, total, err := a.store.ListEvents(ctx, f)
		return EventPage{Items: items, Total: total}, err
	}
	if !cached {
		return load()
	}
	return a.cache.Events(ctx, "list:"+f.Key(), load)
}

// Upcoming lists the next published events, soonest first. The clock is rounded to the
// minute so that the cache key changes once a minute, not on every request.
func (a *Catalog) Upcoming(ctx context.Context, limit int) (EventPage, error) {
	now := a.now().Truncate(60e9)
	f := domain.Filter{Statuses: []string{domain.StatusPublished}, UpcomingAfter: &now, Sort: domain.SortDate, Limit: limit}
	return a.ListEvents(ctx, f, true)
}

// UpdateEvent changes an event. A published event keeps its venue and currency (its
// layout is frozen) and announces the change with event.updated.
func (a *Catalog) UpdateEvent(ctx context.Context, id uuid.UUID, in domain.EventInput) (domain.Event, error) {
	now := a.now()
	var out domain.Event
	err := a.store.InTx(ctx, func(ctx context.Context, tx domain.Tx) error {
		e, err := tx.LockEvent(ctx, id)
		if err != nil {
			return err
		}
		if e.Status == domain.StatusCancelled || e.Status == domain.StatusCompleted {
			return domain.ErrEventStatus.WithDetail("a %s event cannot be changed", e.Status)
		}
		prevTemplate, prevCurrency := e.VenueTemplateID, e.Currency
		if err := domain.ApplyEventInput(&e, in, now, false); err != nil {
			return err
		}
		published := e.Status == domain.StatusPublished
		if published && (e.VenueTemplateID != prevTemplate || e.Currency != prevCurrency) {
			return domain.ErrLayoutFrozen
		}
		if !published {
			t, err := tx.GetTemplate(ctx, e.VenueTemplateID)
			if errors.Is(err, domain.ErrTemplateNotFound) {
				return apperr.Fields{{Field: "venue_template_id", Message: "no venue template has this id"}}.Err()
			} else if err != nil {
				return err
			}
			e.VenueName = t.Name
			e.Sections = domain.SectionsFromTemplate(t)
		}
		if err := e.Reprice(in.SectionPricing != nil); err != nil {
			return err
		}
		e.Version++
		e.UpdatedAt = now
		publishNow := !published && in.Status != nil && *in.Status == domain.StatusPublished
		if publishNow {
			if err := e.CheckPublishable(now); err != nil {
				return err
			}
			e.Status, e.PublishedAt = domain.StatusPublished, &now
		}
		if err := tx.UpdateEvent(ctx, e); err != nil {
			return err
		}
		out = e
		switch {
		case publishNow:
			return a.announcePublished(ctx, tx, e)
		case published:
			return tx.Publish(ctx, contracts.TypeEventUpdated, e.ID.String(), updatedEvent(e))
		}
		return nil
	})
	if err == nil {
		a.cache.Invalidate(ctx)
	}
	return out, err
}

// PublishEvent moves a DRAFT to PUBLISHED after the publishing checks, freezing its layout
// and announcing event.published.
func (a *Catalog) PublishEvent(ctx context.Context, id uuid.UUID) (domain.Event, error) {
	now := a.now()
	var out domain.Event
	err := a.store.InTx(ctx, func(ctx context.Context, tx domain.Tx) error {
		e, err := tx.LockEvent(ctx, id)
		if err != nil {
			return err
		}
		if e.Status != domain.StatusDraft {
			return domain.ErrEventStatus.WithDetail("only a DRAFT event can be published; this one is %s", e.Status)
		}
		if err := e.CheckPublishable(now); err != nil {
			return err
		}
		e.Status, e.PublishedAt, e.UpdatedAt = domain.StatusPublished, &now, now
		e.Version++
		if err := tx.UpdateEvent(ctx, e); err != nil {
			return err
		}
		out = e
		return a.announcePublished(ctx, tx, e)
	})
	if err == nil {
		a.cache.Invalidate(ctx)
	}
	return out, err
}

// CancelEvent cancels a DRAFT or PUBLISHED event; a published one announces
// event.cancelled, on which booking refunds and inventory closes the seats.
func (a *Catalog) CancelEvent(ctx context.Context, id uuid.UUID, reason string) (domain.Event, error) {
	now := a.now()
	var out domain.Event
	err := a.store.InTx(ctx, func(ctx context.Context, tx domain.Tx) error {
		e, err := tx.LockEvent(ctx, id)
		if err != nil {
			return err
		}
		if e.Status != domain.StatusDraft && e.Status != domain.StatusPublished {
			return domain.ErrEventStatus.WithDetail("the event is already %s", e.Status)
		}
		wasPublished := e.Status == domain.StatusPublished
		e.Status, e.CancelledAt, e.CancelReason, e.UpdatedAt = domain.StatusCancelled, &now, reason, now
		e.Version++
		if err := tx.UpdateEvent(ctx, e); err != nil {
			return err
		}
		out = e
		if wasPublished {
			return tx.Publish(ctx, contracts.TypeEventCancelled, e.ID.String(), cancelledEvent(e))
		}
		return nil
	})
	if err == nil {
		a.cache.Invalidate(ctx)
	}
	return out, err
}

// DeleteEvent deletes a DRAFT; deleting a published event cancels it instead (bookings are
// refunded in full by booking). deleted tells which happened.
func (a *Catalog) DeleteEvent(ctx context.Context, id uuid.UUID) (out domain.Event, deleted bool, err error) {
	err = a.store.InTx(ctx, func(ctx context.Context, tx domain.Tx) error {
		e, err := tx.LockEvent(ctx, id)
		if err != nil {
			return err
		}
		if e.Status == domain.StatusDraft {
			deleted = true
			return tx.DeleteEvent(ctx, id)
		}
		return nil
	})
	if err != nil {
		return domain.Event{}, false, err
	}
	if deleted {
		a.cache.Invalidate(ctx)
		return domain.Event{}, true, nil
	}
	out, err = a.CancelEvent(ctx, id, "deleted by an organiser")
	return out, false, err
}
