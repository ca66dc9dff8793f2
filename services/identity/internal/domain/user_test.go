package domain

import (
	"errors"
	"strings"
	"testing"

	"evently.dev/libs/apperr"
)

func TestNewRegistration(t *testing.T) {
	user, admin, empty := "USER", "ADMIN", ""
	tests := []struct {
		name        string
		first, last string
		email, pw   string
		role        *string
		wantFields  []string
		wantEmail   string
	}{
		{"valid", "Ada", "Lovelace", "ada@example.com", "long-enough-1", nil, nil, "ada@example.com"},
		{"normalised email", " Ada ", "L", "  Ada@Example.COM ", "long-enough-1", &user, nil, "ada@example.com"},
		{"admin role refused", "A", "B", "a@example.com", "long-enough-1", &admin, []string{"role"}, ""},
		{"empty role refused", "A", "B", "a@example.com", "long-enough-1", &empty, []string{"role"}, ""},
		{"short password", "A", "B", "a@example.com", "1234567", nil, []string{"password"}, ""},
		{"128 chars ok", "A", "B", "a@example.com", strings.Repeat("é1", 64), nil, nil, "a@example.com"},
		{"129 chars", "A", "B", "a@example.com", strings.Repeat("x", 129), nil, []string{"password"}, ""},
		{"common password", "A", "B", "a@example.com", "12345678", nil, []string{"password"}, ""},
		{"common, other case", "A", "B", "a@example.com", "PassWord123", nil, []string{"password"}, ""},
		{"eight spaces", "A", "B", "a@example.com", "        ", nil, []string{"password"}, ""},
		{"one repeated character", "A", "B", "a@example.com", "zzzzzzzzzzzz", nil, []string{"password"}, ""},
		{"the e-mail", "A", "B", "Ada.Lovelace@example.com", "ada.lovelace@example.com", nil, []string{"password"}, ""},
		{"the e-mail's local part", "A", "B", "ada.lovelace@example.com", "Ada.Lovelace", nil, []string{"password"}, ""},
		{"spaces inside are fine", "A", "B", "a@example.com", "correct horse battery", nil, nil, "a@example.com"},
		{"invalid UTF-8", "A", "B", "a@example.com", "long-enough-1\xff", nil, []string{"password"}, ""},
		{"missing everything", "", " ", "", "", nil, []string{"first_name", "last_name", "email", "password"}, ""},
		{"display-name email", "A", "B", "Ada <ada@example.com>", "long-enough-1", nil, []string{"email"}, ""},
		{"no domain dot", "A", "B", "ada@localhost", "long-enough-1", nil, []string{"email"}, ""},
		{"long name", strings.Repeat("n", 101), "B", "a@example.com", "long-enough-1", nil, []string{"first_name"}, ""},
		{"newline in name", "A\nB", "B", "a@example.com", "long-enough-1", nil, []string{"first_name"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewRegistration(tc.first, tc.last, tc.email, tc.pw, tc.role)
			if len(tc.wantFields) == 0 {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				if r.Email != tc.wantEmail {
					t.Fatalf("email %q, want %q", r.Email, tc.wantEmail)
				}
				return
			}
			ae, ok := apperr.As(err)
			if !ok || ae.Kind != apperr.KindUnprocessable {
				t.Fatalf("error %v, want a 422 validation error", err)
			}
			var got []string
			for _, f := range ae.Fields {
				got = append(got, f.Field)
			}
			if strings.Join(got, ",") != strings.Join(tc.wantFields, ",") {
				t.Fatalf("fields %v, want %v", got, tc.wantFields)
			}
		})
	}
}

func TestRefreshSecrets(t *testing.T) {
	a, ha, err := NewRefreshSecret()
	if err != nil {
		t.Fatal(err)
	}
	b, _, _ := NewRefreshSecret()
	if a == b || len(a) != 43 || len(ha) != 32 {
		t.Fatalf("secrets %q %q (hash %d bytes)", a, b, len(ha))
	}
	if string(HashRefreshSecret(a)) != string(ha) {
		t.Fatal("hash is not deterministic")
	}
}

func TestErrorsKeepTheirKinds(t *testing.T) {
	if !errors.Is(ErrInvalidRefreshToken.WithDetail("x"), ErrInvalidRefreshToken) {
		t.Fatal("WithDetail copy does not match")
	}
}
