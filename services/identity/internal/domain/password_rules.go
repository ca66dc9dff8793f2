package domain

import (
	_ "embed"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"evently.dev/libs/apperr"
)

//go:generate go run gen_common_passwords.go

//go:embed common-passwords.txt
var commonPasswordsFile string

var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	m := make(map[string]struct{}, 5000)
	for _, line := range strings.Split(commonPasswordsFile, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			m[line] = struct{}{}
		}
	}
	return m
})

// IsCommonPassword reports whether pw (compared case-insensitively) is on the shipped list
// of common and breached passwords.
func IsCommonPassword(pw string) bool {
	_, ok := commonPasswords()[strings.ToLower(pw)]
	return ok
}

// CheckNewPassword applies NIST SP 800-63B's rules for a chosen password: CheckPassword's
// length bounds, then refuses what an attacker tries first — a password on the common
// list, one made of a single repeated character or only of spaces, and the account's own
// e-mail address (or its part before the @). No composition rules: they do not help.
func CheckNewPassword(f *apperr.Fields, field, pw, email string) {
	before := len(*f)
	CheckPassword(f, field, pw)
	if len(*f) > before {
		return
	}
	lower := strings.ToLower(pw)
	email = NormalizeEmail(email)
	local, _, _ := strings.Cut(email, "@")
	switch {
	case strings.TrimFunc(pw, unicode.IsSpace) == "":
		f.Add(field, "must not be only spaces")
	case repeatsOneRune(pw):
		f.Add(field, "must not repeat a single character")
	case IsCommonPassword(pw):
		f.Add(field, "is too common: it appears in lists of breached passwords")
	case email != "" && (lower == email || (utf8.RuneCountInString(local) >= MinPasswordLen && lower == local)):
		f.Add(field, "must not be your e-mail address")
	}
}

func repeatsOneRune(s string) bool {
	first, _ := utf8.DecodeRuneInString(s)
	return strings.TrimLeft(s, string(first)) == ""
}
