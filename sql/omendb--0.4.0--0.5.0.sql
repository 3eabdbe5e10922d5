-- omendb 0.4.0 to 0.5.0: the heap layout's model keeps several runs (rows in key order that an UPDATE
-- moved to the heap's end, a backfill); learned_index_info reports how many. Indexes built under 0.4.0
-- read on (layout version 10: one run).

\echo Use "ALTER EXTENSION omendb UPDATE TO '0.5.0'" to load this file. \quit

DROP FUNCTION learned_index_info(regclass);
CREATE FUNCTION learned_index_info(index regclass,
	OUT model text, OUT epsilon int, OUT segments bigint, OUT cold_entries bigint, OUT null_entries bigint,
	OUT hot_entries bigint, OUT pages bigint, OUT model_bytes bigint, OUT mean_window float8,
	OUT max_window bigint, OUT generation bigint, OUT dead_entries bigint, OUT free_pages bigint,
	OUT last_merge timestamptz, OUT last_merge_duration interval, OUT layout text, OUT covered_rows bigint,
	OUT heap_model_bytes bigint, OUT heap_pages_per_lookup float8, OUT heap_runs int)
	AS 'MODULE_PATHNAME' LANGUAGE C STRICT;
