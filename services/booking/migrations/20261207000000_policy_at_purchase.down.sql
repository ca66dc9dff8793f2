DROP TABLE event_policies;
ALTER TABLE bookings DROP COLUMN policy_version;
