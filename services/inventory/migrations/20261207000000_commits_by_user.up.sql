-- When Redis lost an event, its buyers' bought seats (counted by the per-user limit) are
-- rebuilt from the event's commits.
CREATE INDEX commits_event_user_idx ON commits (event_id, user_id);
