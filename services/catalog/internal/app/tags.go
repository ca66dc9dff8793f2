package app

import (
	"context"

	"github.com/google/uuid"

	"evently.dev/services/catalog/internal/domain"
)

// ActiveTags lists tags of upcoming published events, with their counts.
func (a *Catalog) ActiveTags(ctx context.Context, limit, offset int) ([]domain.Tag, int, error) {
	now := a.now()
	return a.store.ListTags(ctx, &now, limit, offset)
}

// ListTags lists every tag.
func (a *Catalog) ListTags(ctx context.Context, limit, offset int) ([]domain.Tag, int, error) {
	return a.store.ListTags(ctx, nil, limit, offset)
}

// GetTag returns one tag.
func (a *Catalog) GetTag(ctx context.Context, id uuid.UUID) (domain.Tag, error) {
	return a.store.GetTag(ctx, id)
}

// CreateTag adds a tag (409 when the slug exists).
func (a *Catalog) CreateTag(ctx context.Context, in domain.TagInput) (domain.Tag, error) {
	var t domain.Tag
	if err := domain.ApplyTagInput(&t, in, true); err != nil {
		return t, err
	}
	now := a.now()
	t.ID, t.CreatedAt, t.UpdatedAt = uuid.Must(uuid.NewV7()), now, now
	err := a.store.InTx(ctx, func(ctx context.Context, tx domain.Tx) error {
		if taken, err := tx.TagSlugTaken(ctx, t.Slug, t.ID); err != nil {
			return err
		} else if taken {
			return domain.ErrTagExists
		}
		return tx.InsertTag(ctx, t)
	})
	return t, err
}

// UpdateTag renames a tag or changes its slug (events follow: they refer to the tag).
func (a *Catalog) UpdateTag(ctx context.Context, id uuid.UUID, in domain.TagInput) (domain.Tag, error) {
	var out domain.Tag
	err := a.store.InTx(ctx, func(ctx context.Context, tx domain.Tx) error {
		t, err := tx.GetTag(ctx, id)
		if err != nil {
			return err
		}
		if err := domain.ApplyTagInput(&t, in, false); err != nil {
			return err
		}
		if taken, err := tx.TagSlugTaken(ctx, t.Slug, t.ID); err != nil {
			return err
		} else if taken {
			return domain.ErrTagExists
		}
		t.UpdatedAt = a.now()
		out = t
		return tx.UpdateTag(ctx, t)
	})
	if err == nil {
		a.cache.Invalidate(ctx)
	}
	return out, err
}

// DeleteTag removes a tag from every event and deletes it.
func (a *Catalog) DeleteTag(ctx context.Context, id uuid.UUID) error {
	err := a.store.InTx(ctx, func(ctx context.Context, tx domain.Tx) error { return tx.DeleteTag(ctx, id) })
	if err == nil {
		a.cache.Invalidate(ctx)
	}
	return err
}
