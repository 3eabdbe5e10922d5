--
-- privileges: what each learned_* function requires of its caller, row-level security, amcheck-style
-- rights on the check, and the statistics and types a DBA relies on (idx_scan, domains, learned_index_info).
--
CREATE TABLE pv_t (id int, v int8, secret int);
INSERT INTO pv_t SELECT g, g * 3, g FROM generate_series(1, 2000) g;
CREATE INDEX pv_v ON pv_t USING learned (v);
CREATE ROLE regress_pv_none;
CREATE ROLE regress_pv_reader;
CREATE ROLE regress_pv_column;
CREATE ROLE regress_pv_stats IN ROLE pg_stat_scan_tables;
GRANT SELECT ON pv_t TO regress_pv_reader;
GRANT SELECT (v) ON pv_t TO regress_pv_column;
GRANT SELECT (secret) ON pv_t TO regress_pv_stats;

-- No rights: every function that reads the index refuses, naming the table.
SET ROLE regress_pv_none;
SELECT cold_entries FROM learned_index_info('pv_v');
SELECT * FROM learned_page_usage('pv_v');
SELECT found FROM learned_explain_lookup('pv_v', 42::int8);
SELECT count(*) FROM learned_segments('pv_v');
SELECT learned_merge('pv_v');
SELECT learned_index_check('pv_v');
RESET ROLE;

-- SELECT on the table: statistics and keys; not merges (owner only), not the check (superuser until granted).
SET ROLE regress_pv_reader;
SELECT cold_entries, dead_entries, free_pages >= 0 AS free_known FROM learned_index_info('pv_v');
SELECT found FROM learned_explain_lookup('pv_v', 42::int8);
SELECT count(*) > 0 AS has_segments FROM learned_segments('pv_v');
SELECT learned_merge('pv_v');
SELECT learned_index_check('pv_v');
RESET ROLE;

-- SELECT on the key column only: keys. pg_stat_scan_tables without the key column: statistics only.
SET ROLE regress_pv_column;
SELECT found FROM learned_explain_lookup('pv_v', 42::int8);
RESET ROLE;
SET ROLE regress_pv_stats;
SELECT cold_entries FROM learned_index_info('pv_v');
SELECT sum(pages) > 0 AS counted FROM learned_page_usage('pv_v');
SELECT found FROM learned_explain_lookup('pv_v', 42::int8);
RESET ROLE;

-- The check, once granted, as amcheck's functions are.
GRANT EXECUTE ON FUNCTION learned_index_check(regclass, boolean) TO regress_pv_reader;
SET ROLE regress_pv_reader;
SELECT learned_index_check('pv_v', true);
RESET ROLE;

-- Row-level security: the index holds the keys of rows the policies hide, so the functions that reveal
-- keys refuse a caller the policies apply to; statistics stay available; the owner is not subject.
ALTER TABLE pv_t ENABLE ROW LEVEL SECURITY;
CREATE POLICY pv_small ON pv_t FOR SELECT USING (id <= 10);
SET ROLE regress_pv_reader;
SELECT count(*) AS visible_rows FROM pv_t;
SELECT found FROM learned_explain_lookup('pv_v', 3000::int8);
SELECT count(*) FROM learned_segments('pv_v');
SELECT cold_entries FROM learned_index_info('pv_v');
RESET ROLE;
SELECT found FROM learned_explain_lookup('pv_v', 3000::int8);
ALTER TABLE pv_t DISABLE ROW LEVEL SECURITY;

-- Merges: the owner may; on a role that is not the owner, refused (above).
SELECT learned_merge('pv_v') AS merged;
SELECT last_merge IS NOT NULL AS merge_recorded, last_merge_duration >= '0'::interval AS duration_recorded,
	generation
FROM learned_index_info('pv_v');

-- pg_stat_user_indexes counts learned scans as btree scans: idx_scan, idx_tup_read, idx_tup_fetch.
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT count(*) FROM pv_t WHERE v BETWEEN 30 AND 60;
SELECT count(*) FROM pv_t WHERE v = 300;
SET enable_indexscan = off;
SET enable_bitmapscan = on;
SELECT count(*) FROM pv_t WHERE v BETWEEN 30 AND 60;
RESET enable_seqscan;
RESET enable_bitmapscan;
RESET enable_indexscan;
SELECT pg_stat_force_next_flush();
SELECT idx_scan, idx_tup_read, idx_tup_fetch FROM pg_stat_user_indexes WHERE indexrelid = 'pv_v'::regclass;

-- A domain over a supported type indexes as its base type.
CREATE DOMAIN pv_positive AS int4 CHECK (VALUE > 0);
CREATE TABLE pv_d (d pv_positive);
INSERT INTO pv_d SELECT g FROM generate_series(1, 500) g;
CREATE INDEX pv_d_d ON pv_d USING learned (d);
INSERT INTO pv_d VALUES (1000), (7);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT d FROM pv_d WHERE d = 7;
SELECT d FROM pv_d WHERE d = 7 ORDER BY d;
SELECT count(*) FROM pv_d WHERE d BETWEEN 100 AND 199;
RESET enable_seqscan;
SELECT learned_index_check('pv_d_d', true);

DROP TABLE pv_t, pv_d;
DROP DOMAIN pv_positive;
REVOKE EXECUTE ON FUNCTION learned_index_check(regclass, boolean) FROM regress_pv_reader;
DROP ROLE regress_pv_none, regress_pv_reader, regress_pv_column, regress_pv_stats;
