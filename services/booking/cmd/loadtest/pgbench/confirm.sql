-- One confirm's essential database work: the ledger's conditional AVAILABLE → SOLD flip
-- and the booking insert, in one transaction.
\set s random(1, 1000000)
BEGIN;
UPDATE bench_seats SET status = 'SOLD', booking_id = gen_random_uuid(), version = version + 1
  WHERE event_id = '01920000-0000-7000-8000-000000000001' AND seat_id = 'S' || :s AND status = 'AVAILABLE';
INSERT INTO bench_bookings (id, event_id, seat_id, status, total_amount)
  VALUES (gen_random_uuid(), '01920000-0000-7000-8000-000000000001', 'S' || :s, 'CONFIRMED', 5000);
COMMIT;
