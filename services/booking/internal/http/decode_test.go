package http

import (
	"strings"
	"testing"

	"github.com/google/uuid"

	"evently.dev/libs/apperr"
)

func TestDecodeConfirm(t *testing.T) {
	hold := "0192a5d2-0000-7000-8000-000000000001"
	cases := []struct {
		name   string
		body   string
		key    string
		kind   apperr.Kind
		ok     bool
		method string
	}{
		{"minimal", `{"hold_id":"` + hold + `"}`, "", 0, true, "simulated"},
		{"all fields", `{"hold_id":"` + hold + `","event_id":"` + hold + `","payment_method":"card"}`, "k", 0, true, "card"},
		{"payment method at the limit", `{"hold_id":"` + hold + `","payment_method":"` + strings.Repeat("x", 32) + `"}`, "", 0, true, strings.Repeat("x", 32)},
		{"payment method too long", `{"hold_id":"` + hold + `","payment_method":"` + strings.Repeat("x", 33) + `"}`, "", apperr.KindUnprocessable, false, ""},
		{"empty payment method", `{"hold_id":"` + hold + `","payment_method":" "}`, "", apperr.KindUnprocessable, false, ""},
		{"missing hold", `{}`, "", apperr.KindUnprocessable, false, ""},
		{"bad hold", `{"hold_id":"x"}`, "", apperr.KindUnprocessable, false, ""},
		{"bad event", `{"hold_id":"` + hold + `","event_id":"x"}`, "", apperr.KindUnprocessable, false, ""},
		{"unknown field", `{"hold_id":"` + hold + `","total_amount":1}`, "", apperr.KindInvalid, false, ""},
		{"wrong type", `{"hold_id":1}`, "", apperr.KindInvalid, false, ""},
		{"malformed", `{"hold_id":`, "", apperr.KindInvalid, false, ""},
		{"two objects", `{"hold_id":"` + hold + `"}{}`, "", apperr.KindInvalid, false, ""},
		{"empty", ``, "", apperr.KindInvalid, false, ""},
		{"key too long", `{"hold_id":"` + hold + `"}`, strings.Repeat("k", 201), apperr.KindUnprocessable, false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := DecodeConfirm(strings.NewReader(c.body), c.key)
			if c.ok {
				if err != nil || req.HoldID.String() != hold || req.PaymentMethod != c.method {
					t.Fatalf("got %+v, %v", req, err)
				}
				return
			}
			ae, ok := apperr.As(err)
			if !ok || ae.Kind != c.kind {
				t.Fatalf("err = %v, want kind %d", err, c.kind)
			}
		})
	}
}

// FuzzDecodeConfirm: any body and header either decodes to a usable request or is refused
// with a client error — never a panic, never an internal error.
func FuzzDecodeConfirm(f *testing.F) {
	for _, s := range []string{`{"hold_id":"0192a5d2-0000-7000-8000-000000000001"}`, `{}`, `{"hold_id":null}`,
		`{"hold_id":"0192a5d2-0000-7000-8000-000000000001","event_id":"","payment_method":"` + strings.Repeat("é", 20) + `"}`,
		`[]`, `"x"`, `{"hold_id":"a","hold_id":"b"}`, "\x00", `{"payment_method":1e309}`} {
		f.Add(s, "")
	}
	f.Add(`{"hold_id":"0192a5d2-0000-7000-8000-000000000001"}`, "key-1")
	f.Fuzz(func(t *testing.T, body, key string) {
		req, err := DecodeConfirm(strings.NewReader(body), key)
		if err != nil {
			ae, ok := apperr.As(err)
			if !ok || (ae.Kind != apperr.KindInvalid && ae.Kind != apperr.KindUnprocessable) {
				t.Fatalf("body %q: error %v is not a client error", body, err)
			}
			return
		}
		if req.HoldID == uuid.Nil || req.PaymentMethod == "" || len(req.PaymentMethod) > 32 || len(req.IdempotencyKey) > 200 {
			t.Fatalf("body %q decoded to an unusable request %+v", body, req)
		}
	})
}
