ALTER TABLE sections ADD COLUMN sold integer NOT NULL DEFAULT 0 CHECK (sold >= 0);

UPDATE sections s SET sold = x.sold
FROM (SELECT event_id, section_id, sum(sold)::integer AS sold FROM section_sold_shards GROUP BY 1, 2) x
WHERE x.event_id = s.event_id AND x.section_id = s.section_id;

DROP TABLE section_sold_shards;
