#!/usr/bin/env bash
# The main job: a 1M-row time-series table, a btree and a learned index on the same column, and a printed
# comparison (size, build time, a point and a range lookup with EXPLAIN ANALYZE, learned_index_info).
# Runs against the server in PGHOST/PGPORT/PGUSER (`make demo` starts a throwaway one).
set -euo pipefail
ROWS=${DEMO_ROWS:-1000000}
DB=omendb_demo

export PGOPTIONS="-c client_min_messages=warning"
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
run() { psql -X -q -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
value() { run -At -c "$1"; }

echo "== OmenDB demo: learned index vs btree on $ROWS time-series rows =="
run <<SQL
CREATE EXTENSION omendb;
SELECT setseed(0.42) \\g /dev/null
CREATE TABLE readings (ts timestamptz NOT NULL, sensor int NOT NULL, value float8 NOT NULL);
-- One reading per second from 2024-01-01, each with up to a second of jitter in milliseconds.
INSERT INTO readings
SELECT timestamptz '2024-01-01 00:00:00+00' + i * interval '1 second' + (random() * 999)::int * interval '1 millisecond',
       (i % 100)::int, random() * 100
FROM generate_series(0, $ROWS - 1) AS i;
VACUUM ANALYZE readings;
-- 1,000 timestamps that exist, for the point lookups.
CREATE TABLE probes AS SELECT ts FROM readings ORDER BY random() LIMIT 1000;
ANALYZE probes;
SQL

# Build time, measured inside the server.
build() {
	PGOPTIONS= value "DO \$\$ DECLARE t0 timestamptz := clock_timestamp(); BEGIN
	         EXECUTE 'CREATE INDEX $1 ON readings USING $2 (ts)';
	         RAISE NOTICE '%', round(extract(epoch FROM clock_timestamp() - t0) * 1000, 1); END \$\$" 2>&1 |
		sed -n 's/.*NOTICE: *//p'
}
btree_ms=$(build readings_btree btree)
learned_ms=$(build readings_learned learned)
run -c "ANALYZE readings"
btree_bytes=$(value "SELECT pg_relation_size('readings_btree')")
learned_bytes=$(value "SELECT pg_relation_size('readings_learned')")

# EXPLAIN ANALYZE of a query, repeated in one session with only one of the two indexes visible (the
# other dropped in a transaction that is rolled back).
explain() {
	local drop=$1 query=$2 times=${3:-1}
	{
		echo "BEGIN; DROP INDEX $drop; SET LOCAL enable_seqscan = off; SET LOCAL enable_hashjoin = off;"
		echo "SET LOCAL enable_mergejoin = off; SET LOCAL enable_material = off;"
		for _ in $(seq "$times"); do echo "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) $query;"; done
		echo "ROLLBACK;"
	} | run -At
}
# The median execution time of 9 runs in one warm session (a backend caches the model after its first
# lookup, as it caches btree's metapage).
median_ms() {
	explain "$1" "$2" 9 | sed -n 's/^Execution Time: \(.*\) ms$/\1/p' | sort -g | sed -n 5p
}

middle=$(value "SELECT ts FROM readings ORDER BY ts OFFSET $((ROWS / 2)) LIMIT 1")
point="SELECT * FROM readings WHERE ts = '$middle'"
points="SELECT count(*) FROM probes p JOIN readings r ON r.ts = p.ts"
range="SELECT count(*), avg(value) FROM readings WHERE ts >= '2024-01-05 00:00:00+00' AND ts < '2024-01-05 01:00:00+00'"

echo
echo "-- point lookup, learned index:"
explain readings_btree "$point" | sed -n '/Index Scan\|Index Cond\|Execution/p' | sed 's/^/   /'
echo "-- one-hour range, learned index:"
explain readings_btree "$range" | sed -n '/Scan\|Cond\|Execution/p' | sed 's/^/   /'

point_btree=$(median_ms readings_learned "$points")
point_learned=$(median_ms readings_btree "$points")
range_btree=$(median_ms readings_learned "$range")
range_learned=$(median_ms readings_btree "$range")

echo
printf '%-28s %14s %14s %10s\n' "" "btree" "learned" "ratio"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0) printf "%.2fx", b / a; else print "-" }'; }
printf '%-28s %14s %14s %10s\n' "index size (bytes)" "$btree_bytes" "$learned_bytes" "$(ratio "$btree_bytes" "$learned_bytes")"
printf '%-28s %14s %14s %10s\n' "build time (ms)" "$btree_ms" "$learned_ms" "$(ratio "$btree_ms" "$learned_ms")"
printf '%-28s %14s %14s %10s\n' "1000 point lookups (ms)" "$point_btree" "$point_learned" "$(ratio "$point_btree" "$point_learned")"
printf '%-28s %14s %14s %10s\n' "1-hour range (ms)" "$range_btree" "$range_learned" "$(ratio "$range_btree" "$range_learned")"
echo "(ratio: learned / btree, below 1.00x is smaller or faster; times: median of 9 runs in one session)"
echo
echo "-- learned_index_info('readings_learned'):"
run -x -c "SELECT * FROM learned_index_info('readings_learned')"
run -c "SELECT learned_index_check('readings_learned', true)" >/dev/null && echo "learned_index_check(heapallindexed): clean"
