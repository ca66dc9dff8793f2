-- The sender claims due e-mails in (next_attempt_at, created_at) order with a LIMIT. With
-- only next_attempt_at in the index PostgreSQL sorted every pending row (bodies included)
-- on each poll, about 11 ms once a rush left a few hundred e-mails waiting; with both keys
-- the scan stops after the LIMIT.
CREATE INDEX notifications_due_order ON notifications (next_attempt_at, created_at) WHERE status = 'PENDING';
DROP INDEX notifications_due;
