package httpserver

import (
	"io"
	"testing"

	"evently.dev/libs/apperr"
)

// TestDecodeJSONRefusesNUL checks that a string holding an escaped NUL is a 400 (it would
// be a 500 at the database), whatever the case of its hex digits or the chunking of the
// body, while an escaped backslash followed by "u0000" is ordinary text.
func TestDecodeJSONRefusesNUL(t *testing.T) {
	cases := map[string]bool{
		`{"a":"x\u0000y"}`:      true,
		`{"a":"\\\u0000"}`:      true,
		`{"a":["ok","\u0000"]}`: true,
		`{"a":"\\u0000"}`:       false,
		`{"a":"\u00001"}`:       true,
		`{"a":"\u0001"}`:        false,
		`{"a":"u0000"}`:         false,
		`{"a":"plain"}`:         false,
	}
	for body, refused := range cases {
		for _, chunk := range []int{1, 3, 1024} {
			var dst map[string]any
			err := DecodeJSON(&chunked{s: body, n: chunk}, &dst)
			ae, _ := apperr.As(err)
			if refused != (err != nil) || (refused && ae.Kind != apperr.KindInvalid) {
				t.Errorf("%s in chunks of %d: %v", body, chunk, err)
			}
		}
	}
}

// chunked hands out a string n bytes per Read, as a network body might.
type chunked struct {
	s string
	n int
}

func (c *chunked) Read(p []byte) (int, error) {
	if c.s == "" {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), c.n)], c.s)
	c.s = c.s[k:]
	return k, nil
}

func TestAcceptsGzip(t *testing.T) {
	for h, want := range map[string]bool{
		"": false, "gzip": true, "GZIP": true, "gzip, deflate, br": true, "br;q=1.0, gzip;q=0.8": true,
		"gzip;q=0": false, "gzip; q=0.0": false, "*": true, "*;q=0": false, "*, gzip;q=0": false,
		"deflate": false, "identity": false, "x-gzip2": false,
	} {
		if got := AcceptsGzip(h); got != want {
			t.Errorf("AcceptsGzip(%q) = %v, want %v", h, got, want)
		}
	}
}
