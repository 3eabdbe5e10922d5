--
-- uuid: keys are the leading 64 bits, so the index serves = alone and every match is rechecked on the
-- heap. Time-ordered (version 7) and random (version 4) uuids, uuids that share their leading 64 bits,
-- repeated values and NULLs, in the cold run and the hot area, against the sequential scan; a unique
-- index against btree's on the same statements.
--
-- A version 7 uuid: millisecond ms and 12 bits of r lead (the key), then 62 bits from s.
CREATE FUNCTION uu_v7(ms bigint, r int, s int) RETURNS uuid LANGUAGE sql IMMUTABLE AS $$
	SELECT (lpad(to_hex(ms), 12, '0') || '7' || lpad(to_hex(r & 4095), 3, '0') || '8' ||
			substr(md5(s::text), 1, 15))::uuid
$$;
-- A version 4 uuid from md5 (so the output repeats).
CREATE FUNCTION uu_v4(s int) RETURNS uuid LANGUAGE sql IMMUTABLE AS $$
	SELECT overlay(overlay(md5('v4' || s) PLACING '4' FROM 13) PLACING '8' FROM 17)::uuid
$$;
CREATE TABLE uu (id int, v uuid) WITH (autovacuum_enabled = false);
INSERT INTO uu SELECT g, uu_v7(1700000000000 + g, g, g) FROM generate_series(1, 3000) g;
-- Every 10th: one more uuid with the same leading 64 bits.
INSERT INTO uu SELECT 10000 + g, uu_v7(1700000000000 + g, g, 10000 + g) FROM generate_series(10, 3000, 10) g;
INSERT INTO uu SELECT 20000 + g, uu_v4(g) FROM generate_series(1, 2000) g;
INSERT INTO uu SELECT 30000 + g, NULL FROM generate_series(1, 20) g;
CREATE INDEX uu_v ON uu USING learned (v);
-- The hot area: newer v7 uuids, more sharing leading bits with cold ones, repeats of v4 values.
INSERT INTO uu SELECT 40000 + g, uu_v7(1700000004000 + g, g, 40000 + g) FROM generate_series(1, 500) g;
INSERT INTO uu SELECT 50000 + g, uu_v7(1700000000000 + g, g, 50000 + g) FROM generate_series(20, 3000, 20) g;
INSERT INTO uu SELECT 60000 + g, uu_v4(g) FROM generate_series(1, 50) g;
VACUUM ANALYZE uu;

CREATE TABLE uu_conds (ord int, cond text);
INSERT INTO uu_conds VALUES
	(1, format('v = %L', uu_v7(1700000000010, 10, 10))),
	(2, format('v = %L', uu_v7(1700000000020, 20, 50020))),
	(3, format('v = %L', uu_v7(1700000000020, 20, 99999))),
	(4, format('v = %L', uu_v7(1700000004100, 100, 40100))),
	(5, format('v = %L', uu_v4(7))),
	(6, format('v = %L', uu_v4(1999))),
	(7, 'v = ''00000000-0000-0000-0000-000000000000'''),
	(8, format('v = ANY (ARRAY[%L, %L, %L, NULL]::uuid[])', uu_v7(1700000000030, 30, 10030), uu_v4(3), uu_v4(3))),
	(9, 'v IS NULL'), (10, 'v IS NOT NULL'),
	(11, format('v = %L OR v IS NULL', uu_v4(8)));
SELECT cond, lt_where('uu', cond) FROM uu_conds ORDER BY ord;

-- Only equality: a range or an ORDER BY is not the index's (it would order by the leading bits alone),
-- even when nothing else is allowed.
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SET enable_sort = off;
SELECT lt_uses(format('SELECT id FROM uu WHERE v < %L', uu_v4(5)), 'Index Scan') AS range_uses_index;
SELECT lt_uses('SELECT v FROM uu ORDER BY v LIMIT 5', 'Index Scan') AS order_uses_index;
RESET enable_seqscan;
RESET enable_bitmapscan;
RESET enable_sort;
SELECT amvalidate(c.oid) FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
WHERE a.amname = 'learned' AND c.opcname = 'uuid_ops';
SELECT lt_index_ok('uu_v');

-- After a merge, the same answers.
SELECT learned_merge('uu_v') > 0 AS merged;
SELECT cond, lt_where('uu', cond) FROM uu_conds ORDER BY ord;
SELECT lt_index_ok('uu_v');

