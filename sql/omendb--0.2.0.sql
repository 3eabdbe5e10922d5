-- omendb 0.2.0: the `learned` index access method and the learned_* functions.

\echo Use "CREATE EXTENSION omendb" to load this file. \quit

CREATE FUNCTION learned_handler(internal) RETURNS index_am_handler
	AS 'MODULE_PATHNAME' LANGUAGE C;

CREATE ACCESS METHOD learned TYPE INDEX HANDLER learned_handler;
COMMENT ON ACCESS METHOD learned IS 'learned index: a model predicts a key''s position within a proven error bound';

-- Operator classes reuse the built-in btree comparison operators and support functions, with btree
-- strategy numbers, so the planner can use learned indexes for ORDER BY, merge joins and min/max.

CREATE OPERATOR FAMILY integer_ops USING learned;

CREATE OPERATOR CLASS int2_ops DEFAULT FOR TYPE int2 USING learned FAMILY integer_ops AS
	OPERATOR 1 <, OPERATOR 2 <=, OPERATOR 3 =, OPERATOR 4 >=, OPERATOR 5 >,
	FUNCTION 1 btint2cmp(int2, int2);
CREATE OPERATOR CLASS int4_ops DEFAULT FOR TYPE int4 USING learned FAMILY integer_ops AS
	OPERATOR 1 <, OPERATOR 2 <=, OPERATOR 3 =, OPERATOR 4 >=, OPERATOR 5 >,
	FUNCTION 1 btint4cmp(int4, int4);
CREATE OPERATOR CLASS int8_ops DEFAULT FOR TYPE int8 USING learned FAMILY integer_ops AS
	OPERATOR 1 <, OPERATOR 2 <=, OPERATOR 3 =, OPERATOR 4 >=, OPERATOR 5 >,
	FUNCTION 1 btint8cmp(int8, int8);

-- Integers of every width share one key space, so mixed-width comparisons (bigint = 5) use the index.
ALTER OPERATOR FAMILY integer_ops USING learned ADD
	OPERATOR 1 < (int2, int4), OPERATOR 2 <= (int2, int4), OPERATOR 3 = (int2, int4),
	OPERATOR 4 >= (int2, int4), OPERATOR 5 > (int2, int4), FUNCTION 1 (int2, int4) btint24cmp(int2, int4),
	OPERATOR 1 < (int2, int8), OPERATOR 2 <= (int2, int8), OPERATOR 3 = (int2, int8),
	OPERATOR 4 >= (int2, int8), OPERATOR 5 > (int2, int8), FUNCTION 1 (int2, int8) btint28cmp(int2, int8),
	OPERATOR 1 < (int4, int2), OPERATOR 2 <= (int4, int2), OPERATOR 3 = (int4, int2),
	OPERATOR 4 >= (int4, int2), OPERATOR 5 > (int4, int2), FUNCTION 1 (int4, int2) btint42cmp(int4, int2),
	OPERATOR 1 < (int4, int8), OPERATOR 2 <= (int4, int8), OPERATOR 3 = (int4, int8),
	OPERATOR 4 >= (int4, int8), OPERATOR 5 > (int4, int8), FUNCTION 1 (int4, int8) btint48cmp(int4, int8),
	OPERATOR 1 < (int8, int2), OPERATOR 2 <= (int8, int2), OPERATOR 3 = (int8, int2),
	OPERATOR 4 >= (int8, int2), OPERATOR 5 > (int8, int2), FUNCTION 1 (int8, int2) btint82cmp(int8, int2),
	OPERATOR 1 < (int8, int4), OPERATOR 2 <= (int8, int4), OPERATOR 3 = (int8, int4),
	OPERATOR 4 >= (int8, int4), OPERATOR 5 > (int8, int4), FUNCTION 1 (int8, int4) btint84cmp(int8, int4);

CREATE OPERATOR FAMILY float_ops USING learned;

CREATE OPERATOR CLASS float4_ops DEFAULT FOR TYPE float4 USING learned FAMILY float_ops AS
	OPERATOR 1 <, OPERATOR 2 <=, OPERATOR 3 =, OPERATOR 4 >=, OPERATOR 5 >,
	FUNCTION 1 btfloat4cmp(float4, float4);
