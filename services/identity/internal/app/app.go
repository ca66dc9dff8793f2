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

// SessionRevoker makes every access token of a user issued at or before a moment unusable
// at once (the gateway enforces it), for as long as such a token could still be valid.
type SessionRevoker interface {
	RevokeSessions(ctx context.Context, userID uuid.UUID, notAfter, until time.Time) error
}

// LoginThrottle slows password guessing per account, whoever calls identity.
type LoginThrottle interface {
	// Wait is how long the address must wait before its next attempt (0: go ahead).
	Wait(ctx context.Context, email string) (time.Duration, error)
	// Failed records a wrong password for the address.
	Failed(ctx context.Context, email string) error
	// Succeeded clears the address's failures.
	Succeeded(ctx context.Context, email string) error
}

// Service bundles the ports the use cases need. Revoker and Throttle may be nil (tests of
// other flows); the service wires both.
type Service struct {
	Store      domain.Store
	Hasher     PasswordHasher
	Tokens     TokenIssuer
	RefreshTTL time.Duration
	Now        func() time.Time
	Revoker    SessionRevoker
	Throttle   LoginThrottle
	// RevocationMargin is added to the access-token TTL for how long a revocation is kept:
	// the gateway's clock-skew leeway lets a token live that much past its exp.
	RevocationMargin time.Duration
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
	access, err := s.Tokens.Issue(u.ID.String(), string(u.Role), issuedAfterRevocation(u, now))
	if err != nil {
		return Session{}, err
	}
	return Session{User: u, AccessToken: access, RefreshToken: secret, ExpiresIn: s.Tokens.TTL()}, nil
}

// issuedAfterRevocation is the issue time for a new access token of u: now, moved to the
// next whole second when now falls in the same second as u's last revocation, because the
// gateway voids every token whose (whole-second) iat is at or before that second.
func issuedAfterRevocation(u domain.User, now time.Time) time.Time {
	cut := u.SessionsRevokedAt.Truncate(time.Second)
	if !u.SessionsRevokedAt.IsZero() && !now.Truncate(time.Second).After(cut) {
		return cut.Add(time.Second)
	}
	return now
}

// revokeSessions records, inside the caller's transaction, that u's access tokens issued
// until now are void: on the user row, on the identity topic, and in the revocation store
// the gateway reads. The cut-off is a whole second (iat's unit); when an earlier cut-off
// already covers this second, tokens issued since carry the next second (see
// issuedAfterRevocation), so the new cut-off moves past that one. The store write comes
// last and fails the transaction when it fails, so a revocation is never reported done
// but not enforced.
func (s *Service) revokeSessions(ctx context.Context, r domain.Repository, u *domain.User, now time.Time, reason string) error {
	cut := now.Truncate(time.Second)
	if prev := u.SessionsRevokedAt.Truncate(time.Second); !u.SessionsRevokedAt.IsZero() && !cut.After(prev) {
		cut = prev.Add(time.Second)
	}
	u.SessionsRevokedAt = cut
	if err := r.UpdateUser(ctx, *u); err != nil {
		return err
	}
	if err := r.PublishSessionsRevoked(ctx, *u, reason); err != nil {
		return err
	}
	if s.Revoker == nil {
		return nil
	}
	return s.Revoker.RevokeSessions(ctx, u.ID, cut, cut.Add(s.Tokens.TTL()+s.RevocationMargin))
}
