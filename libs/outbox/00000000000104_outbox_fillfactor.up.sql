-- Every outbox row is written once and then updated once, when the relay marks it sent.
-- With full pages that update lands on another page and the WAL carries the whole new
-- row again, payload included (about 2 kB a row; a third of a flash sale's WAL was these
-- copies). Half-empty pages keep the new version on the row's own page, where PostgreSQL
-- logs only the changed tail of the row (about 240 bytes). New pages follow the setting;
-- it takes no lock that blocks writers.
ALTER TABLE outbox SET (fillfactor = 50);
