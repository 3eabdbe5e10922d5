--
-- operators: every comparison with constants of another type of the same operator family (integers of
-- every width share one key space, as do float4 and float8), = ANY with arrays of another type, query
-- parameters (a NULL parameter is a comparison with NULL), and parameterised scans repeated for each
-- outer row of a nested loop (index rescans). The t_* tables come from types (all entries cold now).
--

-- The planner puts cross-type comparisons into the index condition.
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM t_int2 WHERE v < 40000::int8 AND v >= 7::int4;
EXPLAIN (COSTS OFF) SELECT v FROM t_int8 WHERE v = ANY (ARRAY[1, 2]::int2[]);
EXPLAIN (COSTS OFF) SELECT id FROM t_float4 WHERE v > 0.5::float8;
SET enable_indexscan = off;
SET enable_bitmapscan = on;
EXPLAIN (COSTS OFF) SELECT id FROM t_int4 WHERE v BETWEEN 5::int2 AND 7::int8;
RESET enable_seqscan;
RESET enable_indexscan;
RESET enable_bitmapscan;

-- int2 column (extremes -32768 and 32767): constants of wider types, some outside int2's range.
SELECT cond, lt_where('t_int2', cond) FROM unnest(ARRAY[
	'v = 7::int4', 'v = 7::int8', 'v < 40000::int4', 'v > -40000::int8', 'v = 70000::int4',
	'v <= 9223372036854775807::int8', 'v >= (-9223372036854775808)::int8', 'v > 32767::int8', 'v < -32768::int4',
	'v BETWEEN -3::int8 AND 3::int4', 'v = ANY (ARRAY[5, 7, 100000]::int8[])', 'v = ANY (ARRAY[5, NULL]::int4[])',
	'v >= 32767::int4 AND v <= 32767::int8']) cond;

-- int4 column (extremes -2147483648 and 2147483647).
SELECT cond, lt_where('t_int4', cond) FROM unnest(ARRAY[
	'v = 7::int2', 'v = 7::int8', 'v < 2147483648::int8', 'v > 2147483647::int8', 'v = 4294967296::int8',
	'v = 4294967303::int8', 'v >= -2147483649::int8', 'v < -2147483648::int8', 'v <= -100::int2',
	'v = ANY (ARRAY[7, 2147483647]::int8[])', 'v = ANY (ARRAY[-100]::int2[])']) cond;

-- int8 column (extremes -9223372036854775808 and 9223372036854775807).
SELECT cond, lt_where('t_int8', cond) FROM unnest(ARRAY[
	'v = 7::int2', 'v = 7::int4', 'v < 32767::int2', 'v > (-2147483648)::int4', 'v >= 2147483647::int4',
	'v <= (-32768)::int2', 'v > 5::int4 AND v < 9::int2', 'v = ANY (ARRAY[5, 7, NULL, 7]::int2[])']) cond;

-- float4 column with float8 constants: float4 widens exactly, so 0.1::float8 matches no float4 value,
-- and 3.4028235e38::float8 lies above the largest float4 (3.4028234663852886e38).
SELECT cond, lt_where('t_float4', cond) FROM unnest(ARRAY[
	'v = 0.25::float8', 'v = 0.1::float8', 'v < 1e39::float8', 'v > 3.4028235e38::float8',
	'v = 3.4028234663852886e38::float8', 'v = ''NaN''::float8', 'v = -''NaN''::float8',
	'v BETWEEN -0.25::float8 AND 0.25::float8', 'v = ANY (ARRAY[0.25, 1.75, 0.1]::float8[])',
	'v >= ''-Infinity''::float8 AND v < -24.5::float8']) cond;

-- float8 column with float4 constants.
SELECT cond, lt_where('t_float8', cond) FROM unnest(ARRAY[
	'v = 0.25::float4', 'v = 0.1::float4', 'v < ''Infinity''::float4', 'v > 3.4028235e38::float4',
	'v = ''-0''::float4', 'v >= ''NaN''::float4', 'v = ANY (ARRAY[1.75, ''NaN'']::float4[])']) cond;

