--
-- heap: the heap layout (WITH (layout = 'heap')). The index models where the rows of a table loaded in
-- key order lie in the heap and keeps entries only for the rows out of order; bitmap scans recheck the
-- rows the model names. Every answer against the sequential scan, and learned_index_check(idx, true),
-- through loads in and out of order, edge values, inserts, updates that move rows, deletes and refills
-- of freed space, VACUUM, merges, VACUUM FULL, CLUSTER and TRUNCATE.
--
-- hp_ts: 20,000 readings a second apart, each second twice, then +-infinity and NULLs.
CREATE TABLE hp_ts (id int, v timestamptz) WITH (autovacuum_enabled = false);
INSERT INTO hp_ts SELECT g, timestamptz '2024-01-01 00:00:00+00' + (g / 2) * interval '1 second' FROM generate_series(1, 20000) g;
INSERT INTO hp_ts VALUES (20001, 'infinity'), (20002, NULL), (20003, NULL);
INSERT INTO hp_ts VALUES (0, '-infinity');
CREATE INDEX hp_ts_v ON hp_ts USING learned (v) WITH (layout = 'heap');
-- hp_f8: floats in order, with both zeros, NaN and the infinities; the zeros and NaNs are equal to each other.
CREATE TABLE hp_f8 (id int, v float8) WITH (autovacuum_enabled = false);
INSERT INTO hp_f8 SELECT g, x FROM unnest(ARRAY['-Infinity', -2.5, -1, '-0', '0', '-0', 1e-300, 1, 1, 2.5, 'Infinity',
	'NaN', '-NaN']::float8[]) WITH ORDINALITY AS u(x, g);
INSERT INTO hp_f8 SELECT 100 + g, g / 7.0 FROM generate_series(1, 3000) g;
CREATE INDEX hp_f8_v ON hp_f8 USING learned (v) WITH (layout = 'heap', heap_epsilon = 0);
-- hp_late: int8 keys in order but one row in 50 late (a key from far back), one far early, and rows
-- placed in the order of a random permutation in hp_random (no row in order but by chance).
CREATE TABLE hp_late (id int, v int8) WITH (autovacuum_enabled = false);
INSERT INTO hp_late SELECT g, CASE WHEN g % 50 = 0 THEN g - 5000 WHEN g = 777 THEN 9000000 ELSE g * 3 END
FROM generate_series(1, 10000) g;
CREATE INDEX hp_late_v ON hp_late USING learned (v) WITH (layout = 'heap', heap_epsilon = 16);
CREATE TABLE hp_random (id int, v int4) WITH (autovacuum_enabled = false);
INSERT INTO hp_random SELECT g, (hashint4(g) % 5000) FROM generate_series(1, 8000) g;
CREATE INDEX hp_random_v ON hp_random USING learned (v) WITH (layout = 'heap');
-- An empty table and a one-row table.
CREATE TABLE hp_empty (id int, v int8);
CREATE INDEX hp_empty_v ON hp_empty USING learned (v) WITH (layout = 'heap');
CREATE TABLE hp_one (id int, v date);
INSERT INTO hp_one VALUES (1, '2024-02-29');
CREATE INDEX hp_one_v ON hp_one USING learned (v) WITH (layout = 'heap');
VACUUM ANALYZE hp_ts, hp_f8, hp_late, hp_random, hp_empty, hp_one;

