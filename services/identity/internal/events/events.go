// Package events maps identity's domain changes to the public Kafka contract.
package events

import (
	"evently.dev/libs/contracts"

	"evently.dev/services/identity/internal/domain"
)

// Source is the CloudEvents source of every identity event.
const Source = "/services/identity"

// UserRegistered is the user.registered payload for u.
func UserRegistered(u domain.User) contracts.UserRegistered {
	return contracts.UserRegistered{UserID: u.ID.String(), Email: u.Email, FirstName: u.FirstName,
		LastName: u.LastName, Role: string(u.Role), RegisteredAt: u.CreatedAt.UTC()}
}
