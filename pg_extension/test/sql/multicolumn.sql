--
-- multicolumn: indexes on up to four columns order entries by the whole key as btree does (each column
-- ascending, NULLs last). Equality on leading columns with a range on the next, = ANY, IS NULL on any
-- column, ORDER BY the columns either way, index-only scans and cursors, in the cold run and the hot
-- area, before and after merges and VACUUM, all against the sequential scan.
--
-- 50 devices interleaved in time, with NULL devices and NULL times, repeated readings, and a second
-- table of every other key type.
CREATE TABLE mc (id int, device int, ts timestamptz, v float8) WITH (autovacuum_enabled = false);
INSERT INTO mc SELECT g, g % 50, timestamptz '2026-01-01 00:00+00' + interval '1 second' * (g / 50), g % 7
FROM generate_series(1, 20000) g;
INSERT INTO mc SELECT 30000 + g, NULL, timestamptz '2026-01-01 00:00+00' + interval '1 second' * g, 0
FROM generate_series(1, 40) g;
INSERT INTO mc SELECT 40000 + g, g % 5, NULL, 0 FROM generate_series(1, 40) g;
INSERT INTO mc SELECT 50000 + g, 7, timestamptz '2026-01-01 00:01+00', 0 FROM generate_series(1, 30) g;
INSERT INTO mc VALUES (60000, NULL, NULL, 0), (60001, NULL, NULL, 0);
CREATE INDEX mc_dev_ts ON mc USING learned (device, ts);
-- The hot area: later readings of every device, earlier ones of a few, more NULLs and repeats.
INSERT INTO mc SELECT 100000 + g, g % 50, timestamptz '2026-01-01 00:00+00' + interval '1 second' * (400 + g / 50), 1
FROM generate_series(1, 3000) g;
INSERT INTO mc SELECT 110000 + g, 3, timestamptz '2025-12-31 00:00+00' + interval '1 minute' * g, 2
FROM generate_series(1, 100) g;
INSERT INTO mc SELECT 120000 + g, NULL, timestamptz '2026-01-01 00:00+00' + interval '1 second' * g, 3
FROM generate_series(1, 10) g;
INSERT INTO mc SELECT 130000 + g, 7, timestamptz '2026-01-01 00:01+00', 3 FROM generate_series(1, 10) g;
VACUUM ANALYZE mc;

CREATE TABLE mc_conds (ord int, cond text);
INSERT INTO mc_conds VALUES
	(1, 'device = 7'),
	(2, 'device = 7 AND ts >= ''2026-01-01 00:00:30+00'' AND ts < ''2026-01-01 00:02:00+00'''),
	(3, 'device = 7 AND ts = ''2026-01-01 00:01+00'''),
	(4, 'device = 3 AND ts < ''2026-01-01 00:00+00'''),
	(5, 'device IN (1, 3, 49, 77) AND ts > ''2026-01-01 00:06:00+00'''),
	(6, 'device = ANY (ARRAY[2, 2, NULL, 40]) AND ts BETWEEN ''2026-01-01 00:03+00'' AND ''2026-01-01 00:04+00'''),
	(7, 'device > 45'),
	(8, 'device >= 10 AND device < 12 AND ts > ''2026-01-01 00:06:30+00'''),
	(9, 'ts = ''2026-01-01 00:01+00'''),
	(10, 'ts > ''2026-01-01 00:07:00+00'''),
	(11, 'device IS NULL'),
	(12, 'device IS NULL AND ts < ''2026-01-01 00:00:05+00'''),
	(13, 'device = 4 AND ts IS NULL'),
	(14, 'device IS NOT NULL AND ts IS NULL'),
	(15, 'device IS NULL AND ts IS NULL'),
	(16, 'device = 7 AND ts IS NOT NULL AND ts <= ''2026-01-01 00:00:10+00'''),
	(17, 'device = 1000'),
	(18, 'device = 7 AND ts > ''2026-01-01 00:01+00'' AND ts < ''2026-01-01 00:01+00'''),
	(19, 'device = 7::int8 AND ts >= ''2025-12-31''::date'),
	(20, 'device < 3000000000::int8 AND device > -3000000000::int8 AND ts < ''2026-01-01 00:00:01+00'''),
	(21, 'device = 5 AND ts = ANY (ARRAY[''2026-01-01 00:00:00+00'', ''2026-01-01 00:00:01+00'', ''2026-01-01 00:02:00+00'']::timestamptz[])'),
	(22, 'device = NULL');