CREATE OPERATOR CLASS float8_ops DEFAULT FOR TYPE float8 USING learned FAMILY float_ops AS
	OPERATOR 1 <, OPERATOR 2 <=, OPERATOR 3 =, OPERATOR 4 >=, OPERATOR 5 >,
	FUNCTION 1 btfloat8cmp(float8, float8);

-- float4 widens exactly to float8, so both share one key space too.
ALTER OPERATOR FAMILY float_ops USING learned ADD
	OPERATOR 1 < (float4, float8), OPERATOR 2 <= (float4, float8), OPERATOR 3 = (float4, float8),
	OPERATOR 4 >= (float4, float8), OPERATOR 5 > (float4, float8), FUNCTION 1 (float4, float8) btfloat48cmp(float4, float8),
	OPERATOR 1 < (float8, float4), OPERATOR 2 <= (float8, float4), OPERATOR 3 = (float8, float4),
	OPERATOR 4 >= (float8, float4), OPERATOR 5 > (float8, float4), FUNCTION 1 (float8, float4) btfloat84cmp(float8, float4);

CREATE OPERATOR CLASS date_ops DEFAULT FOR TYPE date USING learned AS
	OPERATOR 1 <, OPERATOR 2 <=, OPERATOR 3 =, OPERATOR 4 >=, OPERATOR 5 >,
	FUNCTION 1 date_cmp(date, date);
CREATE OPERATOR CLASS timestamp_ops DEFAULT FOR TYPE timestamp USING learned AS
	OPERATOR 1 <, OPERATOR 2 <=, OPERATOR 3 =, OPERATOR 4 >=, OPERATOR 5 >,
	FUNCTION 1 timestamp_cmp(timestamp, timestamp);
CREATE OPERATOR CLASS timestamptz_ops DEFAULT FOR TYPE timestamptz USING learned AS
	OPERATOR 1 <, OPERATOR 2 <=, OPERATOR 3 =, OPERATOR 4 >=, OPERATOR 5 >,
	FUNCTION 1 timestamptz_cmp(timestamptz, timestamptz);

CREATE FUNCTION learned_version() RETURNS text
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION learned_index_info(index regclass,
	OUT model text, OUT epsilon int, OUT segments bigint, OUT cold_entries bigint, OUT null_entries bigint,
	OUT hot_entries bigint, OUT pages bigint, OUT model_bytes bigint, OUT mean_window float8,
	OUT max_window bigint, OUT generation bigint, OUT dead_entries bigint, OUT free_pages bigint,
	OUT last_merge timestamptz, OUT last_merge_duration interval)
	AS 'MODULE_PATHNAME' LANGUAGE C STRICT;

CREATE FUNCTION learned_merge(index regclass, rebuild boolean DEFAULT false) RETURNS bigint
	AS 'MODULE_PATHNAME' LANGUAGE C STRICT;

CREATE FUNCTION learned_index_check(index regclass, heapallindexed boolean DEFAULT false) RETURNS void
	AS 'MODULE_PATHNAME' LANGUAGE C STRICT;
-- As amcheck's functions: superusers only, until granted (the check may hold a ShareLock on the table).
REVOKE ALL ON FUNCTION learned_index_check(regclass, boolean) FROM PUBLIC;

CREATE FUNCTION learned_explain_lookup(index regclass, key anyelement,
	OUT window_lo bigint, OUT window_hi bigint, OUT lower_bound bigint, OUT found boolean,
	OUT pages_read int, OUT hot_pages bigint)
	AS 'MODULE_PATHNAME' LANGUAGE C;

CREATE FUNCTION learned_segments(index regclass,
	OUT segment bigint, OUT first_key numeric, OUT slope float8, OUT intercept float8)
	RETURNS SETOF record
	AS 'MODULE_PATHNAME' LANGUAGE C STRICT;

CREATE FUNCTION learned_page_usage(index regclass, OUT kind text, OUT pages bigint) RETURNS SETOF record
	AS 'MODULE_PATHNAME' LANGUAGE C STRICT;