CREATE TABLE hp_conds (tbl text, ord int, cond text);
INSERT INTO hp_conds VALUES
	('hp_ts', 1, 'v = ''2024-01-01 01:00:00+00'''), ('hp_ts', 2, 'v BETWEEN ''2024-01-01 00:10:00+00'' AND ''2024-01-01 00:20:00+00'''),
	('hp_ts', 3, 'v < ''2024-01-01 00:00:03+00'''), ('hp_ts', 4, 'v >= ''2024-01-01 02:46:38+00'''), ('hp_ts', 5, 'v IS NULL'),
	('hp_ts', 6, 'v = ''infinity'''), ('hp_ts', 7, 'v = ''-infinity'''), ('hp_ts', 8, 'v > ''2030-01-01+00'''),
	('hp_ts', 9, 'v IS NOT NULL'), ('hp_ts', 10, 'v = ANY (ARRAY[''2024-01-01 00:00:07+00'', ''2024-01-01 02:00:00.5+00'', NULL]::timestamptz[])'),
	('hp_ts', 11, 'v = ''2024-01-01 00:00:07.5+00'''), ('hp_ts', 12, 'v > ''2024-01-01 01:59:59+00'' AND v < ''2024-01-01 02:00:02+00'''),
	('hp_f8', 1, 'v = 0'), ('hp_f8', 2, 'v = ''NaN'''), ('hp_f8', 3, 'v > 0 AND v < 1'), ('hp_f8', 4, 'v <= ''-Infinity'''),
	('hp_f8', 5, 'v >= ''Infinity'''), ('hp_f8', 6, 'v = 1'), ('hp_f8', 7, 'v BETWEEN 100 AND 200'), ('hp_f8', 8, 'v < -1'),
	('hp_late', 1, 'v = 150'), ('hp_late', 2, 'v BETWEEN 1000 AND 2000'), ('hp_late', 3, 'v = 9000000'),
	('hp_late', 4, 'v = 45000'), ('hp_late', 5, 'v < 100'), ('hp_late', 6, 'v > 29000'),
	('hp_random', 1, 'v = 42'), ('hp_random', 2, 'v BETWEEN -100 AND 100'), ('hp_random', 3, 'v > 4990'),
	('hp_empty', 1, 'v = 1'), ('hp_empty', 2, 'v IS NULL'),
	('hp_one', 1, 'v = ''2024-02-29'''), ('hp_one', 2, 'v > ''2024-02-29'''), ('hp_one', 3, 'v <= ''2024-02-29''');
-- Bitmap scans only: index and index-only scans are never planned on the heap layout ('none').
CREATE FUNCTION hp_step(tables text[]) RETURNS TABLE (tbl text, cond text, result text) LANGUAGE sql AS $$
	SELECT tbl, cond, lt_where(tbl, cond) FROM hp_conds WHERE tbl = ANY (tables) ORDER BY tbl, ord
$$;
CREATE FUNCTION hp_ok(tables text[]) RETURNS TABLE (tbl text, check_ok boolean) LANGUAGE sql AS $$
	SELECT t, lt_index_ok((t || '_v')::regclass) FROM unnest(tables) t ORDER BY t
$$;
SELECT * FROM hp_step(ARRAY['hp_ts', 'hp_f8', 'hp_late', 'hp_random', 'hp_empty', 'hp_one']);
SELECT * FROM hp_ok(ARRAY['hp_ts', 'hp_f8', 'hp_late', 'hp_random', 'hp_empty', 'hp_one']);
-- A parallel bitmap heap scan: the leader fills the shared bitmap through the index; the same answer as
-- the sequential scan.
BEGIN;
SET LOCAL parallel_setup_cost = 0;
SET LOCAL parallel_tuple_cost = 0;
SET LOCAL min_parallel_table_scan_size = 0;
SET LOCAL max_parallel_workers_per_gather = 2;
SET LOCAL enable_seqscan = off;
SELECT ARRAY['Gather', 'Bitmap Heap Scan', 'Bitmap Index Scan (learned)'] <@ lt_nodes('SELECT count(*), sum(id) FROM hp_ts WHERE v BETWEEN ''2024-01-01 00:10:00+00'' AND ''2024-01-01 02:00:00+00''') AS parallel;
SELECT count(*), sum(id) FROM hp_ts WHERE v BETWEEN '2024-01-01 00:10:00+00' AND '2024-01-01 02:00:00+00';
SET LOCAL enable_seqscan = on;
SET LOCAL enable_bitmapscan = off;
SELECT count(*), sum(id) FROM hp_ts WHERE v BETWEEN '2024-01-01 00:10:00+00' AND '2024-01-01 02:00:00+00';
COMMIT;
-- Sizes: the in-order tables need the metapage and a model page (and a page of explicit entries for
-- NULLs, infinities and late rows); the random one keeps most rows as entries.
SELECT c.relname, pg_relation_size(c.oid) / 8192 AS pages FROM pg_class c
WHERE c.relname IN ('hp_ts_v', 'hp_f8_v', 'hp_late_v', 'hp_one_v', 'hp_empty_v') ORDER BY c.relname;
SELECT pg_relation_size('hp_random_v') > 8 * 8192 AS random_has_entries;
-- learned_index_info: the rows the model covers, the entries (the rows it does not: the infinities and
-- NULLs of hp_ts, the late and early rows of hp_late), and the heap pages a key's window spans.
SELECT c.relname, i.layout, i.covered_rows, i.cold_entries, i.null_entries, i.heap_model_bytes > 0 AS has_model,
	round(i.heap_pages_per_lookup::numeric, 3) AS pages_per_lookup
