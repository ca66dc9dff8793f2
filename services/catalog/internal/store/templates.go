package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"evently.dev/libs/pg"

	"evently.dev/services/catalog/internal/domain"
)

type templateRow struct {
	bun.BaseModel `bun:"table:venue_templates"`
	ID            uuid.UUID `bun:"id,pk"`
	Name          string    `bun:"name"`
	Description   string    `bun:"description"`
	Address       string    `bun:"address"`
	LayoutType    string    `bun:"layout_type"`
	Version       int       `bun:"version"`
	CreatedAt     time.Time `bun:"created_at"`
	UpdatedAt     time.Time `bun:"updated_at"`
}

type sectionRow struct {
	bun.BaseModel `bun:"table:template_sections"`
	ID            uuid.UUID `bun:"id,pk"`
	TemplateID    uuid.UUID `bun:"template_id"`
	Position      int       `bun:"position"`
	Code          string    `bun:"code"`
	Name          string    `bun:"name"`
	RowStart      string    `bun:"row_start"`
	RowEnd        string    `bun:"row_end"`
	SeatsPerRow   int       `bun:"seats_per_row"`
	RowCount      int       `bun:"row_count"`
	PriceTier     string    `bun:"price_tier"`
}

func (r templateRow) toDomain(sections []sectionRow) domain.Template {
	t := domain.Template{ID: r.ID, Name: r.Name, Description: r.Description, Address: r.Address,
		LayoutType: r.LayoutType, Version: r.Version, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		Sections: make([]domain.Section, 0, len(sections))}
	for _, s := range sections {
		t.Sections = append(t.Sections, domain.Section{ID: s.ID, Position: s.Position, Code: s.Code, Name: s.Name,
			RowStart: s.RowStart, RowEnd: s.RowEnd, SeatsPerRow: s.SeatsPerRow, RowCount: s.RowCount, PriceTier: s.PriceTier})
	}
	return t
}

