package domain

import (
	"strings"
	"time"

	"github.com/google/uuid"

	"evently.dev/libs/apperr"
)

// Tag labels events for browsing; its slug is what events and filters use.
type Tag struct {
	ID         uuid.UUID
	Slug       string
	Name       string
	EventCount int
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// TagInput is a tag as an admin sends it.
type TagInput struct {
	Slug *string
	Name *string
}

// ApplyTagInput validates in onto t; a missing name defaults to the slug in words.
func ApplyTagInput(t *Tag, in TagInput, creating bool) error {
	var f apperr.Fields
	if in.Slug != nil || creating {
		s := ""
		if in.Slug != nil {
			s = strings.TrimSpace(*in.Slug)
		}
		if !ValidSlug(s) {
			f.Add("slug", "must be a lower-case slug such as \"live-music\"")
		}
		t.Slug = s
	}
	if in.Name != nil {
		n := strings.TrimSpace(*in.Name)
		if len(n) > 100 {
			f.Add("name", "must be at most 100 characters")
		}
		t.Name = n
	}
	if t.Name == "" {
		t.Name = TagName(t.Slug)
	}
	return f.Err()
}

// TagName turns a slug into a display name: "live-music" → "Live Music".
func TagName(slug string) string {
	parts := strings.Split(slug, "-")
	for i, p := range parts {
		if p != "" {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, " ")
}
