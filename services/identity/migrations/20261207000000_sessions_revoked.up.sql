-- The last time every access token of the user was voided (logout, password or role
-- change); tokens issued in that second or before are refused by the gateway.
ALTER TABLE users ADD COLUMN sessions_revoked_at timestamptz;
