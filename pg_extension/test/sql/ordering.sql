--
-- ordering: ORDER BY ASC and DESC (with LIMIT and conditions) read from the index with no Sort, over
-- cold runs and over cold runs with hot areas; min() and max(); a merge join of two learned indexes,
-- which marks and restores the inner scan's position.
--

-- The plans: a forward and a backward scan, and min()/max() as two one-row index scans.
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT v FROM t_int8 WHERE v > 5 ORDER BY v LIMIT 10;
EXPLAIN (COSTS OFF) SELECT id, v FROM t_float8 ORDER BY v DESC LIMIT 10;
EXPLAIN (COSTS OFF) SELECT min(v), max(v) FROM t_timestamptz;
RESET enable_seqscan;
RESET enable_bitmapscan;

-- t_* hold cold runs only (types merged them). Floats: v + 0 turns -0.0 into 0.0, so that the ties
-- between -0.0 and 0.0, which may come back in any order, print alike.
SELECT q, lt_check(q, true) FROM unnest(ARRAY[
	'SELECT v FROM t_int2 ORDER BY v LIMIT 7',
	'SELECT v FROM t_int2 ORDER BY v DESC LIMIT 40',
	'SELECT v FROM t_int4 WHERE v >= 5 ORDER BY v LIMIT 800',
	'SELECT v FROM t_int8 WHERE v < 8 ORDER BY v DESC LIMIT 800',
	'SELECT v FROM t_int8 WHERE v = ANY (ARRAY[99, -100, 7, 3]) ORDER BY v DESC',
	'SELECT v FROM t_int4 WHERE v BETWEEN -10 AND 10 ORDER BY v DESC',
	'SELECT v + 0 AS w FROM t_float4 ORDER BY v LIMIT 20',
	'SELECT v + 0 AS w FROM t_float4 ORDER BY v DESC LIMIT 20',
	'SELECT v + 0 AS w FROM t_float8 WHERE v BETWEEN -1 AND 1 ORDER BY v',
	'SELECT v + 0 AS w FROM t_float8 ORDER BY v DESC',
	'SELECT v FROM t_date WHERE v > ''2000-01-01'' ORDER BY v DESC LIMIT 100',
	'SELECT v FROM t_date ORDER BY v LIMIT 100',
	'SELECT v FROM t_timestamp ORDER BY v DESC',
	'SELECT v FROM t_timestamptz WHERE v <= ''2000-01-01 00:00+00'' ORDER BY v LIMIT 50']) q;

-- min() and max(): index and index-only scans (bitmap scans cannot serve them).
SELECT typ, lt_check(format('SELECT min(v), max(v) FROM t_%s', typ))
FROM unnest(ARRAY['int2', 'int4', 'int8', 'float4', 'float8', 'date', 'timestamp', 'timestamptz']) typ;
SELECT min(v), max(v) FROM t_int2;
SELECT min(v), max(v) FROM t_float8;
SELECT min(v), max(v) FROM t_date WHERE v < 'infinity' AND v > '-infinity';

-- With a hot area: or_hot has v = 1 .. 300 cold (twice each) and v = 150 .. 450 hot, once each.
CREATE TABLE or_hot (id int, v int8) WITH (autovacuum_enabled = false);
INSERT INTO or_hot SELECT g, (g - 1) % 300 + 1 FROM generate_series(1, 600) g;
CREATE INDEX or_hot_v ON or_hot USING learned (v);
INSERT INTO or_hot SELECT g, g - 1000 FROM generate_series(1150, 1450) g;
INSERT INTO or_hot VALUES (2000, NULL), (2001, NULL);
VACUUM ANALYZE or_hot;
SELECT hot_entries, cold_entries FROM learned_index_info('or_hot_v');
SELECT q, lt_check(q, true) FROM unnest(ARRAY[
	'SELECT v FROM or_hot ORDER BY v',
	'SELECT v FROM or_hot ORDER BY v DESC',
	'SELECT v FROM or_hot WHERE v BETWEEN 140 AND 160 ORDER BY v',
	'SELECT v FROM or_hot WHERE v > 290 ORDER BY v DESC LIMIT 30',
	'SELECT v FROM or_hot WHERE v = ANY (ARRAY[1, 150, 300, 301, 450, 451]) ORDER BY v DESC']) q;
SELECT lt_check('SELECT min(v), max(v) FROM or_hot');
SELECT min(v), max(v) FROM or_hot;

-- Merge join: mj_a.v (int4) and mj_b.v (int8), both learned, with duplicates on both sides so that
-- the inner scan restores its mark; part of each in a hot area. mj_a: 0 .. 49 four times (two cold,
-- two hot), mj_b: 25 .. 74 three times (two cold, one hot): keys 25 .. 49 match, 4 * 3 rows each.
CREATE TABLE mj_a (id int, v int4) WITH (autovacuum_enabled = false);
CREATE TABLE mj_b (id int, v int8) WITH (autovacuum_enabled = false);
INSERT INTO mj_a SELECT g, g % 50 FROM generate_series(1, 100) g;
INSERT INTO mj_b SELECT g, 25 + g % 50 FROM generate_series(1, 100) g;
CREATE INDEX mj_a_v ON mj_a USING learned (v);
CREATE INDEX mj_b_v ON mj_b USING learned (v);
INSERT INTO mj_a SELECT g, g % 50 FROM generate_series(101, 200) g;
INSERT INTO mj_b SELECT g, 25 + g % 50 FROM generate_series(101, 150) g;
VACUUM ANALYZE mj_a, mj_b;
SET enable_hashjoin = off;
SET enable_nestloop = off;
SET enable_sort = off;
SET enable_material = off;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT a.id, b.id FROM mj_a a JOIN mj_b b ON a.v = b.v;
EXPLAIN (COSTS OFF) SELECT a.v, b.v FROM mj_a a JOIN mj_b b ON a.v = b.v;
RESET enable_seqscan;
RESET enable_bitmapscan;
-- 25 keys * 4 * 3 = 300 rows.
SELECT lt_check('SELECT a.id, b.id FROM mj_a a JOIN mj_b b ON a.v = b.v');
SELECT lt_check('SELECT a.v, b.v FROM mj_a a JOIN mj_b b ON a.v = b.v');
SELECT lt_check('SELECT a.v, b.v FROM mj_a a JOIN mj_b b ON a.v = b.v WHERE a.v > 40 ORDER BY a.v DESC', true);
RESET enable_hashjoin;
RESET enable_nestloop;
RESET enable_sort;
RESET enable_material;
SELECT lt_index_ok('or_hot_v'), lt_index_ok('mj_a_v'), lt_index_ok('mj_b_v');
