-- A booking written by the seats.sold reconciler (its request died, or was slower than the
-- consumer) until the request that made the sale claims it: that request still answers
-- 201 Created, exactly once.
ALTER TABLE bookings ADD COLUMN reconciled boolean NOT NULL DEFAULT false;
