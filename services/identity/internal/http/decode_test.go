package http

import (
	"strings"
	"testing"

	"evently.dev/libs/apperr"
	"evently.dev/libs/httpserver"

	"evently.dev/services/identity/internal/domain"
)

// decodeRegister is what the register handler does with a body after the content-type
// check: strict JSON decoding (400), then the sign-up rules (422).
func decodeRegister(body string) (domain.Registration, error) {
	var req registerRequest
	if err := httpserver.DecodeJSON(strings.NewReader(body), &req); err != nil {
		return domain.Registration{}, err
	}
	return req.registration()
}

func TestDecodeRegister(t *testing.T) {
	tests := []struct {
		body string
		kind apperr.Kind
		ok   bool
	}{
		{`{"first_name":"A","last_name":"B","email":"a@example.com","password":"long-enough-1"}`, 0, true},
		{`{"first_name":"A","last_name":"B","email":"a@example.com","password":"long-enough-1","role":"USER"}`, 0, true},
		{`{"first_name":"A","last_name":"B","email":"a@example.com","password":"long-enough-1","role":"ADMIN"}`, apperr.KindUnprocessable, false},
		{`{"first_name":1}`, apperr.KindInvalid, false},
		{`{"nope":1}`, apperr.KindInvalid, false},
		{`{`, apperr.KindInvalid, false},
		{``, apperr.KindInvalid, false},
		{`{} {}`, apperr.KindInvalid, false},
		{`{"first_name":"A","last_name":"B","email":"a@example.com","password":"long-enough-1","role":null}`, 0, true},
	}
	for _, tc := range tests {
		_, err := decodeRegister(tc.body)
		if tc.ok {
			if err != nil {
				t.Errorf("%s: %v", tc.body, err)
			}
			continue
		}
		ae, ok := apperr.As(err)
		if !ok || ae.Kind != tc.kind {
			t.Errorf("%s: error %v, want kind %v", tc.body, err, tc.kind)
		}
	}
}

// Fuzzing the decoders: any input yields a registration or a classified (4xx) error,
// never a panic or an unclassified error that would become a 500.
func FuzzDecodeRegister(f *testing.F) {
	f.Add(`{"first_name":"A","last_name":"B","email":"a@example.com","password":"long-enough-1"}`)
	f.Add(`{"role":"ADMIN"}`)
	f.Add(`{"first_name":"\u0000"}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, body string) {
		r, err := decodeRegister(body)
		if err != nil {
			ae, ok := apperr.As(err)
			if !ok || ae.Kind == apperr.KindInternal {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		if r.Email == "" || r.FirstName == "" || len(r.Password) < 8 {
			t.Fatalf("accepted invalid registration %+v", r)
		}
	})
}

func FuzzDecodeLogin(f *testing.F) {
	f.Add(`{"email":"a@example.com","password":"x"}`)
	f.Add(`{"email":1}`)
	f.Add(`{"email":"a","password":"b"} trailing`)
	f.Fuzz(func(t *testing.T, body string) {
		var req loginRequest
		if err := httpserver.DecodeJSON(strings.NewReader(body), &req); err != nil {
			if ae, ok := apperr.As(err); !ok || ae.Kind == apperr.KindInternal {
				t.Fatalf("unclassified error %v", err)
			}
		}
	})
}
