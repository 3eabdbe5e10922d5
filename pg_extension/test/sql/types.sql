--
-- types: every key type, with NULLs, a long run of duplicates, the type's minimum and maximum, and
-- for floats -0.0, NaN (including a NaN with its sign bit set) and +-Infinity, for datetimes
-- +-infinity. Each table is built with part of its rows (the cold run) and receives the rest by
-- INSERT (the hot area); every condition is checked under index, bitmap and index-only scans against a
-- sequential scan, then again after learned_merge() has folded the hot area into the cold run.
--
-- Base rows (see lt_base_cold/lt_base_hot in setup): each of n = -100 .. 99 has 15 rows, except n = 7
-- with 715, plus 30 NULLs: 3700 non-NULL base rows. Special values: each minimum and maximum 3 times
-- (2 cold, 1 hot); floats add -Infinity, Infinity, NaN and -0.0, 3 times each; datetimes add
-- -infinity and infinity, 3 times each.
--
CREATE TABLE t_int2 (id int, v int2) WITH (autovacuum_enabled = false);
CREATE TABLE t_int4 (id int, v int4) WITH (autovacuum_enabled = false);
CREATE TABLE t_int8 (id int, v int8) WITH (autovacuum_enabled = false);
CREATE TABLE t_float4 (id int, v float4) WITH (autovacuum_enabled = false);
CREATE TABLE t_float8 (id int, v float8) WITH (autovacuum_enabled = false);
CREATE TABLE t_date (id int, v date) WITH (autovacuum_enabled = false);
CREATE TABLE t_timestamp (id int, v timestamp) WITH (autovacuum_enabled = false);
CREATE TABLE t_timestamptz (id int, v timestamptz) WITH (autovacuum_enabled = false);

INSERT INTO t_int2 SELECT id, n FROM lt_base_cold();
INSERT INTO t_int2 VALUES (-1, -32768), (-2, -32768), (-3, 32767), (-4, 32767);
INSERT INTO t_int4 SELECT id, n FROM lt_base_cold();
INSERT INTO t_int4 VALUES (-1, -2147483648), (-2, -2147483648), (-3, 2147483647), (-4, 2147483647);
INSERT INTO t_int8 SELECT id, n FROM lt_base_cold();
INSERT INTO t_int8 VALUES (-1, -9223372036854775808), (-2, -9223372036854775808),
	(-3, 9223372036854775807), (-4, 9223372036854775807);
INSERT INTO t_float4 SELECT id, n / 4.0 FROM lt_base_cold();
INSERT INTO t_float4 VALUES (-1, '-3.4028235e38'), (-2, '-3.4028235e38'), (-3, '3.4028235e38'), (-4, '3.4028235e38'),
	(-5, '-Infinity'), (-6, '-Infinity'), (-7, 'Infinity'), (-8, 'Infinity'),
	(-9, 'NaN'), (-10, -'NaN'::float4), (-11, '-0'), (-12, '-0');
INSERT INTO t_float8 SELECT id, n / 4.0 FROM lt_base_cold();
INSERT INTO t_float8 VALUES (-1, '-1.7976931348623157e308'), (-2, '-1.7976931348623157e308'),
	(-3, '1.7976931348623157e308'), (-4, '1.7976931348623157e308'),
	(-5, '-Infinity'), (-6, '-Infinity'), (-7, 'Infinity'), (-8, 'Infinity'),
	(-9, 'NaN'), (-10, -'NaN'::float8), (-11, '-0'), (-12, '-0');
INSERT INTO t_date SELECT id, date '2000-01-01' + n FROM lt_base_cold();
INSERT INTO t_date VALUES (-1, '4713-01-01 BC'), (-2, '4713-01-01 BC'), (-3, '5874897-12-31'), (-4, '5874897-12-31'),
	(-5, '-infinity'), (-6, '-infinity'), (-7, 'infinity'), (-8, 'infinity');
INSERT INTO t_timestamp SELECT id, timestamp '2000-01-01 00:00' + interval '1 hour' * n FROM lt_base_cold();
INSERT INTO t_timestamp VALUES (-1, '4714-11-24 00:00:00 BC'), (-2, '4714-11-24 00:00:00 BC'),
	(-3, '294276-12-31 23:59:59.999999'), (-4, '294276-12-31 23:59:59.999999'),
	(-5, '-infinity'), (-6, '-infinity'), (-7, 'infinity'), (-8, 'infinity');
