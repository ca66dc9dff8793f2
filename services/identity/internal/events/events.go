// Package events maps identity's domain changes to the public Kafka contract.
package events

import (
	"time"

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

// UserSessionsRevoked is the user.sessions_revoked payload for u's last revocation.
func UserSessionsRevoked(u domain.User, reason string) contracts.UserSessionsRevoked {
	return contracts.UserSessionsRevoked{UserID: u.ID.String(), RevokedBefore: u.SessionsRevokedAt.UTC().Truncate(time.Second),
		Reason: reason, Role: string(u.Role)}
}
