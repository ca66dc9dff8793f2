package domain

import (
	"fmt"
	"strconv"
	"strings"

	"evently.dev/libs/contracts"
)

// Drawing geometry of a seat map, in abstract units: seats sit SeatPitch apart in a row,
// rows RowPitch apart, and sections are stacked top to bottom with SectionGap between them,
// each row centred on the widest row of the venue.
const (
	SeatPitch  = 10.0
	RowPitch   = 12.0
	SectionGap = 24.0
)

// Limits that keep one template to a size the system is built for.
const (
	MaxRowsPerSection = 2000
	MaxSeatsPerRow    = 1000
	MaxSections       = 200
	MaxCapacity       = 200000
	maxLetterRow      = 18278 // "ZZZ"
	maxNumberRow      = 99999
)

// Letters returns the bijective base-26 label of n ≥ 1: 1 → "A", 26 → "Z", 27 → "AA".
// Section codes and lettered rows both use it.
func Letters(n int) string {
	if n < 1 {
		return ""
	}
	var b []byte
	for n > 0 {
		n--
		b = append(b, byte('A'+n%26))
		n /= 26
	}
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

// letterIndex is Letters' inverse; ok is false for anything but upper-case letters.
func letterIndex(s string) (int, bool) {
	if s == "" || len(s) > 3 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 'A' || c > 'Z' {
			return 0, false
		}
		n = n*26 + int(c-'A') + 1
	}
	return n, true
}

// SectionCode is the code of the section at 0-based position pos: A, B, … Z, AA, AB, …
func SectionCode(pos int) string { return Letters(pos + 1) }

// RowRange is a validated run of row labels, lettered (A..Z, AA..) or numbered (1..).
type RowRange struct {
	Start, End string
	numeric    bool
	first      int
	count      int
}

// ParseRowRange checks that start and end are both letters or both numbers and that start
// comes first. Letters are upper-cased; numbers must not have leading zeros, so a seat id
// has one spelling.
func ParseRowRange(start, end string) (RowRange, error) {
	start, end = strings.ToUpper(strings.TrimSpace(start)), strings.ToUpper(strings.TrimSpace(end))
	a, aNum, err := parseRow(start)
	if err != nil {
		return RowRange{}, fmt.Errorf("row_start: %w", err)
	}
	b, bNum, err := parseRow(end)
	if err != nil {
		return RowRange{}, fmt.Errorf("row_end: %w", err)
	}
	if aNum != bNum {
		return RowRange{}, fmt.Errorf("row_start and row_end must both be letters or both be numbers")
	}
	if b < a {
		return RowRange{}, fmt.Errorf("row_end must not come before row_start")
	}
	if b-a+1 > MaxRowsPerSection {
		return RowRange{}, fmt.Errorf("a section may have at most %d rows", MaxRowsPerSection)
	}
	return RowRange{Start: start, End: end, numeric: aNum, first: a, count: b - a + 1}, nil
}

func parseRow(s string) (n int, numeric bool, err error) {
	if s == "" {
		return 0, false, fmt.Errorf("is required")
	}
	if s[0] >= '0' && s[0] <= '9' {
		v, convErr := strconv.Atoi(s)
		if convErr != nil || v < 1 || v > maxNumberRow || strconv.Itoa(v) != s {
			return 0, true, fmt.Errorf("must be letters (A..ZZZ) or a number 1..%d without leading zeros", maxNumberRow)
		}
		return v, true, nil
	}
	v, ok := letterIndex(s)
	if !ok || v > maxLetterRow {
		return 0, false, fmt.Errorf("must be letters (A..ZZZ) or a number 1..%d without leading zeros", maxNumberRow)
	}
	return v, false, nil
}

// Count is the number of rows in the range.
func (r RowRange) Count() int { return r.count }

// Label returns the label of the i-th row of the range (0-based).
func (r RowRange) Label(i int) string {
	if r.numeric {
		return strconv.Itoa(r.first + i)
	}
	return Letters(r.first + i)
}

// Labels lists every row label in order.
func (r RowRange) Labels() []string {
	out := make([]string, r.count)
	for i := range out {
		out[i] = r.Label(i)
	}
	return out
}

// SectionShape is what seat generation needs of a section: its code, name and rectangle.
type SectionShape struct {
	Code        string
	Name        string
	RowStart    string
	RowEnd      string
	SeatsPerRow int
}

// Seat is one derived seat with its stable id and drawing position.
type Seat struct {
	SeatID      string  `json:"seat_id"`
	SectionCode string  `json:"section_code"`
	Row         string  `json:"row"`
	Number      int     `json:"number"`
	Label       string  `json:"label"`
	X           float64 `json:"x"`
	Y           float64 `json:"y"`
}

// LayoutRows returns, per section, the compact drawing rows: seats First..Last of a row at
// (X0 + (n-First)*DX, Y). Sections must be valid (their row ranges parse).
func LayoutRows(sections []SectionShape) ([][]contracts.LayoutRow, error) {
	widest := 0
	for _, s := range sections {
		widest = max(widest, s.SeatsPerRow)
	}
	out := make([][]contracts.LayoutRow, len(sections))
	y := 0.0
	for i, s := range sections {
		rr, err := ParseRowRange(s.RowStart, s.RowEnd)
		if err != nil {
			return nil, fmt.Errorf("section %s: %w", s.Code, err)
		}
		if i > 0 {
			y += SectionGap
		}
		x0 := float64(widest-s.SeatsPerRow) * SeatPitch / 2
		rows := make([]contracts.LayoutRow, rr.Count())
		for r := range rows {
			rows[r] = contracts.LayoutRow{Label: rr.Label(r), First: 1, Last: s.SeatsPerRow, Y: y, X0: x0, DX: SeatPitch}
			y += RowPitch
		}
		out[i] = rows
	}
	return out, nil
}

// Seats expands sections into every seat, in section, row and number order. Labels read
// like "Premium A-12" (section name, row, number).
func Seats(sections []SectionShape) ([]Seat, error) {
	rows, err := LayoutRows(sections)
	if err != nil {
		return nil, err
	}
	var out []Seat
	for i, s := range sections {
		for _, r := range rows[i] {
			for n := r.First; n <= r.Last; n++ {
				out = append(out, Seat{
					SeatID:      contracts.SeatID(s.Code, r.Label, n),
					SectionCode: s.Code,
					Row:         r.Label,
					Number:      n,
					Label:       fmt.Sprintf("%s %s-%d", s.Name, r.Label, n),
					X:           r.X0 + float64(n-r.First)*r.DX,
					Y:           r.Y,
				})
			}
		}
	}
	return out, nil
}
