-- The transactional outbox: events written in the same transaction as the state change
-- they announce, published later by outbox.Relay. Unqualified names: the connection's
-- search_path selects the service's schema.
CREATE TABLE IF NOT EXISTS outbox (
    id          uuid        PRIMARY KEY,
    topic       text        NOT NULL,
    key         text        NOT NULL DEFAULT '',
    type        text        NOT NULL,
    source      text        NOT NULL,
    event_time  timestamptz NOT NULL,
    payload     jsonb       NOT NULL,
    headers     jsonb       NOT NULL DEFAULT '{}'::jsonb,
    -- clock_timestamp(), not now(): two transactions writing the same key serialise on a
    -- row lock, so the second one's insert time is after the first one's commit and the
    -- relay's ORDER BY created_at follows commit order for that key.
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    sent_at     timestamptz,
    attempts    integer     NOT NULL DEFAULT 0,
    last_error  text
);

-- What the relay scans: only unsent rows, oldest first. Stays tiny when the relay keeps up.
CREATE INDEX IF NOT EXISTS outbox_unsent_idx ON outbox (created_at, id) WHERE sent_at IS NULL;

-- What the retention cleanup scans.
CREATE INDEX IF NOT EXISTS outbox_sent_idx ON outbox (sent_at) WHERE sent_at IS NOT NULL;
