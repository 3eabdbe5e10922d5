--
-- nulls: NULL keys (kept after all values, in the cold run and in the hot area), tables holding only
-- NULLs, empty tables and one-row tables, for every key type.
--
-- Creates the three tables of one type (VACUUM cannot run in a function: it follows).
CREATE FUNCTION nl_make(typ text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format('CREATE TABLE nl_empty_%s (id int, v %s) WITH (autovacuum_enabled = false)', typ, typ);
	EXECUTE format('CREATE INDEX nl_empty_%s_v ON nl_empty_%s USING learned (v)', typ, typ);
	EXECUTE format('CREATE TABLE nl_one_%s (id int, v %s) WITH (autovacuum_enabled = false)', typ, typ);
	EXECUTE format('INSERT INTO nl_one_%s VALUES (1, %s)', typ, lt_val(typ, 5));
	EXECUTE format('CREATE INDEX nl_one_%s_v ON nl_one_%s USING learned (v)', typ, typ);
	EXECUTE format('CREATE TABLE nl_nulls_%s (id int, v %s) WITH (autovacuum_enabled = false)', typ, typ);
	EXECUTE format('INSERT INTO nl_nulls_%s SELECT g, NULL FROM generate_series(1, 700) g', typ);
	EXECUTE format('CREATE INDEX nl_nulls_%s_v ON nl_nulls_%s USING learned (v)', typ, typ);
END $$;
SELECT nl_make(typ) FROM unnest(ARRAY['int2', 'int4', 'int8', 'float4', 'float8', 'date', 'timestamp', 'timestamptz']) typ;
VACUUM ANALYZE nl_empty_int2, nl_empty_int4, nl_empty_int8, nl_empty_float4, nl_empty_float8, nl_empty_date,
	nl_empty_timestamp, nl_empty_timestamptz, nl_one_int2, nl_one_int4, nl_one_int8, nl_one_float4,
	nl_one_float8, nl_one_date, nl_one_timestamp, nl_one_timestamptz, nl_nulls_int2, nl_nulls_int4,
	nl_nulls_int8, nl_nulls_float4, nl_nulls_float8, nl_nulls_date, nl_nulls_timestamp, nl_nulls_timestamptz;

-- What the indexes hold: the empty ones nothing, the one-row ones one cold entry, the NULL ones 700
-- NULL entries (over two cold pages) and no model.
SELECT c.relname, i.cold_entries, i.null_entries, i.hot_entries, i.segments
FROM pg_class c, learned_index_info(c.oid) i WHERE c.relname LIKE 'nl\_%\_v' ORDER BY c.relname;

CREATE TABLE nl_conds (ord int, cond text);
INSERT INTO nl_conds VALUES (1, 'v IS NULL'), (2, 'v IS NOT NULL'), (3, 'v = {5}'), (4, 'v = {4}'),
	(5, 'v > {5}'), (6, 'v >= {5}'), (7, 'v < {5}'), (8, 'v <= {5}'), (9, 'v = ANY (ARRAY[{5}, NULL])');

CREATE TABLE nl_results (phase int, tbl text, typ text, ord int, cond text, result text);
CREATE FUNCTION nl_run(phase int) RETURNS void LANGUAGE sql AS $$
	INSERT INTO nl_results
	SELECT phase, tbl, typ, ord, cond, lt_where(format('nl_%s_%s', tbl, typ), lt_sub(cond, typ))
	FROM unnest(ARRAY['empty', 'one', 'nulls']) tbl,
		 unnest(ARRAY['int2', 'int4', 'int8', 'float4', 'float8', 'date', 'timestamp', 'timestamptz']) typ, nl_conds;
$$;

-- Phase 1, as built. Every type must give the same answers: one line per table and condition, with
-- the types that gave each distinct result.
SELECT nl_run(1);
SELECT tbl, cond, result, string_agg(typ, ' ' ORDER BY typ) AS types
FROM nl_results WHERE phase = 1 GROUP BY tbl, ord, cond, result ORDER BY tbl, ord;

-- Phase 2: the same rows again, plus one NULL and one value (5), arriving in the hot areas.
-- empty: {5, NULL}; one: {5, 5, NULL}; nulls: 701 NULLs and one 5.
SELECT count(*) FROM (
	SELECT lt_exec(format('INSERT INTO nl_%s_%s VALUES (100, NULL), (101, %s)', tbl, typ, lt_val(typ, 5)))
	FROM unnest(ARRAY['empty', 'one', 'nulls']) tbl,
		 unnest(ARRAY['int2', 'int4', 'int8', 'float4', 'float8', 'date', 'timestamp', 'timestamptz']) typ) s;
SELECT nl_run(2);
SELECT tbl, cond, result, string_agg(typ, ' ' ORDER BY typ) AS types
FROM nl_results WHERE phase = 2 GROUP BY tbl, ord, cond, result ORDER BY tbl, ord;

-- Phase 3: merged; the answers must not change.
SELECT count(*) AS merged, sum(learned_merge(c.oid)) AS entries
FROM pg_class c WHERE c.relname LIKE 'nl\_%\_v';
SELECT c.relname, i.cold_entries, i.null_entries, i.hot_entries
FROM pg_class c, learned_index_info(c.oid) i WHERE c.relname LIKE 'nl\_%\_v' AND c.relname LIKE '%int4%'
ORDER BY c.relname;
SELECT nl_run(3);
SELECT count(*) AS checks, count(*) FILTER (WHERE a.result = b.result) AS same_after_merge
FROM nl_results a JOIN nl_results b USING (tbl, typ, ord) WHERE a.phase = 2 AND b.phase = 3;
SELECT count(*) AS indexes, bool_and(lt_index_ok(c.oid)) AS all_ok FROM pg_class c WHERE c.relname LIKE 'nl\_%\_v';

-- NULL ordering: the index returns NULLs last going forward, first going backward, so it serves
-- ORDER BY v (NULLS LAST) and ORDER BY v DESC (NULLS FIRST) but not the other two.
SELECT lt_check('SELECT v FROM nl_nulls_int4 ORDER BY v', true);
SELECT lt_check('SELECT v FROM nl_nulls_int4 ORDER BY v DESC', true);
SELECT lt_check('SELECT v FROM t_int4 ORDER BY v', true);
SELECT lt_check('SELECT v FROM t_int4 ORDER BY v DESC LIMIT 40', true);
SELECT lt_check('SELECT v FROM t_int4 ORDER BY v NULLS FIRST LIMIT 40', true);
SELECT lt_check('SELECT v FROM t_int4 ORDER BY v DESC NULLS LAST LIMIT 40', true);
SELECT lt_check('SELECT v FROM t_int4 WHERE v IS NULL ORDER BY v DESC', true);
