// Package store is identity's PostgreSQL persistence (bun): users, refresh tokens and
// generated signing keys, plus the outbox rows that announce new users.
package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"evently.dev/libs/contracts"
	"evently.dev/libs/outbox"
	"evently.dev/libs/pg"

	"evently.dev/services/identity/internal/domain"
	"evently.dev/services/identity/internal/events"
)

// Store implements domain.Store on a bun database.
type Store struct {
	repo
	db bun.IDB
}

// New returns a store over db (whose search_path is the identity schema): the pool, or a
// transaction someone else opened, which InTx then joins.
func New(db bun.IDB) *Store { return &Store{repo: repo{db: db}, db: db} }

// InTx runs fn in one transaction, joining the current one when db already is one.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context, r domain.Repository) error) error {
	return pg.InTx(ctx, s.db, func(db bun.IDB) domain.Repository { return repo{db: db} }, fn)
}

type repo struct{ db bun.IDB }

type userRow struct {
	bun.BaseModel `bun:"table:users"`

	ID                uuid.UUID  `bun:"id,pk,type:uuid"`
	Email             string     `bun:"email"`
	FirstName         string     `bun:"first_name"`
	LastName          string     `bun:"last_name"`
	PasswordHash      string     `bun:"password_hash"`
	Role              string     `bun:"role"`
	CreatedAt         time.Time  `bun:"created_at"`
	UpdatedAt         time.Time  `bun:"updated_at"`
	PasswordChangedAt time.Time  `bun:"password_changed_at"`
	SessionsRevokedAt *time.Time `bun:"sessions_revoked_at"`
}

func fromUser(u domain.User) *userRow {
	row := &userRow{ID: u.ID, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName, PasswordHash: u.PasswordHash,
		Role: string(u.Role), CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt, PasswordChangedAt: u.PasswordChangedAt}
	if !u.SessionsRevokedAt.IsZero() {
		at := u.SessionsRevokedAt
		row.SessionsRevokedAt = &at
	}
	return row
}

func (r *userRow) toDomain() domain.User {
	u := domain.User{ID: r.ID, Email: r.Email, FirstName: r.FirstName, LastName: r.LastName, PasswordHash: r.PasswordHash,
		Role: domain.Role(r.Role), CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), PasswordChangedAt: r.PasswordChangedAt.UTC()}
	if r.SessionsRevokedAt != nil {
		u.SessionsRevokedAt = r.SessionsRevokedAt.UTC()
	}
	return u
}

func (r repo) CreateUser(ctx context.Context, u domain.User) error {
	if _, err := r.db.NewInsert().Model(fromUser(u)).Exec(ctx); err != nil {
		if pg.IsUniqueViolation(err) {
			return domain.ErrEmailTaken
		}
		return fmt.Errorf("insert user: %w", err)
	}
	return nil
}

func (r repo) userWhere(ctx context.Context, lock bool, where string, arg any) (domain.User, error) {
	row := new(userRow)
	q := r.db.NewSelect().Model(row).Where(where, arg)
	if lock {
		q = q.For("UPDATE")
	}
	if err := q.Scan(ctx); err != nil {
		if pg.IsNoRows(err) {
			return domain.User{}, domain.ErrUserNotFound
		}
		return domain.User{}, fmt.Errorf("select user: %w", err)
	}
	return row.toDomain(), nil
}

func (r repo) UserByID(ctx context.Context, id uuid.UUID) (domain.User, error) {
	return r.userWhere(ctx, false, "id = ?", id)
}

func (r repo) UserByEmail(ctx context.Context, email string) (domain.User, error) {
	return r.userWhere(ctx, false, "email = ?", email)
}

func (r repo) UserForUpdate(ctx context.Context, id uuid.UUID) (domain.User, error) {
	return r.userWhere(ctx, true, "id = ?", id)
}

func (r repo) UpdateUser(ctx context.Context, u domain.User) error {
	res, err := r.db.NewUpdate().Model(fromUser(u)).
		Column("first_name", "last_name", "password_hash", "role", "updated_at", "password_changed_at", "sessions_revoked_at").
		WherePK().Exec(ctx)
	if err != nil {
		return fmt.Errorf("update user %s: %w", u.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return domain.ErrUserNotFound
	}
	return nil
}

func (r repo) CountAdmins(ctx context.Context) (int, error) {
	n, err := r.db.NewSelect().Model((*userRow)(nil)).Where("role = ?", string(domain.RoleAdmin)).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count admins: %w", err)
	}
	return int(n), nil
}

