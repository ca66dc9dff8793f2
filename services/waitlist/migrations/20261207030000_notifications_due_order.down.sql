CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status = 'PENDING';
DROP INDEX notifications_due_order;
