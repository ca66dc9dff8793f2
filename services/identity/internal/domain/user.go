// Package domain holds identity's entities, validation rules, errors and the repository
// contract; it knows nothing of HTTP, SQL or Kafka.
package domain

import (
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"evently.dev/libs/apperr"
)

// Role is what a user may do; it travels in the access token.
type Role string

// Roles; registration only ever creates RoleUser.
const (
	RoleUser  Role = "USER"
	RoleAdmin Role = "ADMIN"
)

// ParseRole accepts exactly the known role names.
func ParseRole(s string) (Role, bool) {
	switch Role(s) {
	case RoleUser, RoleAdmin:
		return Role(s), true
	}
	return "", false
}

// Password length bounds, counted in characters.
const (
	MinPasswordLen = 8
	MaxPasswordLen = 128
	maxNameLen     = 100
	maxEmailLen    = 254
)

// User is an account.
type User struct {
	ID                uuid.UUID
	Email             string
	FirstName         string
	LastName          string
	PasswordHash      string
	Role              Role
	CreatedAt         time.Time
	UpdatedAt         time.Time
	PasswordChangedAt time.Time
	// SessionsRevokedAt is the last time every access token of the user was voided
	// (logout, password or role change); zero when never.
	SessionsRevokedAt time.Time
}

// NormalizeEmail trims and lower-cases an address so one mailbox maps to one account.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// ValidEmail reports whether an already-normalised address is a plain addr-spec.
func ValidEmail(email string) bool {
	if email == "" || len(email) > maxEmailLen {
		return false
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" {
		return false
	}
	at := strings.LastIndexByte(email, '@')
	return at > 0 && strings.Contains(email[at+1:], ".")
}

// CheckPassword adds a field error unless pw has an acceptable length (the only rule for a
// password being presented; CheckNewPassword adds the rules for choosing one).
func CheckPassword(f *apperr.Fields, field, pw string) {
	n := utf8.RuneCountInString(pw)
	switch {
	case !utf8.ValidString(pw):
		f.Add(field, "must be valid UTF-8")
	case n < MinPasswordLen:
		f.Add(field, "must be at least %d characters", MinPasswordLen)
	case n > MaxPasswordLen:
		f.Add(field, "must be at most %d characters", MaxPasswordLen)
	}
}

// Registration is the validated input of a new account.
type Registration struct {
	FirstName string
	LastName  string
	Email     string
	Password  string
}

// NewRegistration normalises and validates sign-up input; role, when given, must be USER:
// public registration never creates an administrator.
func NewRegistration(firstName, lastName, email, password string, role *string) (Registration, error) {
	r := Registration{FirstName: strings.TrimSpace(firstName), LastName: strings.TrimSpace(lastName),
		Email: NormalizeEmail(email), Password: password}
	var f apperr.Fields
	checkName(&f, "first_name", r.FirstName)
	checkName(&f, "last_name", r.LastName)
	if !ValidEmail(r.Email) {
		f.Add("email", "must be a valid email address")
	}
	CheckNewPassword(&f, "password", password, r.Email)
	if role != nil && Role(*role) != RoleUser {
		f.Add("role", "registration creates USER accounts only")
	}
	return r, f.Err()
}

func checkName(f *apperr.Fields, field, v string) {
	switch {
	case v == "":
		f.Add(field, "is required")
	case utf8.RuneCountInString(v) > maxNameLen:
		f.Add(field, "must be at most %d characters", maxNameLen)
	case strings.ContainsAny(v, "\x00\r\n"):
		f.Add(field, "must not contain control characters")
	}
}
