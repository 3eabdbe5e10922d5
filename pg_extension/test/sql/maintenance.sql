--
-- maintenance: the answers and learned_index_check(idx, true) after each of INSERT (hot area), DELETE,
-- UPDATE, VACUUM, learned_merge(), REINDEX, TRUNCATE, merges run by VACUUM past hot_limit, and on
-- UNLOGGED and TEMPORARY tables.
--
-- m_t starts with v = 1 .. 1000 (unique) and 10 NULLs. The conditions and their counts at each step
-- are given in the comments.
CREATE TABLE m_t (id int, v int8) WITH (autovacuum_enabled = false);
INSERT INTO m_t SELECT g, g FROM generate_series(1, 1000) g;
INSERT INTO m_t SELECT g, NULL FROM generate_series(1001, 1010) g;
CREATE INDEX m_t_v ON m_t USING learned (v);
VACUUM ANALYZE m_t;

CREATE TABLE m_conds (ord int, cond text);
INSERT INTO m_conds VALUES (1, 'v BETWEEN 100 AND 199'), (2, 'v >= 990'), (3, 'v IS NULL'),
	(4, 'v = ANY (ARRAY[1, 14, 500, 2000, 5000])'), (5, 'v > 1500');
CREATE FUNCTION m_step(tbl text, idx regclass) RETURNS TABLE (cond text, result text) LANGUAGE sql AS $$
	SELECT cond, lt_where(tbl, cond) FROM m_conds ORDER BY ord
$$;
CREATE FUNCTION m_info(idx regclass) RETURNS TABLE (cold bigint, nulls bigint, hot bigint, generation bigint, check_ok boolean)
LANGUAGE sql AS $$
	SELECT cold_entries, null_entries, hot_entries, generation, lt_index_ok(idx) FROM learned_index_info(idx)
$$;

-- Built: 100, 11, 10, 3 (1, 14, 500), 0.
SELECT * FROM m_info('m_t_v');
SELECT * FROM m_step('m_t', 'm_t_v');

-- Inserts into the hot area: v = 100 .. 199 again, 2000, 5 NULLs and 1501 .. 1600.
-- 200, 112 (+2000 and 1501 .. 1600), 15, 4 (+2000), 101.
INSERT INTO m_t SELECT g, g - 1900 FROM generate_series(2000, 2099) g;
INSERT INTO m_t VALUES (2100, 2000);
INSERT INTO m_t SELECT g, NULL FROM generate_series(2101, 2105) g;
INSERT INTO m_t SELECT g, g - 700 FROM generate_series(2201, 2300) g;
SELECT * FROM m_info('m_t_v');
SELECT * FROM m_step('m_t', 'm_t_v');

-- DELETE the multiples of 10 (cold and hot): 180, 99, 15, 2 (1, 14), 90.
DELETE FROM m_t WHERE v % 10 = 0;
SELECT * FROM m_info('m_t_v');
SELECT * FROM m_step('m_t', 'm_t_v');

-- UPDATE: 151 .. 159 (both copies, 18 rows) move to 5151 .. 5159; v = 1 becomes NULL; the row with
-- v = 14 gets a new id only (a HOT update: no new index entry, so 19 new hot entries).
-- 162, 117, 16, 1 (14), 108.
UPDATE m_t SET v = v + 5000 WHERE v BETWEEN 150 AND 159;
UPDATE m_t SET v = NULL WHERE v = 1;
UPDATE m_t SET id = -id WHERE v = 14;
SELECT * FROM m_info('m_t_v');
SELECT * FROM m_step('m_t', 'm_t_v');

-- VACUUM marks the dead entries (the hot area stays: 16384 is the default hot_limit); same answers.
VACUUM m_t;
SELECT * FROM m_info('m_t_v');
SELECT * FROM m_step('m_t', 'm_t_v');

-- learned_merge: one cold run of the live entries, one per row of the table.
SELECT learned_merge('m_t_v') AS merged, (SELECT count(*) FROM m_t) AS table_rows;
SELECT * FROM m_info('m_t_v');
SELECT * FROM m_step('m_t', 'm_t_v');

