package domain

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// Store runs use cases' writes atomically.
type Store interface {
	Repository
	// InTx runs fn in one transaction; fn's error rolls it back.
	InTx(ctx context.Context, fn func(ctx context.Context, r Repository) error) error
}

// Repository is identity's persistence, used inside or outside a transaction.
type Repository interface {
	// CreateUser inserts u; a taken email is ErrEmailTaken.
	CreateUser(ctx context.Context, u User) error
	UserByID(ctx context.Context, id uuid.UUID) (User, error)
	// UserByEmail looks up a normalised email; unknown is ErrUserNotFound.
	UserByEmail(ctx context.Context, email string) (User, error)
	// UserForUpdate reads and locks the user until the transaction ends.
	UserForUpdate(ctx context.Context, id uuid.UUID) (User, error)
	UpdateUser(ctx context.Context, u User) error
	CountAdmins(ctx context.Context) (int, error)
	// PublishUserRegistered adds user.registered to the outbox of the current transaction.
	PublishUserRegistered(ctx context.Context, u User) error
	// PublishSessionsRevoked adds user.sessions_revoked (for u.SessionsRevokedAt) to the outbox.
	PublishSessionsRevoked(ctx context.Context, u User, reason string) error

	CreateRefreshToken(ctx context.Context, t RefreshToken) error
	// RefreshTokenForUpdate finds a token by hash and locks it; unknown is ErrInvalidRefreshToken.
	RefreshTokenForUpdate(ctx context.Context, hash []byte) (RefreshToken, error)
	MarkRefreshTokenUsed(ctx context.Context, id uuid.UUID, at time.Time) error
	RevokeRefreshFamily(ctx context.Context, familyID uuid.UUID, at time.Time) error
	RevokeUserRefreshTokens(ctx context.Context, userID uuid.UUID, at time.Time) error
	DeleteExpiredRefreshTokens(ctx context.Context, before time.Time) (int64, error)
}