func (r repo) PublishUserRegistered(ctx context.Context, u domain.User) error {
	_, err := outbox.AddJSON(ctx, r.db, contracts.TopicIdentityUsers, u.ID.String(), contracts.TypeUserRegistered,
		events.Source, events.UserRegistered(u))
	return err
}

func (r repo) PublishSessionsRevoked(ctx context.Context, u domain.User, reason string) error {
	_, err := outbox.AddJSON(ctx, r.db, contracts.TopicIdentityUsers, u.ID.String(), contracts.TypeUserSessionsRevoked,
		events.Source, events.UserSessionsRevoked(u, reason))
	return err
}

type refreshRow struct {
	bun.BaseModel `bun:"table:refresh_tokens"`

	ID        uuid.UUID  `bun:"id,pk,type:uuid"`
	FamilyID  uuid.UUID  `bun:"family_id,type:uuid"`
	UserID    uuid.UUID  `bun:"user_id,type:uuid"`
	TokenHash []byte     `bun:"token_hash"`
	CreatedAt time.Time  `bun:"created_at"`
	ExpiresAt time.Time  `bun:"expires_at"`
	UsedAt    *time.Time `bun:"used_at"`
	RevokedAt *time.Time `bun:"revoked_at"`
}

func (r repo) CreateRefreshToken(ctx context.Context, t domain.RefreshToken) error {
	row := &refreshRow{ID: t.ID, FamilyID: t.FamilyID, UserID: t.UserID, TokenHash: t.Hash, CreatedAt: t.CreatedAt,
		ExpiresAt: t.ExpiresAt, UsedAt: t.UsedAt, RevokedAt: t.RevokedAt}
	if _, err := r.db.NewInsert().Model(row).Exec(ctx); err != nil {
		return fmt.Errorf("insert refresh token: %w", err)
	}
	return nil
}

func (r repo) RefreshTokenForUpdate(ctx context.Context, hash []byte) (domain.RefreshToken, error) {
	row := new(refreshRow)
	if err := r.db.NewSelect().Model(row).Where("token_hash = ?", hash).For("UPDATE").Scan(ctx); err != nil {
		if pg.IsNoRows(err) {
			return domain.RefreshToken{}, domain.ErrInvalidRefreshToken
		}
		return domain.RefreshToken{}, fmt.Errorf("select refresh token: %w", err)
	}
	return domain.RefreshToken{ID: row.ID, FamilyID: row.FamilyID, UserID: row.UserID, Hash: row.TokenHash,
		CreatedAt: row.CreatedAt, ExpiresAt: row.ExpiresAt, UsedAt: row.UsedAt, RevokedAt: row.RevokedAt}, nil
}

func (r repo) MarkRefreshTokenUsed(ctx context.Context, id uuid.UUID, at time.Time) error {
	_, err := r.db.NewUpdate().Model((*refreshRow)(nil)).Set("used_at = ?", at).Where("id = ?", id).Exec(ctx)
	if err != nil {
		return fmt.Errorf("mark refresh token used: %w", err)
	}
	return nil
}

func (r repo) RevokeRefreshFamily(ctx context.Context, familyID uuid.UUID, at time.Time) error {
	_, err := r.db.NewUpdate().Model((*refreshRow)(nil)).Set("revoked_at = ?", at).
		Where("family_id = ? AND revoked_at IS NULL", familyID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("revoke refresh family: %w", err)
	}
	return nil
}

func (r repo) RevokeUserRefreshTokens(ctx context.Context, userID uuid.UUID, at time.Time) error {
	_, err := r.db.NewUpdate().Model((*refreshRow)(nil)).Set("revoked_at = ?", at).
		Where("user_id = ? AND revoked_at IS NULL", userID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("revoke user refresh tokens: %w", err)
	}
	return nil
}

func (r repo) DeleteExpiredRefreshTokens(ctx context.Context, before time.Time) (int64, error) {
	res, err := r.db.NewDelete().Model((*refreshRow)(nil)).Where("expires_at < ?", before).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("delete expired refresh tokens: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