FROM pg_class c, learned_index_info(c.oid) i
WHERE c.relname IN ('hp_ts_v', 'hp_f8_v', 'hp_late_v', 'hp_one_v', 'hp_empty_v', 't_int4_v') ORDER BY c.relname;
-- No ordered plans: ORDER BY sorts, and min() reads the table.
SELECT lt_uses('SELECT v FROM hp_ts ORDER BY v LIMIT 5', 'Index Scan') AS ordered_scan,
	lt_uses('SELECT min(v) FROM hp_ts', 'Index Scan') AS min_scan,
	lt_uses('SELECT v FROM hp_ts WHERE v = ''2024-01-01 01:00:00+00''', 'Bitmap Index Scan') AS bitmap_scan;

-- The costs count the heap rows the model's windows read: of two heap-layout indexes on one column, the
-- planner takes the one of narrower windows, whichever was built first.
CREATE INDEX hp_late_wide ON hp_late USING learned (v) WITH (layout = 'heap', heap_epsilon = 4096);
EXPLAIN (COSTS OFF) SELECT id FROM hp_late WHERE v = 150;
DROP INDEX hp_late_v;
CREATE INDEX hp_late_v ON hp_late USING learned (v) WITH (layout = 'heap', heap_epsilon = 16);
EXPLAIN (COSTS OFF) SELECT id FROM hp_late WHERE v = 150;
DROP INDEX hp_late_wide;

-- Inserts after the build: rows appended in order, rows out of order, NULLs; then a merge.
INSERT INTO hp_ts SELECT g, timestamptz '2024-01-01 00:00:00+00' + (g / 2) * interval '1 second' FROM generate_series(20004, 21000) g;
INSERT INTO hp_ts VALUES (30000, '2024-01-01 01:00:00+00'), (30001, '2023-06-01+00'), (30002, NULL);
INSERT INTO hp_late SELECT g, g * 3 FROM generate_series(10001, 10500) g;
INSERT INTO hp_empty SELECT g, g FROM generate_series(1, 300) g;
SELECT * FROM hp_step(ARRAY['hp_ts', 'hp_late', 'hp_empty']);
SELECT learned_merge('hp_ts_v') > 0 AS merged;
SELECT * FROM hp_step(ARRAY['hp_ts']);
SELECT * FROM hp_ok(ARRAY['hp_ts', 'hp_late', 'hp_empty']);
-- Merges extend the heap model by the rows appended in key order (hp_empty's too, with a stride chosen
-- from their line pointers); rows out of order and NULLs stay entries.
SELECT learned_merge('hp_late_v') >= 0 AS merged, learned_merge('hp_empty_v') >= 0 AS merged;
SELECT c.relname, i.covered_rows, i.cold_entries, i.hot_entries, i.null_entries
FROM pg_class c, learned_index_info(c.oid) i
WHERE c.relname IN ('hp_ts_v', 'hp_late_v', 'hp_empty_v') ORDER BY c.relname;
SELECT * FROM hp_step(ARRAY['hp_ts', 'hp_late', 'hp_empty']);
SELECT * FROM hp_ok(ARRAY['hp_ts', 'hp_late', 'hp_empty']);
-- Continuous ingest: an index built on an empty table, then 40 statements of 250 readings in order
-- (one row in 100 late), merged by the inserts themselves (hot_limit 300): the model covers the rows in
-- order and the index stays a few pages.
CREATE TABLE hp_feed (id int, v timestamptz) WITH (autovacuum_enabled = false);
CREATE INDEX hp_feed_v ON hp_feed USING learned (v) WITH (layout = 'heap', hot_limit = 300);
\set ECHO none
SELECT format('INSERT INTO hp_feed SELECT g, timestamptz ''2024-03-01 00:00:00+00'' + '
	'(CASE WHEN g %% 100 = 50 THEN g - 900 ELSE g END) * interval ''1 second'' FROM generate_series(%s, %s) g',
	b * 250 + 1, b * 250 + 250) FROM generate_series(0, 39) b \gexec
