DROP INDEX commits_event_user_idx;
