#!/usr/bin/env bash
# `benchmarks/bench-heap-ingest.sh`: continuous ingest into a table with a learned heap-layout index,
# against the same ingest into a table with a btree. Each table starts empty with its one index on k;
# WRITERS clients (1, then 2 by default) append ROWS rows in key order (a sequence) in transactions of
# 1,000 rows; then VACUUM, sizes and pinned one-row lookup TPS (median of 3 x 5 s).
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-2000000}
WRITERS=${WRITERS:-"1 2"}
export OMENDB_PGDATA=${BENCH_PGDATA:-/tmp/omendb-bench-ingest} PGPORT=${BENCH_PORT:-54337} PGHOST=127.0.0.1 PGUSER=postgres
pg_extension/test/cluster.sh start "shared_buffers = 1GB" "max_wal_size = 8GB" "checkpoint_timeout = 30min" "jit = off" "autovacuum = off" >/dev/null
work=$(mktemp -d)
trap 'pg_extension/test/cluster.sh stop >/dev/null; rm -rf "$work"' EXIT
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d postgres "$@"; }
q -c "CREATE EXTENSION omendb"
printf "INSERT INTO bench SELECT timestamptz '2024-01-01 00:00:00+00' + nextval('bench_seq') * interval '1 second', 0 FROM generate_series(1, 1000);\n" > "$work/ingest.sql"
printf '\\set i random(1, 10000)\nSELECT payload FROM bench WHERE k = (SELECT k FROM probes WHERE id = :i);\n' > "$work/lookup.sql"
tps() {
  local pm; pm=$(head -1 $OMENDB_PGDATA/data/postmaster.pid); taskset -pc 0 $pm >/dev/null
  for _ in 1 2 3; do PGOPTIONS="$1" taskset -c 0 pgbench -n -M prepared -c 1 -T 5 -f "$work/lookup.sql" postgres 2>/dev/null | sed -n 's/^tps = \([0-9.]*\) .*/\1/p'; done | sort -g | sed -n 2p
  taskset -pc 0-1 $pm >/dev/null
}
for writers in $WRITERS; do
  for kind in heap btree; do
    q -c "SET client_min_messages = warning" -c "DROP TABLE IF EXISTS bench, probes" -c "DROP SEQUENCE IF EXISTS bench_seq" -c "CREATE SEQUENCE bench_seq" \
      -c "CREATE TABLE bench (k timestamptz NOT NULL, payload int NOT NULL)"
    if [ $kind = heap ]; then q -c "CREATE INDEX bench_k ON bench USING learned (k) WITH (layout = 'heap')"; opts="-c enable_seqscan=off -c enable_indexscan=off"
    else q -c "CREATE INDEX bench_k ON bench USING btree (k)"; opts="-c enable_seqscan=off -c enable_bitmapscan=off"; fi
    start=$(date +%s.%N)
    pgbench -n -c "$writers" -j "$writers" -t $((ROWS / 1000 / writers)) -f "$work/ingest.sql" postgres >/dev/null 2>&1
    secs=$(echo "$(date +%s.%N) - $start" | bc)
    q -c "VACUUM ANALYZE bench" -c "CHECKPOINT" \
      -c "CREATE TABLE probes AS SELECT row_number() OVER () AS id, k FROM (SELECT k FROM bench ORDER BY hashint8(extract(epoch FROM k)::int8) LIMIT 10000) s" \
      -c "CREATE UNIQUE INDEX ON probes (id)" -c "ANALYZE probes"
    line="writers=$writers index=$kind rows=$(q -c "SELECT count(*) FROM bench") ingest_s=$secs size=$(q -c "SELECT pg_relation_size('bench_k')") lookup_c1=$(tps "$opts")"
    if [ $kind = heap ]; then
      line="$line covered=$(q -c "SELECT covered_rows FROM learned_index_info('bench_k')") entries=$(q -c "SELECT cold_entries + hot_entries FROM learned_index_info('bench_k')") check=[$(q -c "SELECT learned_index_check('bench_k', true)")]"
    fi
    echo "$line"
  done
done