\set ECHO all
ANALYZE hp_feed;
-- The hot area holds the rows since the last merge (at most hot_limit and a page); a merge takes them.
SELECT i.covered_rows >= 9000 AS mostly_covered, i.cold_entries <= 200 AS few_entries,
	pg_relation_size('hp_feed_v') / 8192 < 16 AS small
FROM learned_index_info('hp_feed_v') i;
SELECT learned_merge('hp_feed_v') >= 0 AS merged;
SELECT i.covered_rows >= 9800 AS mostly_covered, i.cold_entries <= 200 AS few_entries, i.hot_entries
FROM learned_index_info('hp_feed_v') i;
INSERT INTO hp_conds VALUES ('hp_feed', 1, 'v = ''2024-03-01 01:00:00+00'''),
	('hp_feed', 2, 'v BETWEEN ''2024-03-01 00:10:00+00'' AND ''2024-03-01 00:30:00+00'''),
	('hp_feed', 3, 'v >= ''2024-03-01 02:46:00+00'''), ('hp_feed', 4, 'v < ''2024-03-01 00:01:00+00''');
SELECT * FROM hp_step(ARRAY['hp_feed']);
SELECT * FROM hp_ok(ARRAY['hp_feed']);

-- Updates move a tenth of the rows (full pages: not HOT), deletes free a stretch; VACUUM frees their
-- line pointers, and new rows refill the freed slots inside the covered range.
UPDATE hp_ts SET id = -id WHERE id % 10 = 3;
DELETE FROM hp_ts WHERE id BETWEEN 5000 AND 6000;
SELECT * FROM hp_step(ARRAY['hp_ts']);
VACUUM hp_ts;
INSERT INTO hp_ts SELECT 40000 + g, timestamptz '2024-01-01 00:00:00+00' + (g * 37 % 10000) * interval '1 second'
FROM generate_series(1, 2000) g;
UPDATE hp_late SET v = v + 1 WHERE id % 7 = 0;
VACUUM hp_late;
INSERT INTO hp_late SELECT 20000 + g, g * 5 FROM generate_series(1, 1000) g;
SELECT * FROM hp_step(ARRAY['hp_ts', 'hp_late']);
SELECT * FROM hp_ok(ARRAY['hp_ts', 'hp_late']);
SELECT learned_merge('hp_ts_v', rebuild => true) > 0 AS rebuilt;
SELECT * FROM hp_step(ARRAY['hp_ts']);

-- Runs: an UPDATE moves a fifth of 20,000 rows to the heap's end in key order; the inserts' merges
-- (hot_limit 1500) start a second run of the heap model with them, and extend it, so no row becomes an
-- entry. Each later load of rows in key order behind the last run (a backfill) starts a run of its own,
-- up to 8; the rows of a ninth stay entries, as do loads too small for a run (500 rows). A lookup reads
-- one window of heap rows per run (pages_per_lookup).
CREATE TABLE hp_runs (id int, v int8) WITH (autovacuum_enabled = false);
INSERT INTO hp_runs SELECT g, g * 10 FROM generate_series(1, 20000) g;
CREATE INDEX hp_runs_v ON hp_runs USING learned (v) WITH (layout = 'heap', hot_limit = 1500);
UPDATE hp_runs SET id = -id WHERE id % 5 = 0;
SELECT learned_merge('hp_runs_v') >= 0 AS merged;
SELECT i.covered_rows, i.cold_entries, i.hot_entries, i.heap_runs, round(i.heap_pages_per_lookup::numeric, 1) AS pages_per_lookup
FROM learned_index_info('hp_runs_v') i;
INSERT INTO hp_conds VALUES ('hp_runs', 1, 'v = 1000'), ('hp_runs', 2, 'v BETWEEN 995 AND 1500'),
	('hp_runs', 3, 'v > 199950'), ('hp_runs', 4, 'v % 10 <> 0 AND v < 20000'), ('hp_runs', 5, 'v = ANY (ARRAY[3, 10, 61, 199991])'),
	('hp_runs', 6, 'v IS NOT NULL');
