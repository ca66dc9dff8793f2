DROP INDEX IF EXISTS inbox_processed_idx;
