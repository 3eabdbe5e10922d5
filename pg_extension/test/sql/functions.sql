--
-- functions: learned_version(), learned_index_info(), learned_segments(), learned_explain_lookup()
-- (its lower_bound and found checked against positions counted independently), learned_merge().
--
SELECT learned_version();

-- learned_index_info on t_int4_v (types: merged once, 3706 values and 30 NULLs).
SELECT model, epsilon, cold_entries, null_entries, hot_entries, generation,
	segments >= 1 AS has_segments, pages > 1 AS has_pages, model_bytes > 0 AS has_model,
	max_window >= 1 AND max_window <= 2 * epsilon + 3 AS window_bounded,
	mean_window >= 1 AND mean_window <= max_window AS mean_in_range
FROM learned_index_info('t_int4_v');
-- An index without values has no model.
CREATE TABLE fn_nulls (v int4);
INSERT INTO fn_nulls SELECT NULL FROM generate_series(1, 50);
CREATE INDEX fn_nulls_v ON fn_nulls USING learned (v);
SELECT model, segments, cold_entries, null_entries, model_bytes, mean_window, max_window
FROM learned_index_info('fn_nulls_v');

-- learned_segments: as many as learned_index_info counts, numbered from 0, first keys ascending, the
-- first one at or below the smallest key (1); for every model.
CREATE TABLE fn_t (id int, v int8) WITH (autovacuum_enabled = false);
INSERT INTO fn_t SELECT g, g::int8 * g FROM generate_series(1, 3000) g;
INSERT INTO fn_t SELECT g, 7 FROM generate_series(3001, 3300) g;
CREATE INDEX fn_pgm ON fn_t USING learned (v) WITH (model = 'pgm', epsilon = 4);
CREATE INDEX fn_rmi ON fn_t USING learned (v) WITH (model = 'rmi');
CREATE INDEX fn_linear ON fn_t USING learned (v) WITH (model = 'linear');
SELECT i.relname, (SELECT segments FROM learned_index_info(i.relname::regclass)) = count(*) AS count_matches,
	count(*) > 0 AS some, min(s.segment) = 0 AND max(s.segment) = count(*) - 1 AS numbered,
	bool_and(s.ascending IS NOT FALSE) AS ascending, min(s.first_key) <= 1 AS covers_min
FROM (VALUES ('fn_pgm'), ('fn_rmi'), ('fn_linear')) i(relname),
	LATERAL (SELECT segment, first_key, first_key >= lag(first_key) OVER (ORDER BY segment) AS ascending
			 FROM learned_segments(i.relname::regclass)) s
GROUP BY i.relname ORDER BY i.relname;
SELECT count(*) AS linear_segments FROM learned_segments('fn_linear');
SELECT count(*) > 1 AS pgm_needs_several FROM learned_segments('fn_pgm');
SELECT count(*) AS no_segments FROM learned_segments('fn_nulls_v');

-- learned_explain_lookup: for every key present, the key just above and the key just below it, and
-- keys beyond both ends, lower_bound must be the number of cold values below the key, found whether
-- the key is among them, and the model's window must hold lower_bound.
-- The truth comes from the table: probes sorted among the values (a probe before values equal to it),
-- the running count of values before each probe being its lower bound.
CREATE FUNCTION fn_lookup_errors(idx regclass, tbl text, probes text) RETURNS TABLE (n_probes bigint, n_errors bigint)
LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY EXECUTE format($q$
		WITH p AS (SELECT DISTINCT k FROM (%s) p WHERE k IS NOT NULL),
		vals AS (SELECT v FROM %I WHERE v IS NOT NULL),
		events AS (SELECT v AS x, 1 AS isval FROM vals UNION ALL SELECT k, 0 FROM p),
		ranked AS (SELECT x, isval, sum(isval) OVER (ORDER BY x, isval ROWS UNBOUNDED PRECEDING) AS below
				   FROM events),
		truth AS (SELECT x AS k, below AS lb, x IN (SELECT v FROM vals) AS found FROM ranked WHERE isval = 0)
		SELECT count(*), count(*) FILTER (WHERE l.lower_bound <> t.lb OR l.found <> t.found
										  OR l.lower_bound < l.window_lo OR l.lower_bound > l.window_hi)
		FROM truth t, LATERAL learned_explain_lookup(%L::regclass, t.k) l$q$, probes, tbl, idx);