SELECT ord, lt_check(format('SELECT id FROM mc WHERE %s', cond)) AS by_row,
	   lt_check(format('SELECT device, ts FROM mc WHERE %s', cond)) AS by_key
FROM mc_conds ORDER BY ord;

-- Ordered: forward and backward, with and without quals, as the planner takes the index's order.
SELECT lt_check('SELECT device, ts FROM mc ORDER BY device, ts', true);
SELECT lt_check('SELECT device, ts FROM mc ORDER BY device DESC, ts DESC', true);
SELECT lt_check('SELECT device, ts FROM mc WHERE device = 7 ORDER BY ts', true);
SELECT lt_check('SELECT device, ts FROM mc WHERE device = 7 ORDER BY ts DESC LIMIT 5', true);
SELECT lt_check('SELECT device, ts FROM mc WHERE device BETWEEN 3 AND 5 ORDER BY device, ts LIMIT 300', true);
SELECT lt_check('SELECT device, ts FROM mc WHERE device IN (2, 9) ORDER BY device, ts', true);
SELECT * FROM lt_cursor('SELECT device, ts FROM mc WHERE device = 7 ORDER BY device, ts',
						ARRAY['NEXT', 'FORWARD 40', 'PRIOR', 'BACKWARD 5', 'LAST', 'ABSOLUTE 3', 'RELATIVE -1'], true);
SELECT lt_index_ok('mc_dev_ts');
-- A relcache flush of the index (ANALYZE rewrites its pg_class row) between two fetches of a scan.
BEGIN;
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;
DECLARE mc_c CURSOR FOR SELECT id FROM mc WHERE device = 7 AND ts >= '2026-01-01 00:01+00' ORDER BY device, ts, id;
FETCH 3 FROM mc_c;
ANALYZE mc;
FETCH 3 FROM mc_c;
COMMIT;

-- After deletes, VACUUM, updates that move rows, and merges (an ordinary one and a rebuild).
DELETE FROM mc WHERE id % 3 = 0;
UPDATE mc SET ts = ts + interval '1 hour' WHERE device = 7 AND id % 5 = 1;
VACUUM mc;
SELECT ord, lt_check(format('SELECT id FROM mc WHERE %s', cond)) AS by_row FROM mc_conds ORDER BY ord;
SELECT learned_merge('mc_dev_ts') > 0 AS merged;
INSERT INTO mc SELECT 200000 + g, g % 50, timestamptz '2026-01-01 00:00+00' + interval '1 second' * g, 4
FROM generate_series(1, 500) g;
SELECT ord, lt_check(format('SELECT id FROM mc WHERE %s', cond)) AS by_row,
	   lt_check(format('SELECT device, ts FROM mc WHERE %s', cond)) AS by_key
FROM mc_conds ORDER BY ord;
SELECT lt_check('SELECT device, ts FROM mc ORDER BY device DESC, ts DESC', true);
SELECT learned_merge('mc_dev_ts', true) > 0 AS rebuilt;
SELECT lt_check('SELECT device, ts FROM mc ORDER BY device, ts', true);
SELECT lt_index_ok('mc_dev_ts');
SELECT count(*) FROM learned_segments('mc_dev_ts') WHERE first_key IS NULL;
SELECT learned_explain_lookup('mc_dev_ts', 7);

-- Every other key type, three and four columns, floats whose -0.0 and NaN come back bit for bit, and
-- uuids (exact in a composite key, so with index-only scans) of versions 4 and 7.
CREATE TABLE mk (id int, s int2, b int8, f float8, r float4, d date, t timestamp, u uuid) WITH (autovacuum_enabled = false);
INSERT INTO mk SELECT g, (g % 7 - 3)::int2, (g % 13 - 6) * 1000000000000::int8,
	CASE g % 9 WHEN 0 THEN '-0'::float8 WHEN 1 THEN 'NaN' WHEN 2 THEN '-Infinity' WHEN 3 THEN NULL ELSE g % 4 - 1.5 END,
	CASE g % 5 WHEN 0 THEN '-0'::float4 WHEN 1 THEN 'Infinity' ELSE (g % 3)::float4 END,
	date '2000-01-01' + g % 11, timestamp '2000-01-01' + interval '1 hour' * (g % 17),
	CASE WHEN g % 2 = 0 THEN overlay(overlay(md5('v4' || g % 300) PLACING '4' FROM 13) PLACING '8' FROM 17)::uuid
		 ELSE (lpad(to_hex(1700000000000 + g % 200), 12, '0') || '7abc8' || substr(md5(g::text), 1, 15))::uuid END
