#!/usr/bin/env bash
# `benchmarks/bench-heap-updates.sh`: the 10M-row time series (bench-pg's) with a learned heap-layout index and a btree on k; 10% of rows updated
# at random (non-HOT: full pages) with both indexes present, then VACUUM; sizes and pinned one-row lookup
# TPS (median of 3 x 5 s) before and after, and after a REINDEX and a VACUUM FULL of the heap index.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMENDB_PGDATA=${BENCH_PGDATA:-/tmp/omendb-bench-heap} PGPORT=${BENCH_PORT:-54336} PGHOST=127.0.0.1 PGUSER=postgres
pg_extension/test/cluster.sh start "shared_buffers = 2GB" "maintenance_work_mem = 1GB" "max_wal_size = 8GB" "checkpoint_timeout = 30min" "jit = off" "autovacuum = off" >/dev/null
work=$(mktemp -d)
trap 'pg_extension/test/cluster.sh stop >/dev/null; rm -rf "$work"' EXIT
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d postgres "$@"; }
q -c "CREATE EXTENSION omendb" -c "CREATE TABLE bench (k timestamptz NOT NULL, payload int NOT NULL)" \
  -c "INSERT INTO bench SELECT timestamptz '2024-01-01 00:00:00+00' + i * interval '1 second' + ((i * 7919) % 1000) * interval '1 millisecond', i::int FROM generate_series(0::bigint, 9999999) AS i" \
  -c "VACUUM ANALYZE bench" \
  -c "CREATE TABLE probes AS SELECT row_number() OVER () AS id, k FROM (SELECT k FROM bench ORDER BY hashint8(payload) LIMIT 10000) s" \
  -c "CREATE UNIQUE INDEX ON probes (id)" -c "ANALYZE probes"
printf '\\set i random(1, 10000)\nSELECT payload FROM bench WHERE k = (SELECT k FROM probes WHERE id = :i);\n' > "$work/lookup.sql"
tps() {
  local pm; pm=$(head -1 $OMENDB_PGDATA/data/postmaster.pid); taskset -pc 0 $pm >/dev/null
  for _ in 1 2 3; do PGOPTIONS="$1" taskset -c 0 pgbench -n -M prepared -c 1 -T 5 -f "$work/lookup.sql" postgres 2>/dev/null | sed -n 's/^tps = \([0-9.]*\) .*/\1/p'; done | sort -g | sed -n 2p
  taskset -pc 0-1 $pm >/dev/null
}
BT="-c enable_seqscan=off -c enable_bitmapscan=off"
HP="-c enable_seqscan=off -c enable_indexscan=off"
q -c "CREATE INDEX bench_heap ON bench USING learned (k) WITH (layout = 'heap')" -c "ANALYZE bench" -c "CHECKPOINT"
echo "before heap size=$(q -c "SELECT pg_relation_size('bench_heap')") lookup_c1=$(tps "$HP")"
q -c "CREATE INDEX bench_bt ON bench USING btree (k)" -c "CHECKPOINT"
echo "before btree size=$(q -c "SELECT pg_relation_size('bench_bt')") lookup_c1=$(tps "$BT")"
q -c "UPDATE bench SET payload = -payload - 1 WHERE hashint8(payload) % 10 = 0" -c "VACUUM ANALYZE bench" -c "CHECKPOINT"
echo "updated rows=$(q -c "SELECT count(*) FROM bench WHERE payload < 0")"
echo "after btree size=$(q -c "SELECT pg_relation_size('bench_bt')") lookup_c1=$(tps "$BT")"
q -c "DROP INDEX bench_bt"
echo "after heap size=$(q -c "SELECT pg_relation_size('bench_heap')") lookup_c1=$(tps "$HP")"
echo "after heap check=[$(q -c "SELECT learned_index_check('bench_heap', true)")] info=$(q -c "SELECT covered_rows, cold_entries, hot_entries, heap_runs, heap_model_bytes, round(heap_pages_per_lookup::numeric, 2), generation, free_pages FROM learned_index_info('bench_heap')")"
# A rebuild gives the moved rows a run of their own: REINDEX, then VACUUM FULL (which rewrites the heap in its order).
info() { q -c "SELECT covered_rows, cold_entries, hot_entries, heap_runs, heap_model_bytes, round(heap_pages_per_lookup::numeric, 2) FROM learned_index_info('bench_heap')"; }
q -c "REINDEX INDEX bench_heap" -c "CHECKPOINT"
echo "reindexed heap size=$(q -c "SELECT pg_relation_size('bench_heap')") lookup_c1=$(tps "$HP") check=[$(q -c "SELECT learned_index_check('bench_heap', true)")] info=$(info)"
q -c "VACUUM FULL bench" -c "ANALYZE bench" -c "CHECKPOINT"
echo "vacuum-full heap size=$(q -c "SELECT pg_relation_size('bench_heap')") lookup_c1=$(tps "$HP") check=[$(q -c "SELECT learned_index_check('bench_heap', true)")] info=$(info)"
