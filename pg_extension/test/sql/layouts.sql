--
-- layouts: cold groups in both layouts. Keys close together in heap order pack a group of 1118 entries
-- onto one page; keys spread wide (or NULLs) put a group on a plain page and its overflow page. Answers
-- across group and overflow boundaries, learned_index_check, and sizes, through DELETE, hinted scans,
-- VACUUM's dead marks, inserts and a merge.
--
CREATE TABLE lay_packed (id int, v int8) WITH (autovacuum_enabled = false);
INSERT INTO lay_packed SELECT g, g * 1000 FROM generate_series(1, 5000) g;
CREATE INDEX lay_packed_v ON lay_packed USING learned (v);
-- Keys 2^40 apart: no group spans less than 2^32.
CREATE TABLE lay_plain (id int, v int8) WITH (autovacuum_enabled = false);
INSERT INTO lay_plain SELECT g, g * 1099511627776 FROM generate_series(1, 5000) g;
CREATE INDEX lay_plain_v ON lay_plain USING learned (v);
-- Dense keys, then wide ones, then NULLs: packed groups, then plain ones.
CREATE TABLE lay_mixed (id int, v int8) WITH (autovacuum_enabled = false);
INSERT INTO lay_mixed SELECT g, CASE WHEN g <= 3000 THEN g ELSE g * 1099511627776 END FROM generate_series(1, 5000) g;
INSERT INTO lay_mixed SELECT g, NULL FROM generate_series(5001, 5020) g;
CREATE INDEX lay_mixed_v ON lay_mixed USING learned (v);
VACUUM ANALYZE lay_packed, lay_plain, lay_mixed;

-- Pages: the metapage, the model page, then one page per packed group and two per full plain group.
SELECT c.relname, pg_relation_size(c.oid) / 8192 AS pages
FROM pg_class c WHERE c.relname IN ('lay_packed_v', 'lay_plain_v', 'lay_mixed_v') ORDER BY c.relname;

CREATE TABLE lay_conds (tbl text, ord int, cond text);
INSERT INTO lay_conds VALUES
	('lay_packed', 1, 'v BETWEEN 1110000 AND 1125000'), ('lay_packed', 2, 'v = 1118000'),
	('lay_packed', 3, 'v = 1119000'), ('lay_packed', 4, 'v >= 4990000'), ('lay_packed', 5, 'v < 2000'),
	('lay_plain', 1, 'v BETWEEN 557 * 1099511627776 AND 562 * 1099511627776'),
	('lay_plain', 2, 'v = 559 * 1099511627776'), ('lay_plain', 3, 'v = 560 * 1099511627776'),
	('lay_plain', 4, 'v BETWEEN 1115 * 1099511627776 AND 1121 * 1099511627776'), ('lay_plain', 5, 'v >= 4999 * 1099511627776'),
	('lay_mixed', 1, 'v BETWEEN 2990 AND 3001 * 1099511627776'), ('lay_mixed', 2, 'v IS NULL'),
	('lay_mixed', 3, 'v = 3354 * 1099511627776'), ('lay_mixed', 4, 'v > 4000 * 1099511627776'), ('lay_mixed', 5, 'v < 10');
CREATE FUNCTION lay_step() RETURNS TABLE (tbl text, cond text, result text, check_ok boolean) LANGUAGE sql AS $$
	SELECT tbl, cond, lt_where(tbl, cond), lt_index_ok((tbl || '_v')::regclass) FROM lay_conds ORDER BY tbl, ord
$$;
SELECT * FROM lay_step();

-- DELETE a stripe across group boundaries; index scans first (they hint the dead entries), then VACUUM
-- (dead marks, WAL-logged on both layouts).
DELETE FROM lay_packed WHERE id BETWEEN 1100 AND 1140 OR id % 97 = 0;
DELETE FROM lay_plain WHERE id BETWEEN 540 AND 580 OR id % 97 = 0;
DELETE FROM lay_mixed WHERE id BETWEEN 2980 AND 3020 OR id % 97 = 0 OR id > 5010;
SELECT * FROM lay_step();
VACUUM lay_packed, lay_plain, lay_mixed;
SELECT * FROM lay_step();

-- New rows in the hot area, then a merge into a new run of both layouts.
INSERT INTO lay_packed SELECT g, g * 1000 FROM generate_series(5001, 6000) g;
INSERT INTO lay_plain SELECT g, g * 1099511627776 FROM generate_series(5001, 6000) g;
INSERT INTO lay_mixed SELECT g, g FROM generate_series(6001, 6100) g;
SELECT learned_merge('lay_packed_v') > 0 AS packed, learned_merge('lay_plain_v') > 0 AS plain,
	learned_merge('lay_mixed_v') > 0 AS mixed;
SELECT * FROM lay_step();
VACUUM lay_packed, lay_plain, lay_mixed;
SELECT c.relname, pg_relation_size(c.oid) / 8192 AS pages
FROM pg_class c WHERE c.relname IN ('lay_packed_v', 'lay_plain_v', 'lay_mixed_v') ORDER BY c.relname;

DROP TABLE lay_packed, lay_plain, lay_mixed, lay_conds;
DROP FUNCTION lay_step();