INSERT INTO t_timestamptz SELECT id, timestamptz '2000-01-01 00:00+00' + interval '1 hour' * n FROM lt_base_cold();
INSERT INTO t_timestamptz VALUES (-1, '4714-11-24 00:00:00+00 BC'), (-2, '4714-11-24 00:00:00+00 BC'),
	(-3, '294276-12-31 23:59:59.999999+00'), (-4, '294276-12-31 23:59:59.999999+00'),
	(-5, '-infinity'), (-6, '-infinity'), (-7, 'infinity'), (-8, 'infinity');

CREATE INDEX t_int2_v ON t_int2 USING learned (v);
CREATE INDEX t_int4_v ON t_int4 USING learned (v);
CREATE INDEX t_int8_v ON t_int8 USING learned (v);
CREATE INDEX t_float4_v ON t_float4 USING learned (v);
CREATE INDEX t_float8_v ON t_float8 USING learned (v);
CREATE INDEX t_date_v ON t_date USING learned (v);
CREATE INDEX t_timestamp_v ON t_timestamp USING learned (v);
CREATE INDEX t_timestamptz_v ON t_timestamptz USING learned (v);

-- The hot rows.
INSERT INTO t_int2 SELECT id, n FROM lt_base_hot();
INSERT INTO t_int2 VALUES (-101, -32768), (-103, 32767);
INSERT INTO t_int4 SELECT id, n FROM lt_base_hot();
INSERT INTO t_int4 VALUES (-101, -2147483648), (-103, 2147483647);
INSERT INTO t_int8 SELECT id, n FROM lt_base_hot();
INSERT INTO t_int8 VALUES (-101, -9223372036854775808), (-103, 9223372036854775807);
INSERT INTO t_float4 SELECT id, n / 4.0 FROM lt_base_hot();
INSERT INTO t_float4 VALUES (-101, '-3.4028235e38'), (-103, '3.4028235e38'), (-105, '-Infinity'), (-107, 'Infinity'),
	(-109, -'NaN'::float4), (-111, '-0');
INSERT INTO t_float8 SELECT id, n / 4.0 FROM lt_base_hot();
INSERT INTO t_float8 VALUES (-101, '-1.7976931348623157e308'), (-103, '1.7976931348623157e308'), (-105, '-Infinity'),
	(-107, 'Infinity'), (-109, -'NaN'::float8), (-111, '-0');
INSERT INTO t_date SELECT id, date '2000-01-01' + n FROM lt_base_hot();
INSERT INTO t_date VALUES (-101, '4713-01-01 BC'), (-103, '5874897-12-31'), (-105, '-infinity'), (-107, 'infinity');
INSERT INTO t_timestamp SELECT id, timestamp '2000-01-01 00:00' + interval '1 hour' * n FROM lt_base_hot();
INSERT INTO t_timestamp VALUES (-101, '4714-11-24 00:00:00 BC'), (-103, '294276-12-31 23:59:59.999999'),
	(-105, '-infinity'), (-107, 'infinity');
INSERT INTO t_timestamptz SELECT id, timestamptz '2000-01-01 00:00+00' + interval '1 hour' * n FROM lt_base_hot();
INSERT INTO t_timestamptz VALUES (-101, '4714-11-24 00:00:00+00 BC'), (-103, '294276-12-31 23:59:59.999999+00'),
	(-105, '-infinity'), (-107, 'infinity');

-- VACUUM sets the visibility map, so that index-only scans are chosen; it leaves the hot areas alone
-- (they are far below hot_limit).
VACUUM ANALYZE t_int2, t_int4, t_int8, t_float4, t_float8, t_date, t_timestamp, t_timestamptz;

-- What each index holds: cold entries, NULL entries in the cold run, and hot entries.
SELECT c.relname, i.cold_entries, i.null_entries, i.hot_entries
FROM pg_class c, learned_index_info(c.oid) i
WHERE c.relname LIKE 't\_%\_v' ORDER BY c.relname;