-- A second merge with nothing new, then deletes and a merge without VACUUM in between: entries of
-- deleted rows stay (VACUUM has not marked them) until the next VACUUM and merge.
SELECT learned_merge('m_t_v') AS merged;
DELETE FROM m_t WHERE v BETWEEN 190 AND 199;
SELECT learned_merge('m_t_v') AS merged, (SELECT count(*) FROM m_t) AS table_rows;
-- Condition 1 loses 191 .. 199, two rows each: 144.
SELECT * FROM m_step('m_t', 'm_t_v');
VACUUM m_t;
SELECT learned_merge('m_t_v') AS merged, (SELECT count(*) FROM m_t) AS table_rows;
SELECT * FROM m_info('m_t_v');
SELECT * FROM m_step('m_t', 'm_t_v');

-- REINDEX (and REINDEX CONCURRENTLY): a fresh build, generation 0, same answers.
REINDEX INDEX m_t_v;
SELECT * FROM m_info('m_t_v');
SELECT * FROM m_step('m_t', 'm_t_v');
REINDEX INDEX CONCURRENTLY m_t_v;
SELECT * FROM m_info('m_t_v');
SELECT * FROM m_step('m_t', 'm_t_v');

-- TRUNCATE empties the index; the first 1010 rows again, all in the hot area: 100, 11, 10, 3, 0.
TRUNCATE m_t;
SELECT * FROM m_info('m_t_v');
INSERT INTO m_t SELECT g, g FROM generate_series(1, 1000) g;
INSERT INTO m_t SELECT g, NULL FROM generate_series(1001, 1010) g;
SELECT * FROM m_info('m_t_v');
SELECT * FROM m_step('m_t', 'm_t_v');

-- hot_limit: VACUUM merges once the hot area holds that many entries. v = 3001 .. 3150: 150 in
-- condition 5.
ALTER INDEX m_t_v SET (hot_limit = 100);
INSERT INTO m_t SELECT g, g FROM generate_series(3001, 3150) g;
VACUUM m_t;
SELECT * FROM m_info('m_t_v');
-- ... unless learned.merge_on_vacuum is off. v = 4001 .. 4150: 100, 311, 10, 3, 300.
SET learned.merge_on_vacuum = off;
INSERT INTO m_t SELECT g, g FROM generate_series(4001, 4150) g;
VACUUM m_t;
SELECT * FROM m_info('m_t_v');
RESET learned.merge_on_vacuum;
SELECT * FROM m_step('m_t', 'm_t_v');
-- Deletes, a VACUUM that both marks and merges, then several merge and VACUUM rounds (the pages of
-- old runs are recycled): the answers stay. Delete 3001 .. 3150 and 4001 .. 4050: 100 in condition 5.
DELETE FROM m_t WHERE v BETWEEN 3001 AND 4050;
VACUUM m_t;
SELECT * FROM m_info('m_t_v');
INSERT INTO m_t SELECT g, g FROM generate_series(5001, 5100) g;
SELECT learned_merge('m_t_v') IS NOT NULL AS merged;
VACUUM m_t;
INSERT INTO m_t SELECT g, g FROM generate_series(5101, 5200) g;
SELECT learned_merge('m_t_v') IS NOT NULL AS merged;
VACUUM m_t;
INSERT INTO m_t SELECT g, NULL FROM generate_series(5201, 5210) g;
SELECT learned_merge('m_t_v') IS NOT NULL AS merged;
VACUUM m_t;
-- 100, 311, 20, 3, 300 (4051 .. 4150 and 5001 .. 5200).
SELECT * FROM m_info('m_t_v');
SELECT * FROM m_step('m_t', 'm_t_v');

-- A merge that drops everything: all rows deleted and vacuumed.
DELETE FROM m_t;
VACUUM m_t;
SELECT learned_merge('m_t_v') AS merged;
SELECT * FROM m_info('m_t_v');
SELECT * FROM m_step('m_t', 'm_t_v');