-- A unique index compares whole values where keys are shared. The repeated v4 values fail the build,
-- with the value named; uuids sharing leading bits do not, nor do dead repeats.
CREATE UNIQUE INDEX uu_u ON uu USING learned (v);
DELETE FROM uu WHERE id > 60000;
CREATE UNIQUE INDEX uu_u ON uu USING learned (v) WITH (hot_limit = 300);
-- The same statements on a copy with a btree unique index: the same outcome and rows.
CREATE TABLE uu_b AS SELECT * FROM uu WHERE id <= 60000;
CREATE UNIQUE INDEX uu_b_v ON uu_b USING btree (v);
CREATE TABLE uu_stmts (ord int, stmt text);
INSERT INTO uu_stmts VALUES
	(1, format('INSERT INTO %%I VALUES (70001, %L)', uu_v7(1700000000010, 10, 77))),
	(2, format('INSERT INTO %%I VALUES (70002, %L)', uu_v7(1700000000010, 10, 10))),
	(3, format('INSERT INTO %%I VALUES (70003, %L)', uu_v7(1700000000010, 10, 77))),
	(4, format('INSERT INTO %%I VALUES (70004, %L)', uu_v4(7))),
	(5, format('INSERT INTO %%I VALUES (70005, %L), (70006, %L)', uu_v4(90001), uu_v4(90001))),
	(6, 'INSERT INTO %I VALUES (70007, NULL), (70008, NULL)'),
	(7, format('DELETE FROM %%I WHERE v = %L', uu_v7(1700000000020, 20, 20))),
	(8, format('INSERT INTO %%I VALUES (70009, %L)', uu_v7(1700000000020, 20, 20))),
	(9, format('INSERT INTO %%I VALUES (70010, %L)', uu_v7(1700000000020, 20, 50020))),
	(10, format('UPDATE %%I SET v = %L WHERE id = 1', uu_v7(1700000000002, 2, 2))),
	(11, format('UPDATE %%I SET v = %L WHERE id = 1', uu_v7(1700000000001, 1, 5))),
	(12, 'INSERT INTO %I SELECT 80000 + g, uu_v7(1700000008000 + g / 2, g / 2, g) FROM generate_series(1, 2000) g'),
	(13, 'INSERT INTO %I SELECT 90000 + g, uu_v7(1700000008000 + g / 2, g / 2, g) FROM generate_series(1990, 2010) g');
SELECT ord, lt_both(stmt, 'uu', 'uu_b') FROM uu_stmts ORDER BY ord;
SELECT learned_merge('uu_u') > 0 AS merged;
SELECT lt_both(format('INSERT INTO %%I VALUES (70011, %L)', uu_v7(1700000008001, 1, 3)), 'uu', 'uu_b');
SELECT lt_both(format('INSERT INTO %%I VALUES (70012, %L)', uu_v7(1700000008001, 1, 99999)), 'uu', 'uu_b');
SELECT (SELECT array_agg(id ORDER BY id) FROM uu) = (SELECT array_agg(id ORDER BY id) FROM uu_b) AS same_rows;
SELECT cond, lt_where('uu', cond) FROM uu_conds ORDER BY ord;
SELECT lt_index_ok('uu_u');
-- Built concurrently, and rebuilt by REINDEX: each build compares values where keys are shared.
CREATE UNIQUE INDEX CONCURRENTLY uu_uc ON uu USING learned (v);
REINDEX INDEX uu_u;
SELECT lt_both(format('INSERT INTO %%I VALUES (70013, %L)', uu_v7(1700000008001, 1, 3)), 'uu', 'uu_b');
SELECT lt_both(format('INSERT INTO %%I VALUES (70014, %L)', uu_v7(1700000008001, 1, 99998)), 'uu', 'uu_b');
DROP INDEX uu_uc;
-- An index on an expression compares the expression's values.
CREATE TABLE uu_x (doc text);
CREATE UNIQUE INDEX uu_x_id ON uu_x USING learned ((doc::uuid));
INSERT INTO uu_x VALUES (uu_v7(1700000000010, 10, 10)::text), (uu_v7(1700000000010, 10, 11)::text);
INSERT INTO uu_x VALUES (upper(uu_v7(1700000000010, 10, 10)::text));
SELECT count(*) FROM uu_x;
-- The exclusion constraint: uuids sharing leading bits coexist and a repeat conflicts.
CREATE TABLE uu_ex (v uuid, EXCLUDE USING learned (v WITH =));
INSERT INTO uu_ex VALUES (uu_v7(1700000000010, 10, 10)), (uu_v7(1700000000010, 10, 10010));
INSERT INTO uu_ex VALUES (uu_v7(1700000000010, 10, 10));
SELECT count(*) FROM uu_ex;
DROP TABLE uu, uu_b, uu_stmts, uu_conds, uu_x, uu_ex;
DROP FUNCTION uu_v7(bigint, int, int), uu_v4(int);
