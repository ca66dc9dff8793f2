ALTER TABLE bookings DROP COLUMN reconciled;