-- UNLOGGED and TEMPORARY tables: built, hot inserts, deletes, VACUUM, merge.
CREATE UNLOGGED TABLE m_unlogged (id int, v int8) WITH (autovacuum_enabled = false);
CREATE TEMPORARY TABLE m_temp (id int, v int8);
INSERT INTO m_unlogged SELECT g, g FROM generate_series(1, 1000) g;
INSERT INTO m_unlogged SELECT g, NULL FROM generate_series(1001, 1010) g;
INSERT INTO m_temp SELECT * FROM m_unlogged;
CREATE INDEX m_unlogged_v ON m_unlogged USING learned (v);
CREATE INDEX m_temp_v ON m_temp USING learned (v);
INSERT INTO m_unlogged SELECT g, g - 1900 FROM generate_series(2000, 2099) g;
INSERT INTO m_temp SELECT g, g - 1900 FROM generate_series(2000, 2099) g;
VACUUM ANALYZE m_unlogged, m_temp;
-- 200, 11, 10, 3, 0.
SELECT * FROM m_info('m_unlogged_v');
SELECT * FROM m_step('m_unlogged', 'm_unlogged_v');
SELECT * FROM m_info('m_temp_v');
SELECT * FROM m_step('m_temp', 'm_temp_v');
-- 180, 9, 10, 2, 0.
DELETE FROM m_unlogged WHERE v % 10 = 0;
DELETE FROM m_temp WHERE v % 10 = 0;
VACUUM m_unlogged, m_temp;
SELECT learned_merge('m_unlogged_v') AS merged_unlogged, learned_merge('m_temp_v') AS merged_temp;
SELECT * FROM m_info('m_unlogged_v');
SELECT * FROM m_step('m_unlogged', 'm_unlogged_v');
SELECT * FROM m_info('m_temp_v');
SELECT * FROM m_step('m_temp', 'm_temp_v');
TRUNCATE m_unlogged, m_temp;
SELECT * FROM m_info('m_unlogged_v');
SELECT * FROM m_info('m_temp_v');

-- A build larger than maintenance_work_mem goes through the tuplesort instead of the in-memory radix
-- sort (1MB holds 32,768 entries; this table has 50,000 keys in a scrambled order, and 3 NULLs).
CREATE TABLE m_big (id int, v int8) WITH (autovacuum_enabled = false);
INSERT INTO m_big SELECT g, (g * 7919) % 50000 FROM generate_series(1, 50000) g;
INSERT INTO m_big VALUES (50001, NULL), (50002, NULL), (50003, NULL);
SET maintenance_work_mem = '1MB';
CREATE INDEX m_big_v ON m_big USING learned (v);
RESET maintenance_work_mem;
ANALYZE m_big;
-- 50000, 3, 0, 0, t.
SELECT * FROM m_info('m_big_v');
SELECT * FROM m_step('m_big', 'm_big_v');

-- A cancelled CREATE INDEX stops and leaves no index behind.
CREATE TABLE m_cancel AS SELECT g::int8 AS v FROM generate_series(1, 300000) g;
SET statement_timeout = '1ms';
CREATE INDEX m_cancel_v ON m_cancel USING learned (v);
RESET statement_timeout;
SELECT count(*) AS leftover FROM pg_class WHERE relname = 'm_cancel_v';

-- Keys appended in order merge by rewriting only the run's last group: the merge frees that group, the
-- model page and the hot pages, and keeps the rest of the run; a rebuild frees the whole run. An insert
-- that seals a page past hot_limit merges by itself (learned.merge_on_insert).
CREATE TABLE m_append (id int, v int8) WITH (autovacuum_enabled = false);
INSERT INTO m_append SELECT g, g FROM generate_series(1, 20000) g;
CREATE INDEX m_append_k ON m_append USING learned (v);
SET learned.merge_on_insert = off;
INSERT INTO m_append SELECT g, g FROM generate_series(20001, 22000) g;
RESET learned.merge_on_insert;
SELECT cold_entries, hot_entries FROM learned_index_info('m_append_k');
SELECT learned_merge('m_append_k');
-- 20 cold pages in use; 1 group, 1 model page and 4 hot pages freed (and 27 after the rebuild).
SELECT kind, pages FROM learned_page_usage('m_append_k') WHERE kind IN ('cold', 'hot', 'deleted', 'unreferenced');
SELECT * FROM m_step('m_append', 'm_append_k');
SELECT learned_merge('m_append_k', rebuild => true);
SELECT kind, pages FROM learned_page_usage('m_append_k') WHERE kind IN ('cold', 'deleted');
ALTER INDEX m_append_k SET (hot_limit = 1000);
INSERT INTO m_append SELECT g, g FROM generate_series(22001, 25000) g;
SELECT generation > 2 AS merged_by_inserts, hot_entries < 1000 AS hot_below_limit FROM learned_index_info('m_append_k');
SELECT * FROM m_step('m_append', 'm_append_k');
SELECT lt_index_ok('m_append_k');

