-- The inbox: one row per event a consumer group has applied, written in the same
-- transaction as the effect, so a redelivered event is recognised and skipped.
-- Unqualified names: the connection's search_path selects the service's schema.
CREATE TABLE IF NOT EXISTS inbox (
    consumer     text        NOT NULL,
    event_id     text        NOT NULL,
    topic        text        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