FROM generate_series(1, 4000) g;
INSERT INTO mk SELECT 10000 + g, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM generate_series(1, 5) g;
CREATE INDEX mk_sbf ON mk USING learned (s, b, f);
CREATE INDEX mk_fr ON mk USING learned (f, r);
CREATE INDEX mk_udt ON mk USING learned (u, d, t);
CREATE INDEX mk_bdtu ON mk USING learned (b, d, t, u);
INSERT INTO mk SELECT 20000 + id, s, b, f, r, d, t, u FROM mk WHERE id % 4 = 0;
VACUUM ANALYZE mk;
SELECT lt_check('SELECT s, b, f FROM mk WHERE s = 2 AND b = 1000000000000 AND f > 0');
SELECT lt_check('SELECT s, b, f FROM mk WHERE s = -3 AND b < 0');
SELECT lt_check('SELECT s, b, f FROM mk WHERE s IN (0, 1) AND b = ANY (ARRAY[-6000000000000, 6000000000000])');
SELECT lt_check('SELECT id FROM mk WHERE s = 1 AND b = 0 AND f = 0');
SELECT lt_check('SELECT id FROM mk WHERE s = 1 AND b = 0 AND f = ''NaN''');
SELECT lt_check('SELECT id FROM mk WHERE s = 0 AND f IS NULL');
SELECT lt_check('SELECT s, b, f FROM mk ORDER BY s, b, f', true);
SELECT lt_check('SELECT s, b, f FROM mk ORDER BY s DESC, b DESC, f DESC', true);
SELECT lt_check('SELECT float8send(f) FROM mk WHERE s = 1 AND b = 0 AND f = 0');
SELECT lt_check('SELECT float8send(f) FROM mk WHERE s = 1 AND b = 0 AND f = ''NaN''');
-- f comes before r: its zeros (and its NaNs) are one key, so r is ordered across them; f is not
-- returned by index-only scans, r is, bit for bit.
SELECT lt_check('SELECT abs(r) FROM mk WHERE f = 0 ORDER BY f, r', true);
SELECT lt_check('SELECT r FROM mk WHERE f = ''NaN'' ORDER BY f, r DESC', true);
SELECT lt_check('SELECT float4send(r) FROM mk WHERE f = 0 AND r = 0');
SELECT lt_check('SELECT id FROM mk WHERE f > -1 AND f < 1 AND r = ''Infinity''');
SELECT lt_check('SELECT id, float8send(f), float4send(r) FROM mk WHERE f >= -0.0 AND f <= 0.0 AND r > 0.5::float8');
SELECT lt_check(format('SELECT u, d, t FROM mk WHERE u = %L',
	(SELECT u FROM mk WHERE id = 8)));
SELECT lt_check(format('SELECT id FROM mk WHERE u = %L AND d >= ''2000-01-05''',
	(SELECT u FROM mk WHERE id = 7)));
SELECT lt_check(format('SELECT id, u FROM mk WHERE u = ANY (ARRAY[%L, %L, NULL]::uuid[]) AND d = ''2000-01-04''',
	(SELECT u FROM mk WHERE id = 7), (SELECT u FROM mk WHERE id = 10)));
