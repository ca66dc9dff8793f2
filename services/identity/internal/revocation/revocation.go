// Package revocation records voided sessions where the gateway enforces them (Redis,
// shared by every gateway replica; the format is libs/sessions).
package revocation

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"evently.dev/libs/sessions"
)

// Store writes revocations under the environment's key prefix.
type Store struct {
	RDB    redis.Scripter
	Prefix string
}

// RevokeSessions voids the user's access tokens issued at or before notAfter until until.
func (s Store) RevokeSessions(ctx context.Context, userID uuid.UUID, notAfter, until time.Time) error {
	return sessions.Write(ctx, s.RDB, s.Prefix, sessions.Revocation{UserID: userID.String(),
		NotAfter: notAfter.Truncate(time.Second), Until: until})
}
