--
-- cursors: scroll cursors over learned index scans (and index-only scans) moving both ways, turning
-- round, running off either end and coming back, and rewinding (FETCH FIRST / ABSOLUTE rescan the
-- index), each fetch compared with the same fetch on a cursor over a sequential scan and a sort.
--
-- cu_t: v = 1 .. 20 twice each and two NULLs in the cold run; 5, 15, 25 and a NULL in the hot area.
CREATE TABLE cu_t (id int, v int4) WITH (autovacuum_enabled = false);
INSERT INTO cu_t SELECT g, (g - 1) % 20 + 1 FROM generate_series(1, 40) g;
INSERT INTO cu_t VALUES (41, NULL), (42, NULL);
CREATE INDEX cu_t_v ON cu_t USING learned (v);
INSERT INTO cu_t VALUES (43, 5), (44, 15), (45, 25), (46, NULL);
VACUUM ANALYZE cu_t;

CREATE TABLE cu_moves (moves text[]);
INSERT INTO cu_moves VALUES (ARRAY['NEXT', 'NEXT', 'PRIOR', 'PRIOR', 'PRIOR', 'FORWARD 5', 'BACKWARD 2', 'LAST',
	'PRIOR', 'NEXT', 'NEXT', 'FIRST', 'PRIOR', 'ABSOLUTE 10', 'RELATIVE -3', 'BACKWARD 4', 'ABSOLUTE -1',
	'FORWARD ALL', 'BACKWARD ALL', 'FORWARD 3', 'BACKWARD 1', 'FORWARD 1', 'ABSOLUTE 44', 'NEXT', 'NEXT',
	'NEXT', 'PRIOR', 'BACKWARD 10', 'FORWARD 2', 'ABSOLUTE 0', 'NEXT']);

-- All 46 rows: 40 values and the 5, 15, 25 of the hot area, then 3 NULLs.
SELECT c.* FROM cu_moves, lt_cursor('SELECT v FROM cu_t ORDER BY v', moves, true) c;
-- Backward order: NULLs first.
SELECT c.* FROM cu_moves, lt_cursor('SELECT v FROM cu_t ORDER BY v DESC', moves, true) c;
-- Several key intervals (= ANY): 1, 5, 15 and 25 have 2 + 3 + 3 + 1 = 9 rows, 5 and 15 cold and hot.
SELECT c.* FROM cu_moves,
	lt_cursor('SELECT v FROM cu_t WHERE v = ANY (ARRAY[5, 25, 15, 1, 99]) ORDER BY v', moves, true) c;
-- A range in the middle, backward: v BETWEEN 4 AND 16 has 13 * 2 + 2 = 28 rows.
SELECT c.* FROM cu_moves,
	lt_cursor('SELECT v FROM cu_t WHERE v BETWEEN 4 AND 16 ORDER BY v DESC', moves, true) c;
-- The NULL section alone.
SELECT c.* FROM cu_moves, lt_cursor('SELECT v FROM cu_t WHERE v IS NULL ORDER BY v', moves, true) c;

-- Floats (no index-only scans) and timestamps, over t_float8 and t_timestamp from types.
SELECT c.* FROM cu_moves,
	lt_cursor('SELECT v + 0 AS w FROM t_float8 WHERE v > 24 ORDER BY v', moves) c;
SELECT c.* FROM cu_moves,
	lt_cursor('SELECT v FROM t_timestamp WHERE v < ''2000-01-01'' ORDER BY v DESC', moves, true) c;
SELECT lt_index_ok('cu_t_v');
