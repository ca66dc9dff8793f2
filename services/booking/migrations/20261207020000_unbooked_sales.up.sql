-- Sales inventory announced (seats.sold) that the booking service checks against its
-- bookings once they are older than a grace period: a sale whose request died before
-- writing the booking gets it written by the reconciler. Checking only after the grace
-- keeps the reconciler from racing the request that is still writing.
CREATE TABLE unbooked_sales (
    hold_id    uuid        NOT NULL,
    user_id    text        NOT NULL,
    sale       jsonb       NOT NULL,
    sold_at    timestamptz NOT NULL,
    PRIMARY KEY (hold_id, user_id)
);
CREATE INDEX unbooked_sales_sold_idx ON unbooked_sales (sold_at);
