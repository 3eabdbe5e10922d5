#!/usr/bin/env bash
# `benchmarks/bench-serve.sh`: pgbench against `omendb serve` and against PostgreSQL 15 (a btree on the key)
# on the same data, host and scripts, prepared statements, CLIENTS clients (8 by default):
#   lookup: SELECT v FROM kv WHERE k = random(1, ROWS)        (ROWS=1000000 keys loaded by COPY)
#   insert: INSERT INTO kv VALUES (random above ROWS, 'x') ON CONFLICT (k) DO NOTHING   (one commit each)
# Both servers fsync every commit. Median TPS of RUNS (3) runs of SECONDS (10) s each, the two servers
# taking turns; the ratio is omendb over PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-1000000}
CLIENTS=${CLIENTS:-8}
SECONDS_EACH=${SECONDS:-10}
RUNS=${RUNS:-3}
OMEN_PORT=${OMEN_PORT:-54341}
export OMENDB_PGDATA=${BENCH_PGDATA:-/tmp/omendb-bench-serve} PGPORT=${BENCH_PORT:-54340} PGHOST=127.0.0.1 PGUSER=postgres
swift build -c release --product omendb >/dev/null
work=$(mktemp -d)
pg_extension/test/cluster.sh start "jit = off" >/dev/null
trap 'kill $(cat "$work/pid" 2>/dev/null) 2>/dev/null || true; pg_extension/test/cluster.sh stop >/dev/null; rm -rf "$work"' EXIT
.build/release/omendb serve --db "$work/db" --listen 127.0.0.1:$OMEN_PORT > "$work/serve.log" 2>&1 &
echo $! > "$work/pid"
for _ in $(seq 50); do grep -q serving "$work/serve.log" && break; sleep 0.1; done
seq 1 "$ROWS" | sed 's/.*/&,v&/' > "$work/kv.csv"
for port in $PGPORT $OMEN_PORT; do
  psql -X -q -v ON_ERROR_STOP=1 -p $port -d postgres -c "CREATE TABLE kv (k bigint PRIMARY KEY, v text)" \
    -c "\\copy kv FROM '$work/kv.csv' WITH (FORMAT csv)"
done
psql -X -q -p $PGPORT -d postgres -c "VACUUM ANALYZE kv" -c "CHECKPOINT"
printf '\\set k random(1, %d)\nSELECT v FROM kv WHERE k = :k;\n' "$ROWS" > "$work/lookup.sql"
printf "\\\\set k random(%d, 4000000000000000000)\nINSERT INTO kv VALUES (:k, 'x') ON CONFLICT (k) DO NOTHING;\n" $((ROWS + 1)) > "$work/insert.sql"
tps() { pgbench -n -M prepared -c "$CLIENTS" -j 2 -T "$SECONDS_EACH" -p "$1" -f "$work/$2.sql" postgres 2>&1 | sed -n 's/^tps = \([0-9.]*\) .*/\1/p'; }
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
echo "rows=$ROWS clients=$CLIENTS seconds=$SECONDS_EACH runs=$RUNS"
for script in lookup insert; do
  : > "$work/pg"; : > "$work/omen"
  for _ in $(seq "$RUNS"); do
    tps $PGPORT $script >> "$work/pg"
    tps $OMEN_PORT $script >> "$work/omen"
  done
  pg=$(median < "$work/pg"); omen=$(median < "$work/omen")
  echo "$script: postgresql=$pg omendb=$omen ratio=$(echo "scale=2; $omen / $pg" | bc) (runs: pg $(paste -sd/ "$work/pg"), omendb $(paste -sd/ "$work/omen"))"
done
