-- The per-user limit counts a user's bought seats of an event (rebuilt from here when
-- Redis does not have them).
CREATE INDEX commits_event_user_idx ON commits (event_id, user_id);
