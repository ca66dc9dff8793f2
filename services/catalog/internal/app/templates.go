package app

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"evently.dev/libs/apperr"

	"evently.dev/services/catalog/internal/domain"
)

// CreateTemplate validates and stores a new venue template with its sections.
func (a *Catalog) CreateTemplate(ctx context.Context, in domain.TemplateInput) (domain.Template, error) {
	var t domain.Template
	if err := domain.ApplyTemplateInput(&t, in, true); err != nil {
		return t, err
	}
	now := a.now()
	t.ID, t.Version, t.CreatedAt, t.UpdatedAt = uuid.Must(uuid.NewV7()), 1, now, now
	err := a.store.InTx(ctx, func(ctx context.Context, tx domain.Tx) error {
		if taken, err := tx.TemplateNameTaken(ctx, t.Name, t.ID); err != nil {
			return err
		} else if taken {
			return domain.ErrTemplateNameTaken
		}
		return tx.InsertTemplate(ctx, t)
	})
	return t, err
}

// GetTemplate returns one template.
func (a *Catalog) GetTemplate(ctx context.Context, id uuid.UUID) (domain.Template, error) {
	return a.store.GetTemplate(ctx, id)
}

// ListTemplates pages through templates.
func (a *Catalog) ListTemplates(ctx context.Context, q string, limit, offset int) ([]domain.Template, int, error) {
	return a.store.ListTemplates(ctx, q, limit, offset)
}

// UpdateTemplate changes a template. Once an event past DRAFT uses it, it may not lose or
// renumber seats; drafts on it are re-laid on the new sections.
func (a *Catalog) UpdateTemplate(ctx context.Context, id uuid.UUID, in domain.TemplateInput) (domain.Template, error) {
	var out domain.Template
	err := a.store.InTx(ctx, func(ctx context.Context, tx domain.Tx) error {
		t, err := tx.LockTemplate(ctx, id)
		if err != nil {
			return err
		}
		prev := append([]domain.Section(nil), t.Sections...)
		if err := domain.ApplyTemplateInput(&t, in, false); err != nil {
			return err
		}
		if in.HasSections {
			// Sections sent with the id of an existing one keep it; sent ids must exist.
			known := map[uuid.UUID]bool{}
			for _, s := range prev {
				known[s.ID] = true
			}
			var f apperr.Fields
			for i, s := range in.Sections {
				if s.ID != nil && !known[*s.ID] {
					f.Add(fmt.Sprintf("sections[%d].id", i), "is not a section of this template")
				}
			}
			if err := f.Err(); err != nil {
				return err
			}
			if err := a.checkSeatsKept(ctx, tx, id, prev, t.Sections); err != nil {
				return err
			}
		}
		if taken, err := tx.TemplateNameTaken(ctx, t.Name, t.ID); err != nil {
			return err
		} else if taken {
			return domain.ErrTemplateNameTaken
		}
		t.Version++
		t.UpdatedAt = a.now()
		if err := tx.UpdateTemplate(ctx, t); err != nil {
			return err
		}
		out = t
		return a.relayDrafts(ctx, tx, t)
	})
	if err == nil {
		a.cache.Invalidate(ctx)
	}
	return out, err
}

func (a *Catalog) checkSeatsKept(ctx context.Context, tx domain.Tx, id uuid.UUID, prev, next []domain.Section) error {
	_, live, err := tx.TemplateUsage(ctx, id)
	if err != nil {
		return err
	}
	if live == 0 {
		return nil
	}
	return domain.CheckKeepsSeats(prev, next)
}

// relayDrafts lays every draft on the template out again, keeping its multipliers.
func (a *Catalog) relayDrafts(ctx context.Context, tx domain.Tx, t domain.Template) error {
	drafts, err := tx.DraftEventsOn(ctx, t.ID)
	if err != nil {
		return err
	}
	for _, e := range drafts {
		e.VenueName = t.Name
		e.Sections = domain.SectionsFromTemplate(t)
		_ = e.Reprice(false)
		e.UpdatedAt = a.now()
		if err := tx.UpdateEvent(ctx, e); err != nil {
			return err
		}
	}
	return nil
}

// AddSection appends one section to a template (allowed even when events use it: no seat
// is lost or renumbered).
func (a *Catalog) AddSection(ctx context.Context, id uuid.UUID, in domain.SectionInput) (domain.Template, domain.Section, error) {
	var out domain.Template
	var added domain.Section
	err := a.store.InTx(ctx, func(ctx context.Context, tx domain.Tx) error {
		t, err := tx.LockTemplate(ctx, id)
		if err != nil {
			return err
		}
		if len(t.Sections) >= domain.MaxSections {
			return apperr.Fields{{Field: "sections", Message: fmt.Sprintf("a template may have at most %d sections", domain.MaxSections)}}.Err()
		}
		in.ID = nil
		var f apperr.Fields
		secs := domain.BuildSections(&f, "", len(t.Sections), []domain.SectionInput{in})
		if err := f.Err(); err != nil {
			return err
		}
		t.Sections = append(t.Sections, secs[0])
		if err := domain.ApplyTemplateInput(&t, domain.TemplateInput{}, false); err != nil {
			return err
		}
		t.Version++
		t.UpdatedAt = a.now()
		if err := tx.UpdateTemplate(ctx, t); err != nil {
			return err
		}
		out, added = t, secs[0]
		return a.relayDrafts(ctx, tx, t)
	})
	if err == nil {
		a.cache.Invalidate(ctx)
	}
	return out, added, err
}

// DeleteTemplate removes a template no event uses.
func (a *Catalog) DeleteTemplate(ctx context.Context, id uuid.UUID) error {
	return a.store.InTx(ctx, func(ctx context.Context, tx domain.Tx) error {
		if _, err := tx.LockTemplate(ctx, id); err != nil {
			return err
		}
		total, _, err := tx.TemplateUsage(ctx, id)
		if err != nil {
			return err
		}
		if total > 0 {
			return domain.ErrTemplateInUse.WithDetail("the venue template is used by %d event(s); delete or move them first", total)
		}
		return tx.DeleteTemplate(ctx, id)
	})
}