-- Keys arriving out of order: once 4 pages that inserts filled overlap deeply, the insert that seals
-- the next compacts the sealed pages into one sorted run (pages of disjoint ranges), leaving the cold
-- run and its generation alone.
CREATE TABLE m_random (id int, v int8) WITH (autovacuum_enabled = false);
INSERT INTO m_random SELECT g, (g * 7919) % 100000 FROM generate_series(1, 20000) g;
CREATE INDEX m_random_v ON m_random USING learned (v);
INSERT INTO m_random SELECT g, (g * 7919) % 100000 FROM generate_series(20001, 30000) g;
SELECT hot_entries, generation FROM learned_index_info('m_random_v');
SELECT pages > 0 AS compacted FROM learned_page_usage('m_random_v') WHERE kind = 'deleted';
SELECT * FROM m_step('m_random', 'm_random_v');
-- Point lookups of keys on the compacted (sorted) hot pages: every 97th key inserted after the build,
-- and one alone.
SELECT lt_where('m_random', format('v = ANY (''%s''::int8[])', array_agg(v)::text)) AS sorted_points
FROM m_random WHERE id > 20000 AND id % 97 = 0;
SELECT lt_where('m_random', format('v = %s', v)) AS sorted_point FROM m_random WHERE id = 25001;
SELECT lt_index_ok('m_random_v');

-- TRUNCATE of a table created in the same transaction rebuilds the index in its own file, where merges
-- count generations from 0 again: a model cached from the earlier build must not be used.
BEGIN;
CREATE TABLE m_trunc (id int, v int8);
CREATE INDEX m_trunc_v ON m_trunc USING learned (v) WITH (hot_limit = 1000);
INSERT INTO m_trunc SELECT g, g FROM generate_series(1, 3000) g;
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;
SELECT count(*) AS first_build FROM m_trunc WHERE v BETWEEN 100 AND 2999;
SELECT generation AS first_generation FROM learned_index_info('m_trunc_v');
TRUNCATE m_trunc;
INSERT INTO m_trunc SELECT g, g * 7 FROM generate_series(1, 3000) g;
SELECT generation AS second_generation FROM learned_index_info('m_trunc_v');
SELECT count(*) AS second_build FROM m_trunc WHERE v BETWEEN 100 AND 2999;
COMMIT;
SELECT count(*) AS by_heap FROM m_trunc WHERE v BETWEEN 100 AND 2999;

-- A full hot page is sorted as it is sealed: deleted rows' entries on the tail page get hints from
-- index scans, the page then fills (its hints cleared by the logged seal) and is sorted, and the scans
-- after it, forward and backward, return exactly the live rows.
CREATE TABLE m_hints (k int8) WITH (autovacuum_enabled = false);
CREATE INDEX m_hints_k ON m_hints USING learned (k) WITH (hot_limit = 100000);
INSERT INTO m_hints SELECT (g * 7919) % 1000 FROM generate_series(1, 300) g;
DELETE FROM m_hints WHERE k % 3 = 0;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SET enable_indexonlyscan = off;
SELECT count(*) AS before_seal FROM m_hints WHERE k >= 0;
SELECT count(*) AS hinted FROM m_hints WHERE k >= 0;
INSERT INTO m_hints SELECT (g * 6133) % 1000 FROM generate_series(1, 400) g;
SELECT hot_entries, pages > 2 AS sealed_one FROM learned_index_info('m_hints_k');
SELECT count(*) AS after_seal, sum(k) FROM m_hints WHERE k >= 0;
SELECT count(*) AS after_seal_ordered, sum(k) FROM (SELECT k FROM m_hints WHERE k < 1000 ORDER BY k DESC) s;
RESET enable_seqscan;
RESET enable_bitmapscan;
RESET enable_indexonlyscan;
SET enable_indexscan = off;
SET enable_bitmapscan = off;
SELECT count(*) AS by_heap, sum(k) FROM m_hints;
RESET enable_indexscan;
RESET enable_bitmapscan;
SELECT learned_index_check('m_hints_k', true) AS check_clean;
