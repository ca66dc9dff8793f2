package domain

import (
	"fmt"
	"time"
)

// DateLayout is how days are written in queries and reports.
const DateLayout = "2006-01-02"

// LoadZone resolves a reporting time zone name (IANA, e.g. "Europe/Berlin", or "UTC").
func LoadZone(name string) (*time.Location, error) {
	if name == "" {
		name = "UTC"
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("reporting time zone %q: %w", name, err)
	}
	return loc, nil
}

// HourStart is the start of t's hour as a clock in loc shows it. It subtracts the local
// minutes and seconds instead of rebuilding the time from its local fields, so zones with
// half-hour offsets cut at their own hour marks and the repeated hour at a daylight-saving
// change stays two distinct buckets.
func HourStart(t time.Time, loc *time.Location) time.Time {
	lt := t.In(loc)
	off := time.Duration(lt.Minute())*time.Minute + time.Duration(lt.Second())*time.Second +
		time.Duration(lt.Nanosecond())
	return lt.Add(-off).UTC()
}

// Day is the calendar date of t in loc, as midnight UTC of that date (a zone-free date).
func Day(t time.Time, loc *time.Location) time.Time {
	lt := t.In(loc)
	return time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, time.UTC)
}

// MinuteStart is the UTC minute t falls in, the unit of the live view.
func MinuteStart(t time.Time) time.Time { return t.UTC().Truncate(time.Minute) }

// WeekStart is the Monday (ISO 8601 week) of the week holding day.
func WeekStart(day time.Time) time.Time {
	wd := (int(day.Weekday()) + 6) % 7 // Monday = 0
	return day.AddDate(0, 0, -wd)
}

// MonthStart is the first day of day's month.
func MonthStart(day time.Time) time.Time {
	return time.Date(day.Year(), day.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// Span is an inclusive range of days.
type Span struct{ From, To time.Time }

// SplitMonths splits the days from..to into the whole calendar months inside it (first
// and last month start; ok false when there is none) and the partial months at its ends,
// so a report reads monthly rollups for the middle and daily rows only for the edges.
func SplitMonths(from, to time.Time) (firstMonth, lastMonth time.Time, ok bool, edges []Span) {
	firstMonth = MonthStart(from)
	if !from.Equal(firstMonth) {
		firstMonth = firstMonth.AddDate(0, 1, 0)
	}
	lastMonth = MonthStart(to)
	if !to.AddDate(0, 0, 1).Equal(lastMonth.AddDate(0, 1, 0)) {
		lastMonth = lastMonth.AddDate(0, -1, 0)
	}
	if firstMonth.After(lastMonth) {
		return time.Time{}, time.Time{}, false, []Span{{from, to}}
	}
	if from.Before(firstMonth) {
		edges = append(edges, Span{from, firstMonth.AddDate(0, 0, -1)})
	}
	if after := lastMonth.AddDate(0, 1, 0); !to.Before(after) {
		edges = append(edges, Span{after, to})
	}
	return firstMonth, lastMonth, true, edges
}
