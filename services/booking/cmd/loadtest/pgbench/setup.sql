-- Scratch schema for the pgbench baseline: a seat ledger and a bookings table shaped like
-- inventory.seats and booking.bookings (run in a throwaway database).
DROP TABLE IF EXISTS bench_seats, bench_bookings;
CREATE TABLE bench_seats (
    event_id   uuid    NOT NULL,
    seat_id    text    NOT NULL,
    status     text    NOT NULL DEFAULT 'AVAILABLE',
    booking_id uuid,
    version    integer NOT NULL DEFAULT 0,
    PRIMARY KEY (event_id, seat_id)
);
CREATE TABLE bench_bookings (
    id           uuid PRIMARY KEY,
    event_id     uuid NOT NULL,
    seat_id      text NOT NULL,
    status       text NOT NULL,
    total_amount bigint NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
INSERT INTO bench_seats (event_id, seat_id)
SELECT '01920000-0000-7000-8000-000000000001', 'S' || g FROM generate_series(1, 1000000) g;
VACUUM ANALYZE bench_seats;
