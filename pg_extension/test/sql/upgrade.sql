--
-- upgrade: ALTER EXTENSION omendb UPDATE from the released 0.1.0, with indexes created under it.
--
SET client_min_messages = warning;
DROP EXTENSION omendb CASCADE;
RESET client_min_messages;
CREATE EXTENSION omendb VERSION '0.1.0';
SELECT extversion FROM pg_extension WHERE extname = 'omendb';
CREATE TABLE up_t (v int4);
INSERT INTO up_t SELECT g FROM generate_series(1, 3000) g;
CREATE INDEX up_v ON up_t USING learned (v);
INSERT INTO up_t SELECT g FROM generate_series(3001, 3100) g;
ALTER EXTENSION omendb UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'omendb';
-- 0.3.0's uuid operator class is there (the update runs on to 0.5.0).
SELECT c.opcname FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod WHERE a.amname = 'learned' AND c.opcintype = 'uuid'::regtype;
SELECT cold_entries, hot_entries, dead_entries, last_merge FROM learned_index_info('up_v');
SET enable_seqscan = off;
SELECT count(*), min(v), max(v) FROM up_t WHERE v > 2990;
RESET enable_seqscan;
SELECT learned_index_check('up_v', true);
-- The update revoked the check from PUBLIC, as a fresh 0.2.0 installs it.
SELECT has_function_privilege('public', 'learned_index_check(regclass, boolean)', 'EXECUTE') AS public_may_check;
-- The functions of 0.2.0, with their result columns, are there after the update.
SELECT p.proname, pg_get_function_arguments(p.oid) AS arguments
FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.deptype = 'e'
	JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'omendb'
ORDER BY p.proname;
DROP TABLE up_t;
