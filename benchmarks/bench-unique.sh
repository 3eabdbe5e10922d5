#!/usr/bin/env bash
# `make bench-unique` (and the end of `make bench-pg`): inserts into a table with a unique index, learned
# against btree, on the same PostgreSQL 15 table: UNIQUE_ROWS (1M) rows of random bigint keys, then
# pgbench inserting random new keys (prepared, 1 and 4 clients, median of BENCH_RUNS runs of
# BENCH_SECONDS), each index starting from the same rows. UNIQUE_KEY=uuid7 keys the table by version 7
# uuids instead (time-ordered, as uuid primary keys are; new ones from the clock). Writes
# benchmarks/results/pg-unique.csv (pg-unique-uuid7.csv).
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${UNIQUE_ROWS:-1000000}
SECONDS_PER_RUN=${BENCH_SECONDS:-5}
RUNS=${BENCH_RUNS:-3}
KEY=${UNIQUE_KEY:-bigint}
case $KEY in
bigint) OUT=benchmarks/results/pg-unique.csv ;;
uuid7) OUT=benchmarks/results/pg-unique-uuid7.csv ;;
*) echo "UNIQUE_KEY is bigint or uuid7" >&2 && exit 2 ;;
esac
SETTINGS=("shared_buffers = 2GB" "maintenance_work_mem = 1GB" "max_wal_size = 8GB" "checkpoint_timeout = 30min"
	"synchronous_commit = on" "jit = off" "autovacuum = off")

export OMENDB_PGDATA=${BENCH_PGDATA:-/tmp/omendb-bench-unique} PGPORT=${BENCH_PORT:-54332} PGHOST=127.0.0.1 PGUSER=postgres
export PGOPTIONS="-c client_min_messages=warning"
pg_extension/test/cluster.sh start "${SETTINGS[@]}"
trap 'pg_extension/test/cluster.sh stop' EXIT
psql() { command psql -X -q -v ON_ERROR_STOP=1 -d postgres "$@"; }
work=$(mktemp -d)
if [ "$KEY" = bigint ]; then
	psql -c "CREATE EXTENSION omendb" \
		-c "CREATE TABLE u (k int8 NOT NULL, payload int NOT NULL)" \
		-c "INSERT INTO u SELECT hashint8extended(i, 7), 0 FROM generate_series(1, $ROWS) i" -c "VACUUM ANALYZE u"
	# New keys: random over most of the bigint range (as the table's), so that a repeat is as good as never.
	printf '\\set k random(-4000000000000000000, 4000000000000000000)\nINSERT INTO u VALUES (:k, 1);\n' > "$work/insert.sql"
else
	# A version 7 uuid: 48 bits of milliseconds, then 74 random bits (the version and variant between).
	psql -c "CREATE EXTENSION omendb" \
		-c "CREATE FUNCTION uuid7(ms bigint) RETURNS uuid LANGUAGE sql AS \$\$ SELECT (lpad(to_hex(ms), 12, '0') || '7' ||
			substr(md5(random()::text), 1, 3) || '8' || substr(md5(random()::text), 1, 15))::uuid \$\$" \
		-c "CREATE TABLE u (k uuid NOT NULL, payload int NOT NULL)" \
		-c "INSERT INTO u SELECT uuid7(1700000000000 + i), 0 FROM generate_series(1, $ROWS) i" -c "VACUUM ANALYZE u"
	printf 'INSERT INTO u VALUES (uuid7((extract(epoch FROM clock_timestamp()) * 1000)::int8), 1);\n' > "$work/insert.sql"
fi

# One client runs on one core with its backend, as in bench-pg.sh (a wakeup across cores from idle costs
# more than an insert on these VMs).
tps() {
	local clients=$1 runs=() postmaster pin=()
	postmaster=$(head -1 "$OMENDB_PGDATA/data/postmaster.pid")
	for _ in $(seq "$RUNS"); do
		if [ "$clients" = 1 ]; then pin=(taskset -c 0) && taskset -pc 0 "$postmaster" >/dev/null; fi
		runs+=("$("${pin[@]}" pgbench -n -M prepared -c "$clients" -j "$clients" -T "$SECONDS_PER_RUN" -f "$work/insert.sql" postgres 2>/dev/null |
			sed -n 's/^tps = \([0-9.]*\) .*/\1/p')")
		taskset -pc "0-$(($(nproc) - 1))" "$postmaster" >/dev/null
		psql -c "DELETE FROM u WHERE payload = 1" -c "VACUUM u"
	done
	printf '%s\n' "${runs[@]}" | sort -g | sed -n "$(((RUNS + 1) / 2))p"
}

echo "index,rows,insert_tps_c1,insert_tps_c4" > "$OUT"
for index in "btree unique:UNIQUE INDEX u_k ON u USING btree (k)" "learned unique:UNIQUE INDEX u_k ON u USING learned (k)" \
	"learned:INDEX u_k ON u USING learned (k)"; do
	name=${index%%:*}
	psql -c "CREATE ${index#*:}" -c "CHECKPOINT"
	echo "$name,$ROWS,$(tps 1),$(tps 4)" | tee -a "$OUT"
	psql -c "DROP INDEX u_k"
done
rm -rf "$work"
echo "wrote $OUT (command: UNIQUE_KEY=$KEY UNIQUE_ROWS=$ROWS BENCH_SECONDS=$SECONDS_PER_RUN BENCH_RUNS=$RUNS make bench-unique)"
