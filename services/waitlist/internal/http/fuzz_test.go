package http

import (
	"io"
	"strings"
	"testing"

	"github.com/google/uuid"

	"evently.dev/libs/apperr"
	"evently.dev/libs/httpserver"

	"evently.dev/services/waitlist/internal/domain"
)

// decodeJoinRequest is the join handler's decoding: httpserver.BindJSON's decoder, then
// the request's validation.
func decodeJoinRequest(r io.Reader) (domain.JoinSpec, error) {
	var req domain.JoinRequest
	if err := httpserver.DecodeJSON(r, &req); err != nil {
		return domain.JoinSpec{}, err
	}
	return req.Validate()
}

// FuzzDecodeJoinRequest: any body either decodes to a valid spec or fails with a client
// error (400/413/422) — never a panic, never a server error, never an out-of-range spec.
func FuzzDecodeJoinRequest(f *testing.F) {
	for _, s := range []string{
		`{"event_id":"0192a5d2-0000-7000-8000-000000000001","quantity":2}`,
		`{"event_id":"0192a5d2-0000-7000-8000-000000000001","quantity":1,"section_id":"0192a5d2-0000-7000-8000-000000000002"}`,
		`{"event_id":"0192a5d2-0000-7000-8000-000000000001","quantity":0}`,
		`{"event_id":"0192a5d2-0000-7000-8000-000000000001","quantity":11}`,
		`{"event_id":"x","quantity":"2"}`,
		`{"event_id":"0192a5d2-0000-7000-8000-000000000001","quantity":2,"extra":1}`,
		`{"quantity":1e400}`, `[]`, `null`, ``, `{`, `{"event_id":null,"quantity":null}`,
		`{"event_id":"0192a5d2-0000-7000-8000-000000000001","quantity":2} {}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		spec, err := decodeJoinRequest(strings.NewReader(body))
		if err != nil {
			ae, ok := apperr.As(err)
			if !ok {
				t.Fatalf("unclassified error %v for %q", err, body)
			}
			switch ae.Kind {
			case apperr.KindInvalid, apperr.KindUnprocessable, apperr.KindTooLarge:
			default:
				t.Fatalf("error kind %d for %q", ae.Kind, body)
			}
			return
		}
		if spec.EventID == uuid.Nil || spec.Quantity < domain.MinQuantity || spec.Quantity > domain.MaxQuantity {
			t.Fatalf("accepted invalid spec %+v from %q", spec, body)
		}
		if spec.SectionID != "" {
			if _, err := uuid.Parse(spec.SectionID); err != nil {
				t.Fatalf("accepted bad section %q", spec.SectionID)
			}
		}
	})
}
