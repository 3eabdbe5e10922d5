--
-- unique: CREATE UNIQUE INDEX ... USING learned, against a btree unique index on a copy of the table
-- given the same statements: every statement succeeds on both or fails on both, with the same rows after.
--
\set VERBOSITY default
CREATE TABLE uq_l (k int8, v text);
CREATE TABLE uq_b (k int8, v text);
CREATE UNIQUE INDEX uq_l_k ON uq_l USING learned (k);
CREATE UNIQUE INDEX uq_b_k ON uq_b USING btree (k);

SELECT lt_both('INSERT INTO %I VALUES (1, ''a''), (2, ''b''), (NULL, ''n1''), (NULL, ''n2'')', 'uq_l', 'uq_b');
SELECT lt_both('INSERT INTO %I VALUES (1, ''again'')', 'uq_l', 'uq_b');
SELECT lt_both('INSERT INTO %I VALUES (3, ''c''), (3, ''c'')', 'uq_l', 'uq_b');
SELECT lt_both('UPDATE %I SET k = 2 WHERE k = 1', 'uq_l', 'uq_b');
SELECT lt_both('UPDATE %I SET v = ''same key'' WHERE k = 1', 'uq_l', 'uq_b');
SELECT lt_both('UPDATE %I SET k = k + 10', 'uq_l', 'uq_b');
SELECT lt_both('DELETE FROM %I WHERE k = 12', 'uq_l', 'uq_b');
SELECT lt_both('INSERT INTO %I VALUES (12, ''reinserted'')', 'uq_l', 'uq_b');
SELECT lt_both('INSERT INTO %I VALUES (NULL, ''n3'')', 'uq_l', 'uq_b');
SELECT lt_both('INSERT INTO %I SELECT g, ''bulk'' FROM generate_series(100, 5000) g', 'uq_l', 'uq_b');
SELECT lt_both('INSERT INTO %I SELECT g, ''overlap'' FROM generate_series(4990, 5010) g', 'uq_l', 'uq_b');
SELECT lt_both('COPY %I FROM PROGRAM ''echo 5001,copied'' WITH (FORMAT csv)', 'uq_l', 'uq_b');
SELECT lt_both('COPY %I FROM PROGRAM ''printf "6001,copied\n6001,twice\n"'' WITH (FORMAT csv)', 'uq_l', 'uq_b');
-- A row deleted and its key inserted again in one transaction, and in a subtransaction rolled back.
BEGIN;
SELECT lt_both('DELETE FROM %I WHERE k = 100', 'uq_l', 'uq_b');
SELECT lt_both('INSERT INTO %I VALUES (100, ''new 100'')', 'uq_l', 'uq_b');
SAVEPOINT s;
SELECT lt_both('INSERT INTO %I VALUES (7000, ''rolled back'')', 'uq_l', 'uq_b');
ROLLBACK TO s;
SELECT lt_both('INSERT INTO %I VALUES (7000, ''kept'')', 'uq_l', 'uq_b');
COMMIT;
-- After merges of the hot area into the learned run, a duplicate is still found in either.
SELECT learned_merge('uq_l_k') > 0 AS merged;
SELECT lt_both('INSERT INTO %I VALUES (2500, ''after merge'')', 'uq_l', 'uq_b');
SELECT lt_both('INSERT INTO %I VALUES (-1, ''new low'')', 'uq_l', 'uq_b');
SELECT lt_both('INSERT INTO %I VALUES (-1, ''dup low'')', 'uq_l', 'uq_b');
VACUUM uq_l;
VACUUM uq_b;
SELECT lt_both('INSERT INTO %I VALUES (12, ''after vacuum'')', 'uq_l', 'uq_b');
(SELECT k, v FROM uq_l EXCEPT ALL SELECT k, v FROM uq_b) UNION ALL (SELECT k, v FROM uq_b EXCEPT ALL SELECT k, v FROM uq_l);
SELECT count(*), count(k), count(DISTINCT k) FROM uq_l;
SELECT learned_index_check('uq_l_k', true);

-- The errors, as nbtree words them.
INSERT INTO uq_l VALUES (12, 'dup');
-- Floats: -0.0 equals 0.0, and NaN equals NaN, so each pair is a duplicate (as in btree).
CREATE TABLE uq_f (k float8);
CREATE UNIQUE INDEX uq_f_k ON uq_f USING learned (k);
INSERT INTO uq_f VALUES (0.0), ('NaN'), ('Infinity'), ('-Infinity');
INSERT INTO uq_f VALUES ('-0.0');
INSERT INTO uq_f VALUES ('NaN');
INSERT INTO uq_f VALUES (1e-300), (-1e-300);
INSERT INTO uq_f VALUES (-'NaN'::float8);
-- Their keys differ (index-only scans give each back as stored), so a build compares them as equals too.
CREATE TABLE uq_fz (k float8);
INSERT INTO uq_fz VALUES (1), ('-0'), (0);
CREATE UNIQUE INDEX uq_fz_k ON uq_fz USING learned (k);
DROP TABLE uq_fz;
-- A build over duplicates fails; over a key repeated only by a deleted row it succeeds.
CREATE TABLE uq_dup (k int4);
INSERT INTO uq_dup VALUES (1), (2), (2), (NULL), (NULL);
CREATE UNIQUE INDEX uq_dup_k ON uq_dup USING learned (k);
DELETE FROM uq_dup WHERE ctid = (SELECT min(ctid) FROM uq_dup WHERE k = 2);
CREATE UNIQUE INDEX uq_dup_k ON uq_dup USING learned (k);
INSERT INTO uq_dup VALUES (2);
-- The same uniqueness as an exclusion constraint, which ON CONFLICT DO NOTHING takes as its arbiter.
CREATE TABLE uq_ex (k timestamptz, EXCLUDE USING learned (k WITH =));
INSERT INTO uq_ex VALUES ('2024-01-01 00:00:00+00'), ('2024-01-02 00:00:00+00');
INSERT INTO uq_ex VALUES ('2024-01-01 00:00:00+00');
INSERT INTO uq_ex VALUES ('2024-01-01 00:00:00+00'), ('2024-01-03 00:00:00+00') ON CONFLICT DO NOTHING;
SELECT count(*) FROM uq_ex;
-- PostgreSQL takes only btree unique indexes as ON CONFLICT arbiters: refused with a hint.
INSERT INTO uq_l VALUES (1, 'x') ON CONFLICT DO NOTHING;
-- Constraints need btree indexes.
ALTER TABLE uq_l ADD CONSTRAINT uq_l_pk PRIMARY KEY USING INDEX uq_l_k;
DROP TABLE uq_l, uq_b, uq_f, uq_dup, uq_ex;
