--
-- setup: helpers shared by the whole suite (pg_regress runs every file in one database, and
-- --load-extension has already created the extension).
--
-- Every helper compares what a learned index returns with what a sequential scan returns, and checks
-- from the plan that the learned index really produced the answer, so nothing can pass by silently
-- falling back to a sequential scan.
--

-- Plans with a disabled node cost over 1e10, which would make every query of the suite JIT-compile:
-- slow, and nothing to do with the index. Later files are new sessions of this database.
DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET jit = off', current_database()); END $$;
SET jit = off;

-- The scan settings of one mode; local to the calling function's transaction, and undone when a
-- helper declared with SET clauses for the same settings returns.
CREATE FUNCTION lt_force(mode text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	IF mode NOT IN ('seq', 'index', 'bitmap', 'indexonly') THEN
		RAISE EXCEPTION 'unknown mode %', mode;
	END IF;
	PERFORM set_config('enable_seqscan', CASE WHEN mode = 'seq' THEN 'on' ELSE 'off' END, true);
	PERFORM set_config('enable_indexscan', CASE WHEN mode IN ('index', 'indexonly') THEN 'on' ELSE 'off' END, true);
	PERFORM set_config('enable_indexonlyscan', CASE WHEN mode = 'indexonly' THEN 'on' ELSE 'off' END, true);
	PERFORM set_config('enable_bitmapscan', CASE WHEN mode = 'bitmap' THEN 'on' ELSE 'off' END, true);
END $$;

-- The plan's nodes, one label each: the node type, plus "(learned)" or "(other)" for index nodes
-- and "Backward" for backward scans. Works for EXPLAIN-able statements, DECLARE CURSOR included.
CREATE FUNCTION lt_nodes(q text) RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
	plan json;
BEGIN
	EXECUTE 'EXPLAIN (COSTS OFF, FORMAT JSON) ' || q INTO plan;
	RETURN ARRAY(
		WITH RECURSIVE n(node) AS (
			SELECT plan -> 0 -> 'Plan'
			UNION ALL
			SELECT c FROM n, json_array_elements(n.node -> 'Plans') c
		)
		SELECT (node ->> 'Node Type') ||
			CASE WHEN node ->> 'Scan Direction' = 'Backward' THEN ' Backward' ELSE '' END ||
			CASE WHEN node ->> 'Index Name' IS NULL THEN ''
				WHEN EXISTS (SELECT 1 FROM pg_class c JOIN pg_am a ON a.oid = c.relam
							 WHERE c.relname = node ->> 'Index Name' AND a.amname = 'learned')
				THEN ' (learned)' ELSE ' (other)' END
		FROM n);
END $$;

-- Whether the plan of q contains a node of the given kind using a learned index.
CREATE FUNCTION lt_uses(q text, kind text) RETURNS boolean LANGUAGE sql AS $$
	SELECT EXISTS (SELECT 1 FROM unnest(lt_nodes(q)) l
				   WHERE l IN (kind || ' (learned)', kind || ' Backward (learned)'))
$$;

-- The result of q under one mode, as an array of row texts: in the query's order when ordered, else
-- sorted (a multiset comparison: equal arrays mean EXCEPT ALL is empty both ways).
CREATE FUNCTION lt_result(q text, ordered boolean) RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
	r text[];
BEGIN
	EXECUTE CASE WHEN ordered THEN format('SELECT coalesce(array_agg(q::text), ''{}'') FROM (%s) q', q)
		ELSE format('SELECT coalesce(array_agg(q::text ORDER BY q::text), ''{}'') FROM (%s) q', q) END
		INTO r;
	RETURN r;
END $$;

-- One mode against the sequential scan: 'ok', 'WRONG', 'none' (the planner would not use a learned
-- index in this mode) or, for ordered queries, 'sorted' (the order came from a Sort, not the index).
CREATE FUNCTION lt_compare(q text, mode text, ordered boolean, expected text[]) RETURNS text LANGUAGE plpgsql
SET enable_seqscan = on SET enable_indexscan = on SET enable_indexonlyscan = on SET enable_bitmapscan = on
AS $$
DECLARE
	kind text := CASE mode WHEN 'index' THEN 'Index Scan' WHEN 'bitmap' THEN 'Bitmap Index Scan'
		ELSE 'Index Only Scan' END;
	wrapped text := format('SELECT q::text FROM (%s) q', q);
BEGIN
	PERFORM lt_force(mode);
	IF NOT lt_uses(wrapped, kind) THEN
		RETURN 'none';
	END IF;
	IF ordered AND mode <> 'bitmap' AND 'Sort' = ANY (lt_nodes(wrapped)) THEN
		RETURN 'sorted';
	END IF;
	RETURN CASE WHEN lt_result(q, ordered) = expected THEN 'ok' ELSE 'WRONG' END;
END $$;

-- The sequential scan's answer (it must not touch a learned index).
CREATE FUNCTION lt_seq(q text, ordered boolean) RETURNS text[] LANGUAGE plpgsql
SET enable_seqscan = on SET enable_indexscan = on SET enable_indexonlyscan = on SET enable_bitmapscan = on
AS $$
BEGIN
	PERFORM lt_force('seq');
	IF EXISTS (SELECT 1 FROM unnest(lt_nodes(format('SELECT q::text FROM (%s) q', q))) l WHERE l LIKE '%(learned)') THEN
		RAISE EXCEPTION 'the sequential plan of % uses a learned index', q;
	END IF;
	RETURN lt_result(q, ordered);
END $$;

-- q under forced index, bitmap and index-only scans against the sequential scan, with the row count.
CREATE FUNCTION lt_check(q text, ordered boolean DEFAULT false) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	expected text[] := lt_seq(q, ordered);
BEGIN
	RETURN format('rows=%s index=%s bitmap=%s indexonly=%s', cardinality(expected),
				  lt_compare(q, 'index', ordered, expected), lt_compare(q, 'bitmap', ordered, expected),
				  lt_compare(q, 'indexonly', ordered, expected));
END $$;

-- The rows of tbl (columns id and v) matching cond: index and bitmap scans return id and v (so a wrong
-- heap TID shows), index-only scans return v alone.
CREATE FUNCTION lt_where(tbl text, cond text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	q text := format('SELECT id, v FROM %I WHERE %s', tbl, cond);
	qv text := format('SELECT v FROM %I WHERE %s', tbl, cond);
	expected text[] := lt_seq(q, false);
	expected_v text[] := lt_seq(qv, false);
BEGIN
	RETURN format('rows=%s index=%s bitmap=%s indexonly=%s', cardinality(expected),
				  lt_compare(q, 'index', false, expected), lt_compare(q, 'bitmap', false, expected),
				  lt_compare(qv, 'indexonly', false, expected_v));
END $$;

-- A literal of type typ for the base integer n: the same n gives the same place in every type's order.
CREATE FUNCTION lt_val(typ text, n int) RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE typ
		WHEN 'float4' THEN format('(%s)::float4', n / 4.0)
		WHEN 'float8' THEN format('(%s)::float8', n / 4.0)
		WHEN 'date' THEN format('(date ''2000-01-01'' + %s)', n)
		WHEN 'timestamp' THEN format('(timestamp ''2000-01-01 00:00'' + interval ''1 hour'' * %s)', n)
		WHEN 'timestamptz' THEN format('(timestamptz ''2000-01-01 00:00+00'' + interval ''1 hour'' * %s)', n)
		ELSE format('(%s)::%s', n, typ)
	END
$$;

-- A condition template with {n} standing for lt_val(typ, n) and {t} for the type.
CREATE FUNCTION lt_sub(template text, typ text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
	m text[];
	result text := replace(template, '{t}', typ);
BEGIN
	FOR m IN SELECT regexp_matches(template, '\{(-?[0-9]+)\}', 'g') LOOP
		result := replace(result, '{' || m[1] || '}', lt_val(typ, m[1]::int));
	END LOOP;
	RETURN result;
END $$;

-- Runs FETCH commands (the part after FETCH, e.g. 'PRIOR', 'BACKWARD 3') on scroll cursors over q
-- planned with a forced index scan and, when indexonly, a forced index-only scan, and on one over a
-- sequential scan; each row: the command, the rows the sequential cursor returned, and per index
-- cursor whether it returned the same rows. The index cursors' plans must read the learned index
-- directly, with no Sort or Materialize to supply the backward moves.
CREATE FUNCTION lt_cursor(q text, fetches text[], indexonly boolean DEFAULT false)
RETURNS TABLE (command text, seq_rows int, index text, index_only text) LANGUAGE plpgsql
SET enable_seqscan = on SET enable_indexscan = on SET enable_indexonlyscan = on SET enable_bitmapscan = on
AS $$
DECLARE
	modes text[] := CASE WHEN indexonly THEN ARRAY['index', 'indexonly'] ELSE ARRAY['index'] END;
	mode text;
	nodes text[];
	expected text[];
	got text[];
	r record;
	i int;
BEGIN
	PERFORM lt_force('seq');
	EXECUTE format('DECLARE lt_c_seq SCROLL CURSOR FOR %s', q);
	FOREACH mode IN ARRAY modes LOOP
		PERFORM lt_force(mode);
		nodes := lt_nodes(format('DECLARE lt_c_%s SCROLL CURSOR FOR %s', mode, q));
		IF NOT EXISTS (SELECT 1 FROM unnest(nodes) l WHERE l IN (
						  CASE mode WHEN 'index' THEN 'Index Scan' ELSE 'Index Only Scan' END || ' (learned)',
						  CASE mode WHEN 'index' THEN 'Index Scan' ELSE 'Index Only Scan' END || ' Backward (learned)'))
			OR 'Sort' = ANY (nodes) OR 'Materialize' = ANY (nodes) THEN
			RAISE EXCEPTION 'cursor plan in mode % is %', mode, nodes;
		END IF;
		EXECUTE format('DECLARE lt_c_%s SCROLL CURSOR FOR %s', mode, q);
	END LOOP;
	FOR i IN 1 .. cardinality(fetches) LOOP
		command := fetches[i];
		expected := '{}';
		FOR r IN EXECUTE format('FETCH %s FROM lt_c_seq', fetches[i]) LOOP
			expected := expected || r::text;
		END LOOP;
		seq_rows := cardinality(expected);
		index := NULL;
		index_only := NULL;
		FOREACH mode IN ARRAY modes LOOP
			got := '{}';
			FOR r IN EXECUTE format('FETCH %s FROM lt_c_%s', fetches[i], mode) LOOP
				got := got || r::text;
			END LOOP;
			IF mode = 'index' THEN
				index := CASE WHEN got = expected THEN 'ok' ELSE 'WRONG' END;
			ELSE
				index_only := CASE WHEN got = expected THEN 'ok' ELSE 'WRONG' END;
			END IF;
		END LOOP;
		RETURN NEXT;
	END LOOP;
	EXECUTE 'CLOSE lt_c_seq';
	FOREACH mode IN ARRAY modes LOOP
		EXECUTE format('CLOSE lt_c_%s', mode);
	END LOOP;
END $$;

-- Runs a statement (for building statements in queries).
CREATE FUNCTION lt_exec(stmt text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE stmt;
END $$;

-- learned_index_check(idx, true) as a boolean: true, or the ERROR naming the first problem.
CREATE FUNCTION lt_index_ok(idx regclass) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	PERFORM learned_index_check(idx, true);
	RETURN true;
END $$;

-- The base data every type table is loaded with, as integers n (NULL for NULL rows):
--   cold (before CREATE INDEX): -100 .. 99 ten times each, 600 more 7s, 20 NULLs;
--   hot (inserted after):       -100 .. 99 five times each, 100 more 7s, 10 NULLs.
-- So each of -100 .. 99 except 7 has 15 rows, 7 has 715, and there are 30 NULLs.
CREATE FUNCTION lt_base_cold() RETURNS TABLE (id int, n int) LANGUAGE sql AS $$
	SELECT g, g % 200 - 100 FROM generate_series(1, 2000) g
	UNION ALL SELECT g, 7 FROM generate_series(2001, 2600) g
	UNION ALL SELECT g, NULL FROM generate_series(2601, 2620) g
$$;
CREATE FUNCTION lt_base_hot() RETURNS TABLE (id int, n int) LANGUAGE sql AS $$
	SELECT g, g % 200 - 100 FROM generate_series(10001, 11000) g
	UNION ALL SELECT g, 7 FROM generate_series(11001, 11100) g
	UNION ALL SELECT g, NULL FROM generate_series(11101, 11110) g
$$;

-- Self-test: the helpers must be able to fail. lt_lie() claims to be immutable but is not, so an index
-- on it goes stale once lt_knob changes, and the index answer differs from the sequential scan's.
CREATE TABLE lt_knob (k int);
INSERT INTO lt_knob VALUES (0);
CREATE FUNCTION lt_lie(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1 + (SELECT k FROM lt_knob)';
CREATE TABLE lt_selftest (id int, v int) WITH (autovacuum_enabled = false);
INSERT INTO lt_selftest SELECT g, g FROM generate_series(1, 100) g;
CREATE INDEX lt_selftest_lie ON lt_selftest USING learned (lt_lie(v));
VACUUM ANALYZE lt_selftest;
SELECT lt_check('SELECT id FROM lt_selftest WHERE lt_lie(v) BETWEEN 10 AND 19');
UPDATE lt_knob SET k = 5;
-- The sequential scan now finds ids 5 .. 14, the stale index still ids 10 .. 19: WRONG is expected.
SELECT lt_check('SELECT id FROM lt_selftest WHERE lt_lie(v) BETWEEN 10 AND 19');
SELECT lt_check('SELECT lt_lie(v) FROM lt_selftest WHERE lt_lie(v) > 90 ORDER BY lt_lie(v)', true);
SELECT * FROM lt_cursor('SELECT id FROM lt_selftest WHERE lt_lie(v) BETWEEN 10 AND 19 ORDER BY lt_lie(v)',
						ARRAY['NEXT', 'LAST', 'ABSOLUTE 3']);
-- Without a learned index every mode reports none.
DROP INDEX lt_selftest_lie;
SELECT lt_check('SELECT id FROM lt_selftest WHERE v = 5');
SELECT lt_where('lt_selftest', 'v = 5');
DROP TABLE lt_selftest;
DROP FUNCTION lt_lie(int);
DROP TABLE lt_knob;

-- Runs one statement (%I for the table) on a table with a learned unique index and on a copy with a
-- btree one: what both did ('ok' or 'unique_violation'), or how they differ.
CREATE FUNCTION lt_both(sql text, learned text, btree text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	outcome text[] := '{}';
	target text;
BEGIN
	FOREACH target IN ARRAY ARRAY[learned, btree] LOOP
		BEGIN
			EXECUTE format(sql, target);
			outcome := outcome || 'ok'::text;
		EXCEPTION WHEN unique_violation THEN
			outcome := outcome || 'unique_violation'::text;
		END;
	END LOOP;
	RETURN CASE WHEN outcome[1] = outcome[2] THEN outcome[1] ELSE 'learned ' || outcome[1] || ', btree ' || outcome[2] END;
END $$;
