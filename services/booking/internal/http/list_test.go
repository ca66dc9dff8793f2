package http

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"evently.dev/libs/apperr"
	"evently.dev/libs/assertion"

	"evently.dev/services/booking/internal/domain"
)

func TestListFilter(t *testing.T) {
	const ev = "0192a5d2-0000-7000-8000-000000000001"
	cases := []struct {
		name    string
		query   string
		admin   bool
		bad     bool
		user    string
		status  domain.CancellationStatus
		limit   int
		eventID string
	}{
		{name: "own list is the caller's", query: "user_id=someone-else&event_id=" + ev, user: "u-1", limit: 20},
		{name: "status is case-insensitive", query: "status=pending&limit=5", user: "u-1", status: domain.CancellationPending, limit: 5},
		{name: "unknown status", query: "status=LOST", bad: true},
		{name: "admin filters", query: "user_id=u-9&event_id=" + ev, admin: true, user: "u-9", limit: 20, eventID: ev},
		{name: "admin bad event id", query: "event_id=nope", admin: true, bad: true},
		{name: "admin user id too long", query: "user_id=" + strings.Repeat("x", 65), admin: true, bad: true},
		{name: "bad limit", query: "limit=0", bad: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/?"+tc.query, nil)
			req = req.WithContext(assertion.WithIdentity(req.Context(), assertion.Identity{UserID: "u-1", Role: "USER"}))
			c := echo.New().NewContext(req, httptest.NewRecorder())
			f, err := listFilter(c, tc.admin, domain.ParseCancellationStatus, "PENDING, PROCESSED, REJECTED")
			if tc.bad {
				var ae *apperr.Error
				if !errors.As(err, &ae) {
					t.Fatalf("want a problem, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if f.UserID != tc.user || f.Status != tc.status || f.Limit != tc.limit || (tc.eventID != "" && f.EventID.String() != tc.eventID) {
				t.Fatalf("got %+v", f)
			}
			if tc.eventID == "" && !tc.admin && f.EventID.String() != "00000000-0000-0000-0000-000000000000" {
				t.Fatalf("own list must not filter by event: %+v", f)
			}
		})
	}
}
