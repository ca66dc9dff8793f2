package http_test

import (
	"strings"
	"testing"

	"evently.dev/libs/apperr"
	"evently.dev/libs/httpserver"

	invhttp "evently.dev/services/inventory/internal/http"
)

// FuzzDecodeHoldRequest feeds arbitrary bodies to the hold decoder: it must never panic,
// and every refusal must be a classified 4xx error, never an internal one.
func FuzzDecodeHoldRequest(f *testing.F) {
	for _, s := range []string{
		`{"event_id":"0193a3c2-5b0e-7c3e-9a51-6f1c2d7e8a90","seat_ids":["A-R1-S1"]}`,
		`{"event_id":"0193a3c2-5b0e-7c3e-9a51-6f1c2d7e8a90","section_id":"0193a3c2-5b0e-7c3e-9a51-6f1c2d7e8a91","quantity":2,"allow_split":true}`,
		`{"event_id":"x","seat_ids":[]}`, `{"quantity":-1}`, `{"seat_ids":[null]}`, `[]`, `null`, ``, `{"a":1}`,
		`{"event_id":"0193a3c2-5b0e-7c3e-9a51-6f1c2d7e8a90","seat_ids":["A","A"]}`, `{"quantity":1e99}`, `{} {}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		spec, err := invhttp.DecodeHoldRequest(strings.NewReader(body), 10)
		if err != nil {
			p := httpserver.ToProblem(err)
			if p.Status < 400 || p.Status >= 500 {
				t.Fatalf("body %q: status %d (%v)", body, p.Status, err)
			}
			if _, ok := apperr.As(err); !ok {
				t.Fatalf("body %q: unclassified error %v", body, err)
			}
			return
		}
		if n := spec.Count(); n < 1 || n > 10 {
			t.Fatalf("body %q accepted with %d seats", body, n)
		}
	})
}
