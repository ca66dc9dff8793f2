package domain

import (
	"fmt"
	"strconv"
)

// SectionLayout is one section's seat rows as catalog froze them at publishing.
type SectionLayout struct {
	ID   string
	Code string
	Name string
	Rows []RowRun
}

// RowRun is a run of seats numbered First..Last in one row; seat n is drawn at
// (X0 + (n-First)*DX, Y).
type RowRun struct {
	Label string
	First int
	Last  int
	Y     float64
	X0    float64
	DX    float64
}

// Seat is one seat of an event's layout; its position never changes after publishing.
type Seat struct {
	ID        string
	SectionID string
	Row       string
	Number    int
	Label     string
	X, Y      float64
	// Run indexes the seat's row run within its section, front first: best-available
	// prefers lower runs.
	Run int
}

// MaxSeatsPerEvent bounds an expanded layout so a hostile or broken message cannot make
// the service allocate without limit.
const MaxSeatsPerEvent = 200_000

// SeatIDFunc turns a section code, row label and number into a seat id (contracts.SeatID).
type SeatIDFunc func(sectionCode, row string, number int) string

// ExpandLayout lists every seat of the sections in order (section, row run, number).
func ExpandLayout(sections []SectionLayout, seatID SeatIDFunc) ([]Seat, error) {
	total := 0
	for _, s := range sections {
		for _, r := range s.Rows {
			if r.Last < r.First || r.First < 0 {
				return nil, fmt.Errorf("section %s row %s: bad seat range %d..%d", s.Code, r.Label, r.First, r.Last)
			}
			total += r.Last - r.First + 1
			if total > MaxSeatsPerEvent {
				return nil, fmt.Errorf("layout has more than %d seats", MaxSeatsPerEvent)
			}
		}
	}
	seats := make([]Seat, 0, total)
	seen := make(map[string]struct{}, total)
	for _, s := range sections {
		for ri, r := range s.Rows {
			for n := r.First; n <= r.Last; n++ {
				id := seatID(s.Code, r.Label, n)
				if _, dup := seen[id]; dup {
					return nil, fmt.Errorf("duplicate seat id %s", id)
				}
				seen[id] = struct{}{}
				seats = append(seats, Seat{
					ID: id, SectionID: s.ID, Row: r.Label, Number: n,
					Label: SeatLabel(r.Label, n),
					X:     r.X0 + float64(n-r.First)*r.DX, Y: r.Y, Run: ri,
				})
			}
		}
	}
	return seats, nil
}

// SeatLabel is the human name of a seat printed on tickets and maps.
func SeatLabel(row string, number int) string {
	return "Row " + row + " Seat " + strconv.Itoa(number)
}