func templateToRows(t domain.Template) (templateRow, []sectionRow) {
	r := templateRow{ID: t.ID, Name: t.Name, Description: t.Description, Address: t.Address, LayoutType: t.LayoutType,
		Version: t.Version, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
	ss := make([]sectionRow, len(t.Sections))
	for i, s := range t.Sections {
		ss[i] = sectionRow{ID: s.ID, TemplateID: t.ID, Position: s.Position, Code: s.Code, Name: s.Name,
			RowStart: s.RowStart, RowEnd: s.RowEnd, SeatsPerRow: s.SeatsPerRow, RowCount: s.RowCount, PriceTier: s.PriceTier}
	}
	return r, ss
}

func (q queries) getTemplate(ctx context.Context, id uuid.UUID, lock bool) (domain.Template, error) {
	var r templateRow
	sel := q.db.NewSelect().Model(&r).Where("id = ?", id)
	if lock {
		sel = sel.For("UPDATE")
	}
	if err := sel.Scan(ctx); err != nil {
		return domain.Template{}, notFound(err, domain.ErrTemplateNotFound)
	}
	secs, err := q.sectionsOf(ctx, []uuid.UUID{id})
	if err != nil {
		return domain.Template{}, err
	}
	return r.toDomain(secs[id]), nil
}

func (q queries) sectionsOf(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID][]sectionRow, error) {
	out := map[uuid.UUID][]sectionRow{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []sectionRow
	if err := q.db.NewSelect().Model(&rows).Where("template_id IN (?)", bun.List(ids)).
		Order("template_id", "position").Scan(ctx); err != nil {
		return nil, fmt.Errorf("load template sections: %w", err)
	}
	for _, r := range rows {
		out[r.TemplateID] = append(out[r.TemplateID], r)
	}
	return out, nil
}

// GetTemplate loads a template with its sections.
func (q queries) GetTemplate(ctx context.Context, id uuid.UUID) (domain.Template, error) {
	return q.getTemplate(ctx, id, false)
}

// LockTemplate loads a template and locks its row until the transaction ends.
func (t *txStore) LockTemplate(ctx context.Context, id uuid.UUID) (domain.Template, error) {
	return t.getTemplate(ctx, id, true)
}

// ListTemplates pages through templates by name, optionally filtered by a name fragment.
func (q queries) ListTemplates(ctx context.Context, search string, limit, offset int) ([]domain.Template, int, error) {
	var rows []templateRow
	sel := q.db.NewSelect().Model(&rows).OrderExpr("lower(name), id").Limit(int64(limit)).Offset(int64(offset))
	if search = strings.TrimSpace(search); search != "" {
		sel = sel.Where("name ILIKE ?", "%"+escapeLike(search)+"%")
	}
	total, err := sel.ScanAndCount(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("list templates: %w", err)
	}
	ids := make([]uuid.UUID, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	secs, err := q.sectionsOf(ctx, ids)
	if err != nil {
		return nil, 0, err
	}
	out := make([]domain.Template, len(rows))
	for i, r := range rows {
		out[i] = r.toDomain(secs[r.ID])
	}
	return out, int(total), nil
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// TemplateNameTaken reports whether another template has this name (case-insensitively).
func (t *txStore) TemplateNameTaken(ctx context.Context, name string, except uuid.UUID) (bool, error) {
	return t.tx.NewSelect().Table("venue_templates").Where("lower(name) = lower(?)", name).
		Where("id <> ?", except).Exists(ctx)
}

// InsertTemplate stores a new template and its sections (one statement for all sections).
func (t *txStore) InsertTemplate(ctx context.Context, tpl domain.Template) error {
	r, ss := templateToRows(tpl)
	if _, err := t.tx.NewInsert().Model(&r).Exec(ctx); err != nil {
		if pg.IsUniqueViolation(err) {
			return domain.ErrTemplateNameTaken
		}
		return fmt.Errorf("insert template: %w", err)
	}
	return t.insertSections(ctx, ss)
}

func (t *txStore) insertSections(ctx context.Context, ss []sectionRow) error {
	if len(ss) == 0 {
		return nil
	}
	if _, err := t.tx.NewInsert().Model(&ss).Exec(ctx); err != nil {
		return fmt.Errorf("insert sections: %w", err)
	}
	return nil
}

// UpdateTemplate rewrites the template row and replaces its sections.
func (t *txStore) UpdateTemplate(ctx context.Context, tpl domain.Template) error {
	r, ss := templateToRows(tpl)
	if _, err := t.tx.NewUpdate().Model(&r).WherePK().
		Column("name", "description", "address", "layout_type", "version", "updated_at").Exec(ctx); err != nil {
		if pg.IsUniqueViolation(err) {
			return domain.ErrTemplateNameTaken
		}
		return fmt.Errorf("update template: %w", err)
	}
	if _, err := t.tx.NewDelete().Table("template_sections").Where("template_id = ?", tpl.ID).Exec(ctx); err != nil {
		return fmt.Errorf("replace sections: %w", err)
	}
	return t.insertSections(ctx, ss)
}

// DeleteTemplate removes a template and its sections.
func (t *txStore) DeleteTemplate(ctx context.Context, id uuid.UUID) error {
	res, err := t.tx.NewDelete().Table("venue_templates").Where("id = ?", id).Exec(ctx)
	if err != nil {
		return fmt.Errorf("delete template: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return domain.ErrTemplateNotFound
	}
	return nil
}

// TemplateUsage counts the events on a template, and those past DRAFT.
func (t *txStore) TemplateUsage(ctx context.Context, id uuid.UUID) (total, live int, err error) {
	err = t.tx.NewRaw(`SELECT count(*), count(*) FILTER (WHERE status <> 'DRAFT') FROM events WHERE venue_template_id = ?`, id).
		Scan(ctx, &total, &live)
	return total, live, err
}
