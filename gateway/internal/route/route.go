// Package route maps public paths to the service that owns them (API.md's table). The
// first matching rule wins, so more specific rules come first.
package route

import "strings"

// Rule sends every path that starts with Pattern's segments to Service. A "*" segment
// matches any one segment (an id).
type Rule struct {
	Pattern string
	Service string
	// Public paths pass without an access token; PublicMethods narrows that to some methods.
	Public        bool
	PublicMethods []string
}

// Table is the gateway's routing table, most specific first.
var Table = []Rule{
	{Pattern: "/.well-known/jwks.json", Service: "identity", Public: true},
	{Pattern: "/api/v1/auth/register", Service: "identity", Public: true},
	{Pattern: "/api/v1/auth/login", Service: "identity", Public: true},
	{Pattern: "/api/v1/auth/refresh", Service: "identity", Public: true},
	{Pattern: "/api/v1/auth", Service: "identity"},
	{Pattern: "/api/v1/admin/users", Service: "identity"},

	{Pattern: "/api/v1/admin/events/analytics", Service: "analytics"},
	{Pattern: "/api/v1/admin/events/*/analytics", Service: "analytics"},
	{Pattern: "/api/v1/admin/analytics", Service: "analytics"},

	{Pattern: "/api/v1/events/*/venue/layout", Service: "inventory"},
	{Pattern: "/api/v1/events/*/availability", Service: "inventory", Public: true, PublicMethods: []string{"GET", "HEAD"}},
	{Pattern: "/api/v1/seats", Service: "inventory"},
	{Pattern: "/api/v1/users/holds", Service: "inventory"},

	{Pattern: "/api/v1/events/*/sections", Service: "catalog"},
	{Pattern: "/api/v1/events", Service: "catalog", Public: true, PublicMethods: []string{"GET", "HEAD"}},
	{Pattern: "/api/v1/tags", Service: "catalog", Public: true, PublicMethods: []string{"GET", "HEAD"}},
	{Pattern: "/api/v1/admin/events", Service: "catalog"},
	{Pattern: "/api/v1/admin/venue-templates", Service: "catalog"},
	{Pattern: "/api/v1/admin/tags", Service: "catalog"},

	{Pattern: "/api/v1/bookings", Service: "booking"},
	{Pattern: "/api/v1/users/bookings", Service: "booking"},
	{Pattern: "/api/v1/cancellations", Service: "booking"},
	{Pattern: "/api/v1/users/cancellations", Service: "booking"},
	{Pattern: "/api/v1/admin/cancellations", Service: "booking"},
	{Pattern: "/api/v1/admin/bookings", Service: "booking"},

	{Pattern: "/api/v1/waitlist", Service: "waitlist"},
	{Pattern: "/api/v1/admin/waitlist", Service: "waitlist"},
}

// patterns holds Table's patterns split into segments once, index by index, so Match
// splits nothing per request (it runs twice on every proxied request: auth and proxy).
var patterns = func() [][]string {
	out := make([][]string, len(Table))
	for i, r := range Table {
		out[i] = strings.Split(strings.Trim(r.Pattern, "/"), "/")
	}
	return out
}()

// maxSegments bounds how many leading path segments Match compares; TestMatch checks that
// no pattern is longer (a longer one could never match).
const maxSegments = 8

// Match returns the first rule whose pattern prefixes path, segment by segment.
func Match(path string) (Rule, bool) {
	// The path's leading segments, cut once into an array on the stack: no allocation.
	var buf [maxSegments]string
	segs := buf[:0]
	for rest, more := strings.Trim(path, "/"), true; more && len(segs) < maxSegments; {
		var seg string
		seg, rest, more = strings.Cut(rest, "/")
		segs = append(segs, seg)
	}
	for i, pattern := range patterns {
		if matches(pattern, segs) {
			return Table[i], true
		}
	}
	return Rule{}, false
}

// IsPublic reports whether method on this rule needs no access token.
func (r Rule) IsPublic(method string) bool {
	if !r.Public {
		return false
	}
	if len(r.PublicMethods) == 0 {
		return true
	}
	for _, m := range r.PublicMethods {
		if m == method {
			return true
		}
	}
	return false
}

// IsAdmin reports whether the path needs the ADMIN role.
func IsAdmin(path string) bool {
	return path == "/api/v1/admin" || strings.HasPrefix(path, "/api/v1/admin/")
}

func matches(pattern, segs []string) bool {
	if len(segs) < len(pattern) {
		return false
	}
	for i, p := range pattern {
		if p != "*" && p != segs[i] {
			return false
		}
	}
	return true
}
