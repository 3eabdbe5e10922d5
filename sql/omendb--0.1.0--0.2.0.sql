-- omendb 0.1.0 to 0.2.0: learned_index_info reports dead entries, free pages and the last merge;
-- learned_index_check is for superusers until granted, as amcheck's functions are. There is no separate
-- 0.2.0 install script: CREATE EXTENSION installs 0.1.0 and runs this update.

\echo Use "ALTER EXTENSION omendb UPDATE TO '0.2.0'" to load this file. \quit

DROP FUNCTION learned_index_info(regclass);
CREATE FUNCTION learned_index_info(index regclass,
	OUT model text, OUT epsilon int, OUT segments bigint, OUT cold_entries bigint, OUT null_entries bigint,
	OUT hot_entries bigint, OUT pages bigint, OUT model_bytes bigint, OUT mean_window float8,
	OUT max_window bigint, OUT generation bigint, OUT dead_entries bigint, OUT free_pages bigint,
	OUT last_merge timestamptz, OUT last_merge_duration interval)
	AS 'MODULE_PATHNAME' LANGUAGE C STRICT;

REVOKE ALL ON FUNCTION learned_index_check(regclass, boolean) FROM PUBLIC;
