CREATE TABLE users (
    id                  uuid PRIMARY KEY,
    email               text NOT NULL,
    first_name          text NOT NULL,
    last_name           text NOT NULL,
    password_hash       text NOT NULL,
    role                text NOT NULL CHECK (role IN ('USER', 'ADMIN')),
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    password_changed_at timestamptz NOT NULL
);
-- Emails are stored normalised (trimmed, lower-cased), so a plain unique index suffices.
CREATE UNIQUE INDEX users_email_key ON users (email);

-- Refresh tokens are stored only as SHA-256 hashes. A family is one login session: every
-- rotation adds a token to it, and presenting a spent token revokes the whole family.
CREATE TABLE refresh_tokens (
    id         uuid PRIMARY KEY,
    family_id  uuid NOT NULL,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash bytea NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    revoked_at timestamptz
);
CREATE UNIQUE INDEX refresh_tokens_hash_key ON refresh_tokens (token_hash);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_live_idx ON refresh_tokens (user_id) WHERE revoked_at IS NULL;
CREATE INDEX refresh_tokens_expires_idx ON refresh_tokens (expires_at);

-- Generated signing keys, used only when no key is configured. The newest signs; the
-- JWKS publishes the newest two so a rotation logs nobody out.
CREATE TABLE signing_keys (
    kid             text PRIMARY KEY,
    algorithm       text NOT NULL,
    private_key_pem text NOT NULL,
    created_at      timestamptz NOT NULL
);