END $$;
SET enable_indexscan = off;
SET enable_bitmapscan = off;
SET enable_indexonlyscan = off;
-- fn_t: squares 1 .. 9000000 and 300 sevens; 9000 probes of 0 .. 8999 (most absent) and all keys +-1.
SELECT * FROM fn_lookup_errors('fn_pgm', 'fn_t',
	'SELECT g::int8 AS k FROM generate_series(0, 8999) g UNION SELECT v + d FROM fn_t, (VALUES (-1), (0), (1)) d(d)');
SELECT * FROM fn_lookup_errors('fn_rmi', 'fn_t',
	'SELECT g::int8 AS k FROM generate_series(0, 8999) g UNION SELECT v + d FROM fn_t, (VALUES (-1), (0), (1)) d(d)');
SELECT * FROM fn_lookup_errors('fn_linear', 'fn_t',
	'SELECT g::int8 AS k FROM generate_series(0, 8999) g UNION SELECT v + d FROM fn_t, (VALUES (-1), (0), (1)) d(d)');
-- Extremes and cross-type keys (int4, int2 keys on an int8 index).
SELECT * FROM learned_explain_lookup('fn_pgm', 7::int4);
SELECT * FROM learned_explain_lookup('fn_pgm', 8::int2);
SELECT lower_bound, found FROM learned_explain_lookup('fn_pgm', (-9223372036854775808)::int8);
SELECT lower_bound, found FROM learned_explain_lookup('fn_pgm', 9223372036854775807::int8);
SELECT lower_bound, found FROM learned_explain_lookup('fn_pgm', 9000000::int8);
-- t_float8 (merged): -Infinity, the extremes, -0.0 (found as 0), NaN, and keys between them.
SELECT * FROM fn_lookup_errors('t_float8_v', 't_float8',
	'SELECT v AS k FROM t_float8 UNION SELECT v + 0.125 FROM t_float8 UNION SELECT v - 0.125 FROM t_float8
	 UNION VALUES (''-0''::float8), (''NaN''), (''-Infinity''), (''Infinity''), (1e300), (-1e300)');
SELECT lower_bound, found FROM learned_explain_lookup('t_float8_v', '-0'::float8);
SELECT lower_bound, found FROM learned_explain_lookup('t_float8_v', 0::float8);
SELECT lower_bound, found FROM learned_explain_lookup('t_float8_v', 'NaN'::float8);
SELECT lower_bound, found FROM learned_explain_lookup('t_float8_v', 'NaN'::float4);
SELECT lower_bound, found FROM learned_explain_lookup('t_float8_v', 0.1::float4);
-- t_date and t_timestamptz (merged): with +-infinity.
SELECT * FROM fn_lookup_errors('t_date_v', 't_date',
	'SELECT v AS k FROM t_date UNION SELECT v + 1 FROM t_date WHERE isfinite(v) AND v < ''5874897-12-31''
	 UNION SELECT v - 1 FROM t_date WHERE isfinite(v) AND v > ''4713-01-01 BC''');
SELECT * FROM fn_lookup_errors('t_timestamptz_v', 't_timestamptz',
	'SELECT v AS k FROM t_timestamptz UNION SELECT v - interval ''1 microsecond'' FROM t_timestamptz
	 WHERE isfinite(v) AND v > ''4714-11-24 00:00:00+00 BC''');
SELECT * FROM fn_lookup_errors('t_int2_v', 't_int2', 'SELECT g::int2 AS k FROM generate_series(-32768, 32767, 7) g');
-- An empty run: nothing found, lower_bound 0.
SELECT * FROM learned_explain_lookup('fn_nulls_v', 5);
RESET enable_indexscan;
RESET enable_bitmapscan;
RESET enable_indexonlyscan;

-- Hot entries are not in the cold run: lower_bound stays, hot_pages counts the hot area; learned_merge
-- returns the entries of the new run and brings them in.
INSERT INTO fn_t SELECT g, 7 FROM generate_series(5001, 5400) g;
SELECT lower_bound, found, hot_pages FROM learned_explain_lookup('fn_pgm', 8::int8);
SELECT learned_merge('fn_pgm');
SELECT lower_bound, found, hot_pages FROM learned_explain_lookup('fn_pgm', 8::int8);
SELECT lt_index_ok('fn_pgm'), lt_index_ok('fn_rmi'), lt_index_ok('fn_linear');