-- Parameters: generic plans keep the comparison with $1 in the index condition, so a NULL parameter
-- reaches the index as a comparison with NULL, which matches nothing (not even NULL rows).
SET plan_cache_mode = force_generic_plan;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
PREPARE p_eq(int8) AS SELECT count(*) FROM t_int4 WHERE v = $1;
PREPARE p_range(int4, int2) AS SELECT count(*) FROM t_int8 WHERE v > $1 AND v <= $2;
EXPLAIN (COSTS OFF) EXECUTE p_eq(7);
EXPLAIN (COSTS OFF) EXECUTE p_range(0, 10);
EXECUTE p_eq(7);
EXECUTE p_eq(NULL);
EXECUTE p_range(0, 10);
EXECUTE p_range(NULL, 10);
EXECUTE p_range(-101, NULL);
-- Plans are cached: prepare again for bitmap scans.
DEALLOCATE p_eq;
DEALLOCATE p_range;
SET enable_indexscan = off;
SET enable_bitmapscan = on;
PREPARE p_eq(int8) AS SELECT count(*) FROM t_int4 WHERE v = $1;
PREPARE p_range(int4, int2) AS SELECT count(*) FROM t_int8 WHERE v > $1 AND v <= $2;
EXPLAIN (COSTS OFF) EXECUTE p_eq(7);
EXECUTE p_eq(7);
EXECUTE p_eq(NULL);
EXECUTE p_range(0, 10);
EXECUTE p_range(NULL, 10);
DEALLOCATE p_eq;
DEALLOCATE p_range;
RESET plan_cache_mode;
RESET enable_seqscan;
RESET enable_indexscan;
RESET enable_bitmapscan;

-- Rescans: a nested loop runs the inner index scan once per outer row. op_inner has a cold run and a
-- hot area: v = 0 .. 99, 10 cold and 2 hot rows each.
CREATE TABLE op_inner (id int, v int4) WITH (autovacuum_enabled = false);
INSERT INTO op_inner SELECT g, g % 100 FROM generate_series(1, 1000) g;
CREATE INDEX op_inner_v ON op_inner USING learned (v);
INSERT INTO op_inner SELECT g, g % 100 FROM generate_series(1001, 1200) g;
CREATE TABLE op_outer (x int) WITH (autovacuum_enabled = false);
INSERT INTO op_outer VALUES (5), (7), (150), (NULL), (-100), (5), (99);
VACUUM ANALYZE op_inner, op_outer;
SET enable_hashjoin = off;
SET enable_mergejoin = off;
SET enable_material = off;
SET enable_memoize = off;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT o.x, i.id FROM op_outer o JOIN op_inner i ON i.v = o.x;
RESET enable_seqscan;
RESET enable_bitmapscan;
-- Equality: 12 rows for each of 5, 7, 5 and 99 (150, NULL and -100 match nothing): 48.
SELECT lt_check('SELECT o.x, i.id FROM op_outer o JOIN op_inner i ON i.v = o.x');
SELECT lt_check('SELECT o.x, i.v FROM op_outer o JOIN op_inner i ON i.v = o.x');
-- Inequality: x = 5 twice (94 values), 7 (92), -100 (100), 99 (0): 380 values of 12 rows: 4560.
SELECT lt_check('SELECT o.x, i.id FROM op_outer o JOIN op_inner i ON i.v > o.x');
SELECT lt_check('SELECT o.x, i.v FROM op_outer o JOIN op_inner i ON i.v <= o.x AND i.v >= o.x - 2');
RESET enable_hashjoin;
RESET enable_mergejoin;
RESET enable_material;
RESET enable_memoize;
SELECT lt_index_ok('op_inner_v');
