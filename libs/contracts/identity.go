package contracts

import "time"

// Identity event types, on TopicIdentityUsers keyed by user id.
const (
	TypeUserRegistered      = "evently.identity.user.registered.v1"
	TypeUserSessionsRevoked = "evently.identity.user.sessions_revoked.v1"
)

// UserRegistered announces a new account so services that email users keep a local copy.
type UserRegistered struct {
	UserID       string    `json:"user_id"`
	Email        string    `json:"email"`
	FirstName    string    `json:"first_name"`
	LastName     string    `json:"last_name"`
	Role         string    `json:"role"`
	RegisteredAt time.Time `json:"registered_at"`
}

// UserSessionsRevoked announces that every access token of the user issued at or before
// RevokedBefore (whole seconds, like iat) is void: after a logout, a password change or a
// role change. The gateway already enforces it through Redis when this is published.
type UserSessionsRevoked struct {
	UserID        string    `json:"user_id"`
	RevokedBefore time.Time `json:"revoked_before"`
	// Reason is logout, password_changed or role_changed.
	Reason string `json:"reason"`
	Role   string `json:"role"`
}
