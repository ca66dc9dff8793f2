DROP INDEX IF EXISTS outbox_parked_idx;
DROP INDEX IF EXISTS outbox_pending_idx;
CREATE INDEX IF NOT EXISTS outbox_unsent_idx ON outbox (created_at, id) WHERE sent_at IS NULL;
ALTER TABLE outbox
    DROP COLUMN IF EXISTS parked_at,
    DROP COLUMN IF EXISTS next_attempt_at,
    DROP COLUMN IF EXISTS failures;