-- The conditions every type is checked with; {n} is the type's value for base integer n, {t} the type.
CREATE TABLE lt_conds (ord int, cond text);
INSERT INTO lt_conds VALUES
	(1, 'v = {7}'), (2, 'v = {5}'), (3, 'v = {-100}'), (4, 'v = {99}'), (5, 'v = {100}'),
	(6, 'v BETWEEN {-3} AND {3}'), (7, 'v > {0} AND v <= {10}'), (8, 'v >= {7} AND v < {8}'),
	(9, 'v < {-95}'), (10, 'v >= {95}'), (11, 'v IS NULL'), (12, 'v IS NOT NULL'),
	(13, 'v = ANY (ARRAY[{5}, {7}, {5}, NULL, {1000}])'), (14, 'v = ANY (ARRAY[NULL, NULL]::{t}[])'),
	(15, 'v < ANY (ARRAY[{-99}, NULL])'), (16, 'v > {5} AND v < {5}'), (17, 'v IS NULL AND v > {5}'),
	(18, 'v > {5} AND v IS NULL'), (19, 'v = ANY (ARRAY[{6}, {7}, {8}]) AND v > {6}'),
	(20, 'v >= {-100} AND v <= {99}'), (21, 'v = ANY (ARRAY[{-100}, {99}, {0}, {-50}])'),
	(22, 'v > {98} AND v IS NOT NULL'), (23, 'v <= {-100} AND v > {-101}');

-- Type-specific conditions: extremes, infinities, NaN and -0.0.
CREATE TABLE lt_special (typ text, ord int, cond text);
INSERT INTO lt_special VALUES
	('int2', 1, 'v = -32768'), ('int2', 2, 'v = 32767'), ('int2', 3, 'v < -32768'), ('int2', 4, 'v > 32767'),
	('int2', 5, 'v <= -32768'), ('int2', 6, 'v >= 32767'), ('int2', 7, 'v > -32768'),
	('int4', 1, 'v = -2147483648'), ('int4', 2, 'v = 2147483647'), ('int4', 3, 'v < -2147483648'),
	('int4', 4, 'v > 2147483647'), ('int4', 5, 'v <= -2147483648'), ('int4', 6, 'v >= 2147483647'),
	('int4', 7, 'v > -2147483648'),
	('int8', 1, 'v = -9223372036854775808'), ('int8', 2, 'v = 9223372036854775807'),
	('int8', 3, 'v < -9223372036854775808'), ('int8', 4, 'v > 9223372036854775807'),
	('int8', 5, 'v <= -9223372036854775808'), ('int8', 6, 'v >= 9223372036854775807'),
	('int8', 7, 'v > -9223372036854775808');
