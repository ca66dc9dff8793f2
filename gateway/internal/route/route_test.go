package route

import "testing"

func TestMatch(t *testing.T) {
	id := "0192a5d2-0000-7000-8000-000000000001"
	tests := []struct {
		path, service string
		public        bool
		method        string
	}{
		{"/api/v1/auth/login", "identity", true, "POST"},
		{"/api/v1/auth/me", "identity", false, "GET"},
		{"/api/v1/admin/users/" + id + "/role", "identity", false, "PUT"},
		{"/.well-known/jwks.json", "identity", true, "GET"},
		{"/api/v1/admin/events/analytics", "analytics", false, "GET"},
		{"/api/v1/admin/events/" + id + "/analytics", "analytics", false, "GET"},
		{"/api/v1/admin/events/" + id, "catalog", false, "GET"},
		{"/api/v1/admin/events/" + id + "/publish", "catalog", false, "POST"},
		{"/api/v1/admin/analytics/revenue", "analytics", false, "GET"},
		{"/api/v1/events", "catalog", true, "GET"},
		{"/api/v1/events/upcoming", "catalog", true, "GET"},
		{"/api/v1/events/" + id, "catalog", true, "GET"},
		{"/api/v1/events/" + id + "/sections", "catalog", false, "GET"},
		{"/api/v1/events/" + id + "/cancellation-policy", "catalog", true, "GET"},
		{"/api/v1/events/" + id + "/venue/layout", "inventory", false, "GET"},
		{"/api/v1/events/" + id + "/availability", "inventory", true, "GET"},
		{"/api/v1/events/" + id + "/availability/stream", "inventory", true, "GET"},
		{"/api/v1/seats/hold", "inventory", false, "POST"},
		{"/api/v1/users/holds", "inventory", false, "GET"},
		{"/api/v1/users/bookings", "booking", false, "GET"},
		{"/api/v1/bookings/confirm", "booking", false, "POST"},
		{"/api/v1/admin/cancellations/" + id + "/approve", "booking", false, "POST"},
		{"/api/v1/waitlist/status/" + id, "waitlist", false, "GET"},
		{"/api/v1/admin/waitlist/notify/" + id, "waitlist", false, "POST"},
		{"/api/v1/tags/active", "catalog", true, "GET"},
		{"/api/v1/admin/tags", "catalog", false, "POST"},
	}
	for _, tc := range tests {
		r, ok := Match(tc.path)
		if !ok || r.Service != tc.service {
			t.Errorf("%s → %q (%v), want %s", tc.path, r.Service, ok, tc.service)
			continue
		}
		if r.IsPublic(tc.method) != tc.public {
			t.Errorf("%s %s public=%v, want %v", tc.method, tc.path, r.IsPublic(tc.method), tc.public)
		}
	}
	for _, p := range patterns {
		if len(p) > maxSegments {
			t.Errorf("pattern %v has more than maxSegments segments", p)
		}
	}
	if _, ok := Match("/api/v1/nothing"); ok {
		t.Error("unknown path matched")
	}
	if r, _ := Match("/api/v1/events"); r.IsPublic("POST") {
		t.Error("POST /events must not be public")
	}
	if !IsAdmin("/api/v1/admin/events") || IsAdmin("/api/v1/administrator") {
		t.Error("IsAdmin wrong")
	}
}

// BenchmarkMatch measures the lookup every proxied request makes (twice: auth and proxy).
func BenchmarkMatch(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := Match("/api/v1/bookings/confirm"); !ok {
			b.Fatal("no match")
		}
	}
}
