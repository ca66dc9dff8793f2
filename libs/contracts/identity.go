package contracts

import "time"

// Identity event types, on TopicIdentityUsers keyed by user id.
const (
	TypeUserRegistered = "evently.identity.user.registered.v1"
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
