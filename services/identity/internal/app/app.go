// Package app holds identity's use cases, one file each; they speak domain types and the
// ports below, never HTTP or SQL.
package app

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"evently.dev/services/identity/internal/domain"
)

// PasswordHasher hashes and checks passwords.
type PasswordHasher interface {
	Hash(ctx context.Context, pw string) (string, error)
	Verify(ctx context.Context, encoded, pw string) (bool, error)
	// VerifyDummy costs as much as Verify, for unknown accounts.
	VerifyDummy(ctx context.Context, pw string)
}

// TokenIssuer signs access tokens.
type TokenIssuer interface {
	Issue(userID, role string, now time.Time) (string, error)
	TTL() time.Duration
}

// Service bundles the ports the use cases need.
type Service struct {
	Store      domain.Store
	Hasher     PasswordHasher
	Tokens     TokenIssuer
	RefreshTTL time.Duration
	Now        func() time.Time
}

// Session is what sign-up, login and refresh hand back.
type Session struct {
	User         domain.User
	AccessToken  string
	RefreshToken string
	ExpiresIn    time.Duration
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// startSession stores a refresh token in family (a new family when familyID is Nil) and
// signs an access token, inside the caller's transaction.
func (s *Service) startSession(ctx context.Context, r domain.Repository, u domain.User, familyID uuid.UUID, now time.Time) (Session, error) {
	secret, hash, err := domain.NewRefreshSecret()
	if err != nil {
		return Session{}, fmt.Errorf("refresh secret: %w", err)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Session{}, err
	}
	if familyID == uuid.Nil {
		familyID = id
	}
	if err := r.CreateRefreshToken(ctx, domain.RefreshToken{ID: id, FamilyID: familyID, UserID: u.ID, Hash: hash,
		CreatedAt: now, ExpiresAt: now.Add(s.RefreshTTL)}); err != nil {
		return Session{}, err
	}
	access, err := s.Tokens.Issue(u.ID.String(), string(u.Role), now)
	if err != nil {
		return Session{}, err
	}
	return Session{User: u, AccessToken: access, RefreshToken: secret, ExpiresIn: s.Tokens.TTL()}, nil
}
