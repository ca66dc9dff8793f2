package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"evently.dev/libs/pg"

	"evently.dev/services/catalog/internal/domain"
)

type tagRow struct {
	bun.BaseModel `bun:"table:tags,alias:t"`
	ID            uuid.UUID `bun:"id,pk"`
	Slug          string    `bun:"slug"`
	Name          string    `bun:"name"`
	EventCount    int       `bun:"event_count,scanonly"`
	CreatedAt     time.Time `bun:"created_at"`
	UpdatedAt     time.Time `bun:"updated_at"`
}

func (r tagRow) toDomain() domain.Tag {
	return domain.Tag{ID: r.ID, Slug: r.Slug, Name: r.Name, EventCount: r.EventCount,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

// GetTag loads a tag with the number of events carrying it.
func (q queries) GetTag(ctx context.Context, id uuid.UUID) (domain.Tag, error) {
	var r tagRow
	if err := q.db.NewSelect().Model(&r).Column("t.*").
		ColumnExpr("(SELECT count(*) FROM event_tags et WHERE et.tag_id = t.id) AS event_count").
		Where("t.id = ?", id).Scan(ctx); err != nil {
		return domain.Tag{}, notFound(err, domain.ErrTagNotFound)
	}
	return r.toDomain(), nil
}

// ListTags pages through tags by slug. With activeAfter set, only tags of PUBLISHED events
// starting after it are listed, and counted by those events.
func (q queries) ListTags(ctx context.Context, activeAfter *time.Time, limit, offset int) ([]domain.Tag, int, error) {
	var rows []tagRow
	sel := q.db.NewSelect().Model(&rows).Column("t.*").Order("t.slug").Limit(int64(limit)).Offset(int64(offset))
	if activeAfter != nil {
		const active = `FROM event_tags et JOIN events e ON e.id = et.event_id
			WHERE et.tag_id = t.id AND e.status = 'PUBLISHED' AND e.starts_at > ?`
		sel = sel.ColumnExpr("(SELECT count(*) "+active+") AS event_count", *activeAfter).
			Where("EXISTS (SELECT 1 "+active+")", *activeAfter)
	} else {
		sel = sel.ColumnExpr("(SELECT count(*) FROM event_tags et WHERE et.tag_id = t.id) AS event_count")
	}
	total, err := sel.ScanAndCount(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("list tags: %w", err)
	}
	out := make([]domain.Tag, len(rows))
	for i, r := range rows {
		out[i] = r.toDomain()
	}
	return out, int(total), nil
}

// TagSlugTaken reports whether another tag has the slug.
func (t *txStore) TagSlugTaken(ctx context.Context, slug string, except uuid.UUID) (bool, error) {
	return t.tx.NewSelect().Table("tags").Where("slug = ?", slug).Where("id <> ?", except).Exists(ctx)
}

// InsertTag stores a new tag.
func (t *txStore) InsertTag(ctx context.Context, tag domain.Tag) error {
	r := tagRow{ID: tag.ID, Slug: tag.Slug, Name: tag.Name, CreatedAt: tag.CreatedAt, UpdatedAt: tag.UpdatedAt}
	if _, err := t.tx.NewInsert().Model(&r).Exec(ctx); err != nil {
		if pg.IsUniqueViolation(err) {
			return domain.ErrTagExists
		}
		return fmt.Errorf("insert tag: %w", err)
	}
	return nil
}

// UpdateTag renames a tag or changes its slug.
func (t *txStore) UpdateTag(ctx context.Context, tag domain.Tag) error {
	r := tagRow{ID: tag.ID, Slug: tag.Slug, Name: tag.Name, UpdatedAt: tag.UpdatedAt}
	res, err := t.tx.NewUpdate().Model(&r).Column("slug", "name", "updated_at").WherePK().Exec(ctx)
	if err != nil {
		if pg.IsUniqueViolation(err) {
			return domain.ErrTagExists
		}
		return fmt.Errorf("update tag: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return domain.ErrTagNotFound
	}
	return nil
}

// DeleteTag removes a tag from every event and deletes it.
func (t *txStore) DeleteTag(ctx context.Context, id uuid.UUID) error {
	res, err := t.tx.NewDelete().Table("tags").Where("id = ?", id).Exec(ctx)
	if err != nil {
		return fmt.Errorf("delete tag: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return domain.ErrTagNotFound
	}
	return nil
}
