--
-- unique: CREATE UNIQUE INDEX ... USING learned, against a btree unique index on a copy of the table
-- given the same statements: every statement succeeds on both or fails on both, with the same rows after.
--
\set VERBOSITY default
CREATE TABLE uq_l (k int8, v text);
CREATE TABLE uq_b (k int8, v text);
CREATE UNIQUE INDEX uq_l_k ON uq_l USING learned (k);
CREATE UNIQUE INDEX uq_b_k ON uq_b USING btree (k);

-- Runs one statement on both tables ($1 names the table); returns what each did.
CREATE FUNCTION uq_both(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	outcome text[] := '{}';
	target text;
BEGIN
	FOREACH target IN ARRAY ARRAY['uq_l', 'uq_b'] LOOP
		BEGIN
			EXECUTE format(sql, target);
			outcome := outcome || 'ok'::text;
		EXCEPTION WHEN unique_violation THEN
			outcome := outcome || 'unique_violation'::text;
		END;
	END LOOP;
	RETURN CASE WHEN outcome[1] = outcome[2] THEN outcome[1] ELSE 'learned ' || outcome[1] || ', btree ' || outcome[2] END;
END $$;

SELECT uq_both('INSERT INTO %I VALUES (1, ''a''), (2, ''b''), (NULL, ''n1''), (NULL, ''n2'')');
SELECT uq_both('INSERT INTO %I VALUES (1, ''again'')');
SELECT uq_both('INSERT INTO %I VALUES (3, ''c''), (3, ''c'')');
SELECT uq_both('UPDATE %I SET k = 2 WHERE k = 1');
SELECT uq_both('UPDATE %I SET v = ''same key'' WHERE k = 1');
SELECT uq_both('UPDATE %I SET k = k + 10');
SELECT uq_both('DELETE FROM %I WHERE k = 12');
SELECT uq_both('INSERT INTO %I VALUES (12, ''reinserted'')');
SELECT uq_both('INSERT INTO %I VALUES (NULL, ''n3'')');
SELECT uq_both('INSERT INTO %I SELECT g, ''bulk'' FROM generate_series(100, 5000) g');
SELECT uq_both('INSERT INTO %I SELECT g, ''overlap'' FROM generate_series(4990, 5010) g');
SELECT uq_both('COPY %I FROM PROGRAM ''echo 5001,copied'' WITH (FORMAT csv)');
SELECT uq_both('COPY %I FROM PROGRAM ''printf "6001,copied\n6001,twice\n"'' WITH (FORMAT csv)');
-- A row deleted and its key inserted again in one transaction, and in a subtransaction rolled back.
BEGIN;
SELECT uq_both('DELETE FROM %I WHERE k = 100');
SELECT uq_both('INSERT INTO %I VALUES (100, ''new 100'')');
SAVEPOINT s;
SELECT uq_both('INSERT INTO %I VALUES (7000, ''rolled back'')');
ROLLBACK TO s;
SELECT uq_both('INSERT INTO %I VALUES (7000, ''kept'')');
COMMIT;
-- After merges of the hot area into the learned run, a duplicate is still found in either.
SELECT learned_merge('uq_l_k') > 0 AS merged;
SELECT uq_both('INSERT INTO %I VALUES (2500, ''after merge'')');
SELECT uq_both('INSERT INTO %I VALUES (-1, ''new low'')');
SELECT uq_both('INSERT INTO %I VALUES (-1, ''dup low'')');
VACUUM uq_l;
VACUUM uq_b;
SELECT uq_both('INSERT INTO %I VALUES (12, ''after vacuum'')');
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
DROP FUNCTION uq_both(text);
