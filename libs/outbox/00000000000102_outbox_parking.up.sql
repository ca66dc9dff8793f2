-- Parking: a row whose own publishing keeps failing (its topic does not exist, it is
-- larger than the broker accepts) is set aside after RelayOptions.MaxAttempts failures
-- instead of being retried forever, so it neither hides in the lag nor costs the relay a
-- send per batch. An operator re-drives it from the admin listener once it can be sent.
ALTER TABLE outbox
    -- failures counts the row's own failed sends since it was written or last re-driven;
    -- a broker outage fails every row alike and is not counted (see relay.go).
    ADD COLUMN IF NOT EXISTS failures        integer     NOT NULL DEFAULT 0,
    -- next_attempt_at delays the next send of a failing row (its own backoff), so the rows
    -- behind it keep flowing at full speed meanwhile.
    ADD COLUMN IF NOT EXISTS next_attempt_at timestamptz,
    ADD COLUMN IF NOT EXISTS parked_at       timestamptz;

-- The relay's scan skips parked rows; the old index would keep them in its range forever.
DROP INDEX IF EXISTS outbox_unsent_idx;
CREATE INDEX IF NOT EXISTS outbox_pending_idx ON outbox (created_at, id)
    WHERE sent_at IS NULL AND parked_at IS NULL;

-- What the admin listing and the parked-rows gauge read; empty when all is well.
CREATE INDEX IF NOT EXISTS outbox_parked_idx ON outbox (parked_at, id) WHERE parked_at IS NOT NULL;