SELECT * FROM hp_step(ARRAY['hp_runs']);
\set ECHO none
SELECT format('INSERT INTO hp_runs SELECT -g, g * 10 + %s FROM generate_series(1, 1500) g', b) FROM generate_series(1, 4) b \gexec
\set ECHO all
SELECT learned_merge('hp_runs_v') >= 0 AS merged;
SELECT i.covered_rows, i.cold_entries, i.heap_runs, round(i.heap_pages_per_lookup::numeric, 1) AS pages_per_lookup FROM learned_index_info('hp_runs_v') i;
\set ECHO none
SELECT format('INSERT INTO hp_runs SELECT -g, g * 10 + %s FROM generate_series(1, 1500) g', b) ||
	'; SELECT learned_merge(''hp_runs_v'')' FROM generate_series(5, 9) b \gexec
\set ECHO all
INSERT INTO hp_runs SELECT -g, g * 20 + 5 FROM generate_series(1, 500) g;
SELECT learned_merge('hp_runs_v') >= 0 AS merged;
SELECT i.covered_rows, i.cold_entries, i.heap_runs, round(i.heap_pages_per_lookup::numeric, 1) AS pages_per_lookup FROM learned_index_info('hp_runs_v') i;
SELECT * FROM hp_step(ARRAY['hp_runs']);
SELECT * FROM hp_ok(ARRAY['hp_runs']);

-- A build makes runs too: REINDEX gives the rows an UPDATE moved to the heap's end a run of their own,
-- where a build made them entries before. Three UPDATEs move a tenth of 20,000 rows each: the first to
-- the heap's end, the others mostly HOT, into the room the first left on each page; the build reads a
-- page's rows in line pointer order of their chains' roots, so HOT rows stay covered. A load of 900
-- rows, too few for a run, stays entries. A build keeps a run while it covers an eighth of the rows left
-- (hp_runs: its nine interleaved loads of 1,500, which the merges gave runs one at a time, are entries
-- after REINDEX, and lookups read two windows, not eight). VACUUM FULL writes each page's HOT rows after
-- the page's others, out of key order: fewer rows stay covered.
CREATE TABLE hp_rebuild (id int, v int8) WITH (autovacuum_enabled = false);
INSERT INTO hp_rebuild SELECT g, g * 10 FROM generate_series(1, 20000) g;
CREATE INDEX hp_rebuild_v ON hp_rebuild USING learned (v) WITH (layout = 'heap', hot_limit = 100000);
UPDATE hp_rebuild SET id = -id WHERE id % 10 = 1;
UPDATE hp_rebuild SET id = -id WHERE id % 10 = 2;
UPDATE hp_rebuild SET id = -id WHERE id % 10 = 3;
INSERT INTO hp_rebuild SELECT -g, g * 10 + 5 FROM generate_series(1, 900) g;
SELECT i.covered_rows, i.cold_entries, i.hot_entries, i.heap_runs FROM learned_index_info('hp_rebuild_v') i;
REINDEX INDEX hp_rebuild_v;
SELECT i.covered_rows, i.cold_entries, i.hot_entries, i.heap_runs, round(i.heap_pages_per_lookup::numeric, 1) AS pages_per_lookup
FROM learned_index_info('hp_rebuild_v') i;
INSERT INTO hp_conds VALUES ('hp_rebuild', 1, 'v = 1010'), ('hp_rebuild', 2, 'v BETWEEN 995 AND 3000'),
	('hp_rebuild', 3, 'v > 199950'), ('hp_rebuild', 4, 'v % 10 = 5'), ('hp_rebuild', 5, 'v = ANY (ARRAY[15, 20, 30, 199991])'),
	('hp_rebuild', 6, 'v IS NOT NULL'), ('hp_rebuild', 7, 'v < 100');