INSERT INTO lt_special SELECT typ, ord, replace(replace(cond, 'MIN', mn), 'MAX', mx)
FROM (VALUES ('float4', '''-3.4028235e38''::float4', '''3.4028235e38''::float4'),
			 ('float8', '''-1.7976931348623157e308''::float8', '''1.7976931348623157e308''::float8')) t(typ, mn, mx),
	 (VALUES (1, 'v = MIN'), (2, 'v = MAX'), (3, 'v = 0'), (4, 'v = ''-0'''), (5, 'v = ''NaN'''),
			 (6, 'v > ''Infinity'''), (7, 'v >= ''Infinity'''), (8, 'v = ''-Infinity'''), (9, 'v < ''-Infinity'''),
			 (10, 'v <= ''-Infinity'''), (11, 'v > ''NaN'''), (12, 'v >= ''NaN'''), (13, 'v < ''NaN'''),
			 (14, 'v > MAX'), (15, 'v < MIN'), (16, 'v BETWEEN ''-0'' AND 0'),
			 (17, 'v = ANY (ARRAY[''NaN'', ''-0'', ''Infinity'']::real[])')) c(ord, cond);
INSERT INTO lt_special SELECT typ, ord, replace(replace(cond, 'MIN', mn), 'MAX', mx)
FROM (VALUES ('date', '''4713-01-01 BC''::date', '''5874897-12-31''::date'),
			 ('timestamp', '''4714-11-24 00:00:00 BC''::timestamp', '''294276-12-31 23:59:59.999999''::timestamp'),
			 ('timestamptz', '''4714-11-24 00:00:00+00 BC''::timestamptz', '''294276-12-31 23:59:59.999999+00''::timestamptz'))
		t(typ, mn, mx),
	 (VALUES (1, 'v = MIN'), (2, 'v = MAX'), (3, 'v = ''infinity'''), (4, 'v = ''-infinity'''),
			 (5, 'v > MAX'), (6, 'v < MIN'), (7, 'v > ''infinity'''), (8, 'v < ''-infinity'''),
			 (9, 'v >= ''-infinity'''), (10, 'v <= ''infinity'' AND v > MAX'),
			 (11, 'v = ANY (ARRAY[''infinity'', ''-infinity'', MIN])')) c(ord, cond);

CREATE TABLE lt_type_results (phase int, typ text, ord int, cond text, result text);
INSERT INTO lt_type_results
SELECT 1, typ, ord, cond, lt_where('t_' || typ, lt_sub(cond, typ))
FROM unnest(ARRAY['int2', 'int4', 'int8', 'float4', 'float8', 'date', 'timestamp', 'timestamptz']) typ, lt_conds;
INSERT INTO lt_type_results
SELECT 1, typ, 100 + ord, cond, lt_where('t_' || typ, cond) FROM lt_special;

SELECT typ, cond, result FROM lt_type_results WHERE phase = 1 AND typ LIKE 'int%' AND ord < 100 ORDER BY typ, ord;
SELECT typ, cond, result FROM lt_type_results WHERE phase = 1 AND typ LIKE 'float%' AND ord < 100 ORDER BY typ, ord;
SELECT typ, cond, result FROM lt_type_results WHERE phase = 1 AND typ NOT SIMILAR TO '(int|float)%' AND ord < 100
ORDER BY typ, ord;
SELECT typ, cond, result FROM lt_type_results WHERE phase = 1 AND ord > 100 ORDER BY typ, ord;

-- Index-only scans give back the stored float bit for bit: float4send/float8send of what each scan
-- returns against the sequential scan's (the bytes show -0.0's sign and a NaN's sign and payload).
SELECT typ, cond, lt_check(format('SELECT %ssend(v) FROM t_%s WHERE %s', typ, typ, cond)) AS result
FROM unnest(ARRAY['float4', 'float8']) typ,
	 (VALUES ('v = ''NaN'''), ('v = 0'), ('v <= 0 AND v >= -1'), ('v >= ''-Infinity''')) c(cond)
ORDER BY typ, cond;

-- Every index holds exactly the table's rows.
SELECT c.relname, lt_index_ok(c.oid) FROM pg_class c WHERE c.relname LIKE 't\_%\_v' ORDER BY c.relname;

-- Merge the hot areas into the cold runs: every entry ends up cold, the hot areas empty.
SELECT c.relname, learned_merge(c.oid) AS merged FROM pg_class c WHERE c.relname LIKE 't\_%\_v' ORDER BY c.relname;
SELECT c.relname, i.cold_entries, i.null_entries, i.hot_entries, i.generation
FROM pg_class c, learned_index_info(c.oid) i
WHERE c.relname LIKE 't\_%\_v' ORDER BY c.relname;
SELECT c.relname, lt_index_ok(c.oid) FROM pg_class c WHERE c.relname LIKE 't\_%\_v' ORDER BY c.relname;

-- The same checks on the merged indexes must give exactly the same results as before.
INSERT INTO lt_type_results
SELECT 2, typ, ord, cond, lt_where('t_' || typ, lt_sub(cond, typ))
FROM unnest(ARRAY['int2', 'int4', 'int8', 'float4', 'float8', 'date', 'timestamp', 'timestamptz']) typ, lt_conds;
INSERT INTO lt_type_results
SELECT 2, typ, 100 + ord, cond, lt_where('t_' || typ, cond) FROM lt_special;
SELECT count(*) AS checks, count(*) FILTER (WHERE a.result = b.result) AS same_after_merge
FROM lt_type_results a JOIN lt_type_results b USING (typ, ord) WHERE a.phase = 1 AND b.phase = 2;
SELECT b.typ, b.cond, a.result AS before, b.result AS after
FROM lt_type_results a JOIN lt_type_results b USING (typ, ord)
WHERE a.phase = 1 AND b.phase = 2 AND a.result IS DISTINCT FROM b.result;

DROP TABLE lt_type_results, lt_special;
-- lt_conds and the t_* tables stay for the later files.