SELECT lt_check('SELECT u, d, t FROM mk WHERE u IS NULL');
-- uuid_ops has only =, so the planner takes an index with a uuid column as unordered (ORDER BY is
-- sorted, as the plan shows); equality and ranges on its other columns are the index's.
SELECT lt_check('SELECT b, d, t FROM mk WHERE b = 0 AND d = ''2000-01-03'' AND t > ''2000-01-01 05:00''');
SELECT lt_check('SELECT b, d, t FROM mk WHERE b = 0 AND d > ''2000-01-03'' ORDER BY b DESC, d DESC, t DESC', true);
SELECT lt_check('SELECT b, d, t, u FROM mk WHERE b = 0 AND d = ''2000-01-03'' AND u IS NOT NULL');
-- A float4 before the last column: its NaNs fold to a key that is no float4, so it is never returned,
-- while the last column is, by index-only scans.
INSERT INTO mk (id, r) VALUES (30001, 'NaN'), (30002, '-NaN'::float4);
CREATE INDEX mk_ri ON mk USING learned (r, id);
VACUUM mk;
SELECT lt_check('SELECT id FROM mk WHERE r = ''Infinity'' AND id < 100');
SELECT lt_check('SELECT id FROM mk WHERE id BETWEEN 10 AND 20 OR id > 30000');
SELECT lt_check('SELECT id FROM mk WHERE r = ''NaN'' ORDER BY r, id', true);
DROP INDEX mk_ri;
SELECT lt_index_ok('mk_sbf'), lt_index_ok('mk_fr'), lt_index_ok('mk_udt'), lt_index_ok('mk_bdtu');

-- One packed group whose keys cross a word: (1, the largest int8s), then (1, NULL), the next word's first
-- keys. Read both ways, the rebuilt keys carry into the upper word and back.
CREATE TABLE mcarry (id int, a int4, b int8);
INSERT INTO mcarry SELECT g, 1, 9223372036854775807 - g FROM generate_series(0, 99) g;
INSERT INTO mcarry SELECT 100 + g, 1, NULL FROM generate_series(1, 20) g;
CREATE INDEX mcarry_ab ON mcarry USING learned (a, b);
SELECT lt_check('SELECT a, b FROM mcarry WHERE a = 1 ORDER BY a, b', true);
SELECT lt_check('SELECT a, b FROM mcarry WHERE a = 1 ORDER BY a DESC, b DESC', true);
SELECT lt_check('SELECT id FROM mcarry WHERE a = 1 AND (b IS NULL OR b > 9223372036854775800)');
SELECT lt_index_ok('mcarry_ab');
DROP TABLE mcarry;

-- Unique on several columns: NULLs are distinct, equal keys conflict at build and at insert; an
-- exclusion constraint on the columns' equality, deferrable and checked at commit.
CREATE TABLE mu (a int, b timestamptz);
INSERT INTO mu SELECT g % 10, timestamptz '2026-01-01 00:00+00' + interval '1 minute' * (g / 10) FROM generate_series(1, 1000) g;
INSERT INTO mu VALUES (1, NULL), (1, NULL), (NULL, NULL);
CREATE UNIQUE INDEX mu_ab ON mu USING learned (a, b);
INSERT INTO mu VALUES (3, timestamptz '2026-01-01 00:05+00');
INSERT INTO mu VALUES (3, timestamptz '2026-01-01 05:05+00'), (3, NULL), (NULL, timestamptz '2026-01-01 00:05+00');
INSERT INTO mu VALUES (3, timestamptz '2026-01-01 05:05+00');
INSERT INTO mu VALUES (1, timestamptz '2026-01-01 00:00+00');
CREATE TABLE mu2 (a int, b date);
INSERT INTO mu2 VALUES (1, '2000-01-01'), (1, '2000-01-01');
CREATE UNIQUE INDEX mu2_ab ON mu2 USING learned (a, b);
DELETE FROM mu2;
ALTER TABLE mu2 ADD CONSTRAINT mu2_uq EXCLUDE USING learned (a WITH =, b WITH =) DEFERRABLE INITIALLY DEFERRED;
INSERT INTO mu2 VALUES (1, '2000-01-01');
INSERT INTO mu2 VALUES (1, '2000-01-01');
INSERT INTO mu2 VALUES (1, '2000-01-02');
BEGIN;
INSERT INTO mu2 VALUES (2, '2000-01-01'), (2, '2000-01-01');
UPDATE mu2 SET b = '2000-01-03' WHERE ctid = (SELECT max(ctid) FROM mu2 WHERE a = 2);
COMMIT;
SELECT a, b FROM mu2 ORDER BY a, b;
DROP TABLE mu, mu2, mk, mc, mc_conds;
