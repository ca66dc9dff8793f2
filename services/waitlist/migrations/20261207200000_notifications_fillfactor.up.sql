-- An e-mail row (subject and both bodies, about 1.6 kB) is updated twice after it is
-- written: the sender's lease, then the outcome. On full pages each update moves the row to
-- another page and the WAL carries the bodies again; with room for three versions on the
-- row's own page PostgreSQL logs only the changed tail, about a sixth of the bytes.
-- New pages follow the setting; it takes no lock that blocks writers.
ALTER TABLE notifications SET (fillfactor = 33);
