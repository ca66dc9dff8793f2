package domain

import (
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"evently.dev/libs/apperr"
)

// Layout types of a venue template.
const (
	LayoutTheater    = "THEATER"
	LayoutStadium    = "STADIUM"
	LayoutConference = "CONFERENCE"
	LayoutGeneral    = "GENERAL"
)

// Template is a venue described once: named sections of rows × seats.
type Template struct {
	ID          uuid.UUID
	Name        string
	Description string
	Address     string
	LayoutType  string
	Sections    []Section
	Version     int
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Section is a rectangle of seats inside a template; its code follows its position.
type Section struct {
	ID          uuid.UUID
	Position    int
	Code        string
	Name        string
	RowStart    string
	RowEnd      string
	SeatsPerRow int
	RowCount    int
	PriceTier   string
}

// Capacity is the number of seats in the section.
func (s Section) Capacity() int { return s.RowCount * s.SeatsPerRow }

// Shape is the part of the section seat generation needs.
func (s Section) Shape() SectionShape {
	return SectionShape{Code: s.Code, Name: s.Name, RowStart: s.RowStart, RowEnd: s.RowEnd, SeatsPerRow: s.SeatsPerRow}
}

// Capacity is the number of seats in the template.
func (t Template) Capacity() int {
	n := 0
	for _, s := range t.Sections {
		n += s.Capacity()
	}
	return n
}

// SectionInput is a section as the organiser sends it.
type SectionInput struct {
	ID          *uuid.UUID
	Name        string
	RowStart    string
	RowEnd      string
	SeatsPerRow int
	PriceTier   string
}

// TemplateInput is a template as the organiser sends it; nil fields are left unchanged on
// update (Sections nil: keep the sections).
type TemplateInput struct {
	Name        *string
	Description *string
	Address     *string
	LayoutType  *string
	Sections    []SectionInput
	HasSections bool
}

// ValidLayoutType reports whether s is one of the four layout types.
func ValidLayoutType(s string) bool {
	switch s {
	case LayoutTheater, LayoutStadium, LayoutConference, LayoutGeneral:
		return true
	}
	return false
}

// ValidateSection checks one section and returns its parsed row range; problems are added
// to f under prefix (e.g. "sections[2]").
func ValidateSection(f *apperr.Fields, prefix string, in SectionInput) (RowRange, bool) {
	ok := true
	if strings.TrimSpace(in.Name) == "" {
		f.Add(prefix+"name", "is required")
		ok = false
	} else if len(in.Name) > 100 {
		f.Add(prefix+"name", "must be at most 100 characters")
		ok = false
	}
	if len(in.PriceTier) > 50 {
		f.Add(prefix+"price_tier", "must be at most 50 characters")
		ok = false
	}
	if in.SeatsPerRow < 1 || in.SeatsPerRow > MaxSeatsPerRow {
		f.Add(prefix+"seats_per_row", "must be between 1 and %d", MaxSeatsPerRow)
		ok = false
	}
	rr, err := ParseRowRange(in.RowStart, in.RowEnd)
	if err != nil {
		field := "row_start"
		if strings.HasPrefix(err.Error(), "row_end") {
			field = "row_end"
		}
		msg := strings.TrimPrefix(strings.TrimPrefix(err.Error(), field+": "), "row_start: ")
		f.Add(prefix+field, "%s", msg)
		ok = false
	}
	return rr, ok
}

// BuildSections validates inputs and turns them into sections at positions from, from+1, …
// New ids are drawn for sections that carry none.
func BuildSections(f *apperr.Fields, prefix string, from int, in []SectionInput) []Section {
	out := make([]Section, 0, len(in))
	for i, s := range in {
		p := prefix
		if p != "" {
			p = p + "[" + strconv.Itoa(i) + "]."
		}
		rr, ok := ValidateSection(f, p, s)
		if !ok {
			continue
		}
		id := uuid.Must(uuid.NewV7())
		if s.ID != nil {
			id = *s.ID
		}
		pos := from + i
		out = append(out, Section{ID: id, Position: pos, Code: SectionCode(pos), Name: strings.TrimSpace(s.Name),
			RowStart: rr.Start, RowEnd: rr.End, SeatsPerRow: s.SeatsPerRow, RowCount: rr.Count(),
			PriceTier: strings.TrimSpace(s.PriceTier)})
	}
	return out
}

// ApplyTemplateInput validates in and applies it to t (a zero t for creation). Field errors
// come back as a 422.
func ApplyTemplateInput(t *Template, in TemplateInput, creating bool) error {
	var f apperr.Fields
	if in.Name != nil || creating {
		name := ""
		if in.Name != nil {
			name = strings.TrimSpace(*in.Name)
		}
		switch {
		case name == "":
			f.Add("name", "is required")
		case len(name) > 200:
			f.Add("name", "must be at most 200 characters")
		default:
			t.Name = name
		}
	}
	if in.Description != nil {
		if len(*in.Description) > 5000 {
			f.Add("description", "must be at most 5000 characters")
		}
		t.Description = *in.Description
	}
	if in.Address != nil {
		if len(*in.Address) > 500 {
			f.Add("address", "must be at most 500 characters")
		}
		t.Address = *in.Address
	}
	if in.LayoutType != nil || creating {
		lt := LayoutGeneral
		if in.LayoutType != nil {
			lt = *in.LayoutType
		}
		if !ValidLayoutType(lt) {
			f.Add("layout_type", "must be one of THEATER, STADIUM, CONFERENCE, GENERAL")
		}
		t.LayoutType = lt
	}
	if in.HasSections {
		if len(in.Sections) > MaxSections {
			f.Add("sections", "at most %d sections", MaxSections)
		}
		seen := map[uuid.UUID]bool{}
		for i, s := range in.Sections {
			if s.ID != nil {
				if seen[*s.ID] {
					f.Add("sections["+strconv.Itoa(i)+"].id", "appears twice")
				}
				seen[*s.ID] = true
			}
		}
		t.Sections = BuildSections(&f, "sections", 0, in.Sections)
	}
	if err := checkSectionSet(&f, t.Sections); err != nil {
		return err
	}
	return f.Err()
}

func checkSectionSet(f *apperr.Fields, sections []Section) error {
	names := map[string]bool{}
	total := 0
	for _, s := range sections {
		k := strings.ToLower(s.Name)
		if names[k] {
			f.Add("sections", "section names must be unique within a template (%q repeats)", s.Name)
		}
		names[k] = true
		total += s.Capacity()
	}
	if total > MaxCapacity {
		f.Add("sections", "a template may have at most %d seats (this one has %d)", MaxCapacity, total)
	}
	return nil
}

// CheckKeepsSeats reports ErrSeatsFrozen unless next keeps every seat of prev with the same
// id: same sections at the same positions, the same first row, and no fewer rows or seats.
// Sections may be renamed and new ones appended.
func CheckKeepsSeats(prev, next []Section) error {
	byID := map[uuid.UUID]Section{}
	for _, s := range next {
		byID[s.ID] = s
	}
	for _, p := range prev {
		n, ok := byID[p.ID]
		switch {
		case !ok:
			return ErrSeatsFrozen.WithDetail("section %q (%s) would be removed", p.Name, p.Code)
		case n.Position != p.Position:
			return ErrSeatsFrozen.WithDetail("section %q would move from code %s to %s", p.Name, p.Code, n.Code)
		case n.RowStart != p.RowStart:
			return ErrSeatsFrozen.WithDetail("section %q would renumber its rows", p.Name)
		case n.RowCount < p.RowCount || n.SeatsPerRow < p.SeatsPerRow:
			return ErrSeatsFrozen.WithDetail("section %q would lose seats", p.Name)
		}
		if (p.RowStart[0] >= '0' && p.RowStart[0] <= '9') != (n.RowEnd[0] >= '0' && n.RowEnd[0] <= '9') {
			return ErrSeatsFrozen.WithDetail("section %q would renumber its rows", p.Name)
		}
	}
	return nil
}
