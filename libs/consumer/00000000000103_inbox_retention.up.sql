-- What the runner's retention cleanup scans: one group's oldest rows first.
CREATE INDEX IF NOT EXISTS inbox_processed_idx ON inbox (consumer, processed_at);
