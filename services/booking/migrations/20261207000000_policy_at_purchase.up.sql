-- Cancellations are judged under the policy in force when the booking was confirmed:
-- the booking records that version, and every version is kept.
ALTER TABLE bookings ADD COLUMN policy_version integer;
CREATE TABLE event_policies (
    event_id uuid    NOT NULL,
    version  integer NOT NULL,
    policy   jsonb,
    PRIMARY KEY (event_id, version)
);
INSERT INTO event_policies (event_id, version, policy)
    SELECT id, policy_version, policy FROM events WHERE policy_version > 0;
