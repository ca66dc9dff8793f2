package assertion

import (
	"net/http"
	"testing"
	"time"
)

func TestVerify(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	const secret = "s3cret"
	signed := func(id Identity, reqID string, at time.Time) http.Header {
		h := http.Header{}
		h.Set(HeaderRequestID, reqID)
		Sign(h, secret, id, reqID, at)
		return h
	}
	user := Identity{UserID: "0192a5d2-0000-7000-8000-000000000001", Role: RoleUser}
	tests := []struct {
		name    string
		h       func() http.Header
		wantOK  bool
		wantErr bool
	}{
		{"valid user", func() http.Header { return signed(user, "r1", now) }, true, false},
		{"anonymous without headers", func() http.Header { return http.Header{} }, false, false},
		{"anonymous signed", func() http.Header { return signed(Identity{}, "r1", now) }, false, false},
		{"forged role", func() http.Header { h := signed(user, "r1", now); h.Set(HeaderUserRole, RoleAdmin); return h }, false, true},
		{"forged user", func() http.Header { h := signed(user, "r1", now); h.Set(HeaderUserID, "other"); return h }, false, true},
		{"forged request id", func() http.Header { h := signed(user, "r1", now); h.Set(HeaderRequestID, "r2"); return h }, false, true},
		{"headers without assertion", func() http.Header {
			h := http.Header{}
			h.Set(HeaderUserID, "x")
			h.Set(HeaderUserRole, RoleAdmin)
			return h
		}, false, true},
		{"stale", func() http.Header { return signed(user, "r1", now.Add(-2*time.Minute)) }, false, true},
		{"from the future", func() http.Header { return signed(user, "r1", now.Add(2*time.Minute)) }, false, true},
		{"garbage", func() http.Header { h := http.Header{}; h.Set(HeaderAssertion, "v1;t=abc;sig=x"); return h }, false, true},
		{"wrong secret", func() http.Header {
			h := http.Header{}
			Sign(h, "other", user, "", now)
			return h
		}, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, ok, err := Verify(tc.h(), secret, now)
			if ok != tc.wantOK || (err != nil) != tc.wantErr {
				t.Fatalf("ok=%v err=%v", ok, err)
			}
			if ok && id != user {
				t.Fatalf("identity %+v", id)
			}
		})
	}
}
