package password

import (
	"context"
	"strings"
	"testing"
)

var testParams = Params{MemoryKiB: 1024, Iterations: 1, Parallelism: 1}

func TestHashAndVerify(t *testing.T) {
	ctx := context.Background()
	h, err := NewHasher(testParams, 2)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := h.Hash(ctx, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Fatalf("unexpected encoding %q", enc)
	}
	other, _ := h.Hash(ctx, "correct horse")
	if other == enc {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
	tests := []struct {
		pw   string
		want bool
	}{
		{"correct horse", true},
		{"correct horsE", false},
		{"", false},
		{"correct horse ", false},
	}
	for _, tc := range tests {
		ok, err := h.Verify(ctx, enc, tc.pw)
		if err != nil || ok != tc.want {
			t.Errorf("Verify(%q) = %v, %v; want %v", tc.pw, ok, err, tc.want)
		}
	}
	// A hash made with other parameters still verifies: they travel in the hash.
	h2, _ := NewHasher(Params{MemoryKiB: 2048, Iterations: 2, Parallelism: 1}, 1)
	if ok, err := h2.Verify(ctx, enc, "correct horse"); !ok || err != nil {
		t.Fatalf("cross-parameter verify = %v, %v", ok, err)
	}
}

func TestVerifyRejectsMalformed(t *testing.T) {
	h, _ := NewHasher(testParams, 1)
	for _, enc := range []string{
		"", "plain", "$2a$12$abcdefghijklmnopqrstuv",
		"$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$",
		"$argon2id$v=18$m=1024,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=1024,t=1,p=0$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
	} {
		if _, err := h.Verify(context.Background(), enc, "x"); err == nil {
			t.Errorf("Verify accepted malformed hash %q", enc)
		}
	}
}

func TestNewHasherRejectsBadParams(t *testing.T) {
	for _, p := range []Params{{0, 1, 1}, {1024, 0, 1}, {1024, 1, 0}, {1 << 21, 1, 1}} {
		if _, err := NewHasher(p, 1); err == nil {
			t.Errorf("NewHasher(%+v) accepted", p)
		}
	}
}