SELECT * FROM hp_step(ARRAY['hp_rebuild']);
REINDEX INDEX hp_runs_v;
SELECT i.covered_rows, i.cold_entries, i.heap_runs, round(i.heap_pages_per_lookup::numeric, 1) AS pages_per_lookup FROM learned_index_info('hp_runs_v') i;
SELECT * FROM hp_step(ARRAY['hp_runs']);
VACUUM FULL hp_rebuild;
SELECT i.covered_rows, i.cold_entries, i.heap_runs FROM learned_index_info('hp_rebuild_v') i;
SELECT * FROM hp_step(ARRAY['hp_rebuild']);
-- REINDEX CONCURRENTLY: its validation inserts every covered row again (the index has no entry for it),
-- and the merges cover those rows with runs of their own: the same answers from twice the runs.
REINDEX INDEX CONCURRENTLY hp_rebuild_v;
SELECT learned_merge('hp_rebuild_v') >= 0 AS merged;
SELECT i.covered_rows > 20900 AS covered_twice, i.heap_runs > 2 AS more_runs FROM learned_index_info('hp_rebuild_v') i;
SELECT * FROM hp_step(ARRAY['hp_rebuild']);
SELECT * FROM hp_ok(ARRAY['hp_rebuild', 'hp_runs']);

-- Rewrites of the heap rebuild the index: VACUUM FULL, CLUSTER (on a btree), TRUNCATE and a reload.
VACUUM FULL hp_ts;
SELECT * FROM hp_step(ARRAY['hp_ts']);
CREATE INDEX hp_late_bt ON hp_late USING btree (v);
CLUSTER hp_late USING hp_late_bt;
DROP INDEX hp_late_bt;
ANALYZE hp_late;
SELECT * FROM hp_step(ARRAY['hp_late']);
SELECT * FROM hp_ok(ARRAY['hp_ts', 'hp_late']);
-- After CLUSTER every row is in order: the index is its metapage and model page.
SELECT pg_relation_size('hp_late_v') / 8192 AS clustered_pages;
TRUNCATE hp_f8;
SELECT * FROM hp_step(ARRAY['hp_f8']);
INSERT INTO hp_f8 SELECT g, g / 3.0 FROM generate_series(1, 500) g;
SELECT * FROM hp_step(ARRAY['hp_f8']);
SELECT * FROM hp_ok(ARRAY['hp_f8']);

