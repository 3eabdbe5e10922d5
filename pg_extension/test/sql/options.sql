--
-- options: WITH (model = 'pgm' | 'rmi' | 'linear', epsilon = N, hot_limit = N) all give correct
-- answers, before and after a merge; ALTER INDEX SET changes what REINDEX and the next merge build.
--
-- op_base: a skewed key distribution (squares, then a dense cluster, duplicates and NULLs), hard for a
-- single line: v = g * g for g = 1 .. 2000, v = 5000000 .. 5000999, 300 rows of 7, 20 NULLs.
CREATE TABLE op_base (id int, v int8);
INSERT INTO op_base SELECT g, g::int8 * g FROM generate_series(1, 2000) g;
INSERT INTO op_base SELECT g, 5000000 + g - 3000 FROM generate_series(3000, 3999) g;
INSERT INTO op_base SELECT g, 7 FROM generate_series(4000, 4299) g;
INSERT INTO op_base SELECT g, NULL FROM generate_series(4300, 4319) g;

CREATE TABLE op_conds (ord int, cond text);
-- Counts: 302 (the squares 4 and 9, and the 300 sevens); 1 (1000 * 1000); 0; 1501 (the squares of
-- 1000 .. 2000, and 5000000 .. 5000499); 1000 (the cluster: 2000 * 2000 = 4000000 is not above);
-- 20; 303 (300 sevens, 4, 5000999, 4000000; 3 is absent).
INSERT INTO op_conds VALUES (1, 'v BETWEEN 2 AND 9'), (2, 'v = 1000000'), (3, 'v = 1000001'),
	(4, 'v >= 1000000 AND v < 5000500'), (5, 'v > 4000000'), (6, 'v IS NULL'),
	(7, 'v = ANY (ARRAY[7, 4, 5000999, 4000000, 3])');

CREATE FUNCTION op_run(opts text) RETURNS TABLE (options text, model text, epsilon int, phase text, results text)
LANGUAGE plpgsql AS $$
BEGIN
	DROP TABLE IF EXISTS op_t;
	CREATE TABLE op_t (id int, v int8) WITH (autovacuum_enabled = false);
	INSERT INTO op_t SELECT * FROM op_base WHERE id % 3 <> 0;
	EXECUTE format('CREATE INDEX op_t_v ON op_t USING learned (v) WITH (%s)', opts);
	-- A third of the rows arrive in the hot area.
	INSERT INTO op_t SELECT * FROM op_base WHERE id % 3 = 0;
	ANALYZE op_t;
	options := opts;
	SELECT i.model, i.epsilon INTO model, epsilon FROM learned_index_info('op_t_v') i;
	phase := 'hot';
	results := (SELECT string_agg(lt_where('op_t', cond), ' | ' ORDER BY ord) FROM op_conds);
	RETURN NEXT;
	PERFORM learned_merge('op_t_v');
	PERFORM lt_index_ok('op_t_v');
	SELECT i.model, i.epsilon INTO model, epsilon FROM learned_index_info('op_t_v') i;
	phase := 'merged';
	results := (SELECT string_agg(lt_where('op_t', cond), ' | ' ORDER BY ord) FROM op_conds);
	RETURN NEXT;
END $$;

-- The sequential scan's row counts.
SELECT cond, cardinality(lt_seq(format('SELECT id, v FROM op_base WHERE %s', cond), false)) AS seq_rows
FROM op_conds ORDER BY ord;

-- Every option set must reproduce exactly those answers (without index-only scans here: op_t is not
-- vacuumed, so the planner may prefer plain index scans), before and after a merge.
CREATE TABLE op_results AS SELECT * FROM op_run('model = ''pgm''') WHERE false;
INSERT INTO op_results SELECT * FROM op_run('model = ''pgm''');
INSERT INTO op_results SELECT * FROM op_run('model = ''pgm'', epsilon = 1');
INSERT INTO op_results SELECT * FROM op_run('model = ''pgm'', epsilon = 8');
INSERT INTO op_results SELECT * FROM op_run('epsilon = 4096');
INSERT INTO op_results SELECT * FROM op_run('model = ''rmi''');
INSERT INTO op_results SELECT * FROM op_run('model = ''linear''');
INSERT INTO op_results SELECT * FROM op_run('model = ''linear'', hot_limit = 1');
INSERT INTO op_results SELECT * FROM op_run('model = ''rmi'', epsilon = 2, hot_limit = 1000000');
SELECT options, model, epsilon, phase FROM op_results;
SELECT DISTINCT regexp_replace(results, ' indexonly=\w+', '', 'g') AS results FROM op_results;

-- ALTER INDEX SET: REINDEX builds with the new model; a merge uses the new epsilon.
CREATE TABLE op_alter (id int, v int8) WITH (autovacuum_enabled = false);
INSERT INTO op_alter SELECT * FROM op_base;
CREATE INDEX op_alter_v ON op_alter USING learned (v) WITH (model = 'pgm', epsilon = 32);
SELECT model, epsilon FROM learned_index_info('op_alter_v');
ALTER INDEX op_alter_v SET (model = 'rmi');
REINDEX INDEX op_alter_v;
SELECT model, epsilon FROM learned_index_info('op_alter_v');
ALTER INDEX op_alter_v SET (model = 'pgm', epsilon = 16);
SELECT learned_merge('op_alter_v');
SELECT model, epsilon FROM learned_index_info('op_alter_v');
ALTER INDEX op_alter_v RESET (model, epsilon);
SELECT learned_merge('op_alter_v');
SELECT model, epsilon FROM learned_index_info('op_alter_v');
SELECT lt_index_ok('op_alter_v');
SELECT cond, lt_where('op_alter', cond) FROM op_conds ORDER BY ord;