-- The types suite again (types.sql's tables and conditions), under the heap layout: each table copied
-- with its cold rows in key order (NULLs last), which the model covers, its hot rows then appended out
-- of order; every condition through bitmap scans against the sequential scan, before and after a merge.
CREATE TABLE hp_types (typ text);
INSERT INTO hp_types VALUES ('int2'), ('int4'), ('int8'), ('float4'), ('float8'), ('date'), ('timestamp'), ('timestamptz');
CREATE TABLE hp_type_conds (typ text, ord int, cond text);
INSERT INTO hp_type_conds SELECT typ, ord, lt_sub(cond, typ) FROM hp_types, lt_conds;
INSERT INTO hp_type_conds SELECT typ, 100 + ord, cond
FROM (VALUES ('float4'), ('float8')) t(typ),
	 (VALUES (1, 'v = ''NaN'''), (2, 'v = 0'), (3, 'v = ''-0'''), (4, 'v >= ''Infinity'''), (5, 'v <= ''-Infinity'''),
			 (6, 'v BETWEEN ''-0'' AND 0'), (7, 'v > ''NaN'''), (8, 'v < ''NaN''')) c(ord, cond)
UNION ALL SELECT typ, 100 + ord, cond
FROM (VALUES ('date'), ('timestamp'), ('timestamptz')) t(typ),
	 (VALUES (1, 'v = ''infinity'''), (2, 'v = ''-infinity'''), (3, 'v > ''-infinity''')) c(ord, cond)
UNION ALL SELECT 'int8', 101, 'v = -9223372036854775808' UNION ALL SELECT 'int8', 102, 'v >= 9223372036854775807'
UNION ALL SELECT 'int2', 101, 'v <= -32768' UNION ALL SELECT 'int4', 101, 'v > 2147483646';
\set ECHO none
SELECT format('CREATE TABLE ht_%1$s WITH (autovacuum_enabled = false) AS '
	'SELECT id, v FROM t_%1$s WHERE id BETWEEN -12 AND 9999 ORDER BY v NULLS LAST, id', typ) FROM hp_types \gexec
SELECT format('CREATE INDEX ht_%1$s_v ON ht_%1$s USING learned (v) WITH (layout = ''heap'')', typ) FROM hp_types \gexec
SELECT format('INSERT INTO ht_%1$s SELECT id, v FROM t_%1$s WHERE id >= 10000 OR id <= -100', typ) FROM hp_types \gexec
SELECT format('VACUUM ANALYZE ht_%s', typ) FROM hp_types \gexec
\set ECHO all
CREATE TABLE hp_type_results AS
SELECT 1 AS phase, typ, ord, cond, lt_where('ht_' || typ, cond) AS result FROM hp_type_conds;
SELECT typ, i.covered_rows, i.cold_entries, i.hot_entries, i.null_entries
FROM hp_types, learned_index_info(('ht_' || typ || '_v')::regclass) i ORDER BY typ;
SELECT typ, learned_merge(('ht_' || typ || '_v')::regclass) >= 0 AS merged FROM hp_types ORDER BY typ;
INSERT INTO hp_type_results SELECT 2, typ, ord, cond, lt_where('ht_' || typ, cond) FROM hp_type_conds;
-- Every check passes through the bitmap scan (index and index-only scans are never planned), and the
-- row counts are the sorted layout's.
SELECT typ, count(*) AS checks, count(*) FILTER (WHERE result LIKE '% index=none bitmap=ok indexonly=none') AS bitmap_ok
FROM hp_type_results GROUP BY typ ORDER BY typ;
SELECT phase, typ, cond, result FROM hp_type_results WHERE result NOT LIKE '% index=none bitmap=ok indexonly=none'
ORDER BY phase, typ, ord;
SELECT typ, cond, result FROM hp_type_results
WHERE split_part(result, ' ', 1) <> 'rows=' || cardinality(lt_seq(format('SELECT id, v FROM t_%s WHERE %s', typ, cond), false));
SELECT typ, lt_index_ok(('ht_' || typ || '_v')::regclass) AS check_ok FROM hp_types ORDER BY typ;
\set ECHO none
SELECT format('DROP TABLE ht_%s', typ) FROM hp_types \gexec
\set ECHO all
DROP TABLE hp_types, hp_type_conds, hp_type_results;

-- What the heap layout refuses, with a hint.
CREATE TABLE hp_bad (a int, b int, u uuid);
CREATE INDEX ON hp_bad USING learned (a, b) WITH (layout = 'heap');
CREATE INDEX ON hp_bad USING learned (u) WITH (layout = 'heap');
CREATE UNIQUE INDEX ON hp_bad USING learned (a) WITH (layout = 'heap');
CREATE INDEX ON hp_bad USING learned (a) WITH (layout = 'heap', model = 'rmi');
CREATE INDEX ON hp_bad USING learned (a) WITH (layout = 'columns');
CREATE INDEX ON hp_bad USING learned (a) WITH (layout = 'heap', heap_epsilon = -1);
-- ALTER INDEX ... SET (layout = 'heap') on an index the layout cannot serve gives it no heap model: its
-- merges keep every row an entry (a composite scan or a unique check would not find covered rows).
CREATE INDEX hp_bad_ab ON hp_bad USING learned (a, b);
CREATE UNIQUE INDEX hp_bad_a ON hp_bad USING learned (a);
ALTER INDEX hp_bad_ab SET (layout = 'heap');
ALTER INDEX hp_bad_a SET (layout = 'heap');
INSERT INTO hp_bad SELECT g, g FROM generate_series(1, 3000) g;
SELECT learned_merge('hp_bad_ab') AS merged, learned_merge('hp_bad_a') AS merged;
SELECT c.relname, i.covered_rows, i.cold_entries FROM pg_class c, learned_index_info(c.oid) i
WHERE c.relname IN ('hp_bad_ab', 'hp_bad_a') ORDER BY c.relname;
INSERT INTO hp_bad VALUES (17, 0);
DROP TABLE hp_bad, hp_conds, hp_feed, hp_runs, hp_ts, hp_f8, hp_late, hp_random, hp_empty, hp_one;
DROP FUNCTION hp_step(text[]), hp_ok(text[]);
