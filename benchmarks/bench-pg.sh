#!/usr/bin/env bash
# `make bench-pg`: learned (each model) against btree and BRIN on the same PostgreSQL 15 tables. Starts its
# own cluster, loads each table once, and for each index in turn reports build time, size, pgbench TPS
# (prepared, 1 and 2 clients, median of BENCH_RUNS runs of BENCH_SECONDS) for a one-row lookup, a
# 1,000-row range count and ORDER BY ... LIMIT 10, and the TPS of appending time-series rows with the
# index present. The `devices` table is keyed by two columns, (device int4, ts timestamptz): 1,000
# devices read every second, interleaved in time; its range is one device's hour (3,600 rows) and its
# ORDER BY one device's next 10 readings. Writes benchmarks/results/pg.csv; benchmarks/report-pg.py turns it into the table in
# docs/benchmarks.md and the chart docs/bench-pg.png.
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${BENCH_ROWS:-10000000}
SECONDS_PER_RUN=${BENCH_SECONDS:-5}
RUNS=${BENCH_RUNS:-3}
TABLES=${BENCH_TABLES:-"timeseries int8 lognormal dups uuidv7 uuidv4 devices"}
INDEXES=${BENCH_INDEXES:-"btree brin pgm rmi linear"}
OUT=benchmarks/results/pg.csv
SETTINGS=("shared_buffers = 2GB" "maintenance_work_mem = 1GB" "work_mem = 64MB" "max_wal_size = 8GB"
	"checkpoint_timeout = 30min" "synchronous_commit = on" "jit = off" "autovacuum = off")

export OMENDB_PGDATA=${BENCH_PGDATA:-/tmp/omendb-bench} PGPORT=${BENCH_PORT:-54331} PGHOST=127.0.0.1 PGUSER=postgres
export PGOPTIONS="-c client_min_messages=warning"
pg_extension/test/cluster.sh start "${SETTINGS[@]}"
trap 'pg_extension/test/cluster.sh stop' EXIT
psql() { command psql -X -q -v ON_ERROR_STOP=1 -d postgres "$@"; }
value() { psql -At -c "$1"; }
psql -c "CREATE EXTENSION omendb"

mkdir -p benchmarks/results
echo "table,index,rows,build_ms,size_bytes,lookup_tps_c1,lookup_tps_c2,range_tps_c1,range_tps_c2,order_tps_c1,order_tps_c2,insert_tps_c1" > "$OUT"

# The key of row i for each table: a deterministic function of i, so loads repeat exactly.
key_expr() {
	case $1 in
	timeseries) echo "timestamptz '2024-01-01 00:00:00+00' + i * interval '1 second' + ((i * 7919) % 1000) * interval '1 millisecond'" ;;
	int8) echo "hashint8extended(i, 42)" ;;
	lognormal) echo "exp(2 * sqrt(-2 * ln(((hashint8extended(i, 1) & 2147483647) + 1) / 2147483649.0)) * cos(2 * pi() * ((hashint8extended(i, 2) & 2147483647) / 2147483648.0)))" ;;
	dups) echo "(i / 1000)::int8" ;;
	# Version 7: one per millisecond, in row order (time-ordered); version 4: random.
	uuidv7) echo "(lpad(to_hex(1700000000000 + i), 12, '0') || '7' || lpad(to_hex(hashint8extended(i, 3) & 4095), 3, '0') || '8' || lpad(to_hex(hashint8extended(i, 4) & 1152921504606846975), 15, '0'))::uuid" ;;
	uuidv4) echo "overlay(overlay(md5(i::text) PLACING '4' FROM 13) PLACING '8' FROM 17)::uuid" ;;
	esac
}
key_type() { case $1 in timeseries) echo timestamptz ;; lognormal) echo float8 ;; uuid*) echo uuid ;; *) echo int8 ;; esac; }

# pgbench TPS, median of RUNS runs, for a script on the current index. One client runs on one core with
# its backend (the postmaster is pinned while it connects): on these VMs a wakeup across cores from idle
# costs about 100 us, more than any query here, so unpinned one-client figures measure the scheduler
# (SELECT 1 ran 7,200 TPS unpinned and 36,000 pinned on one machine).
tps() {
	local clients=$1 script=$2 runs=() postmaster pin=()
	postmaster=$(head -1 "$OMENDB_PGDATA/data/postmaster.pid")
	if [ "$clients" = 1 ]; then pin=(taskset -c 0) && taskset -pc 0 "$postmaster" >/dev/null; fi
	for _ in $(seq "$RUNS"); do
		runs+=("$("${pin[@]}" pgbench -n -M prepared -c "$clients" -j "$clients" -T "$SECONDS_PER_RUN" -f "$script" postgres 2>/dev/null |
			sed -n 's/^tps = \([0-9.]*\) .*/\1/p')")
	done
	if [ "$clients" = 1 ]; then taskset -pc "0-$(($(nproc) - 1))" "$postmaster" >/dev/null; fi
	printf '%s\n' "${runs[@]}" | sort -g | sed -n "$(((RUNS + 1) / 2))p"
}

work=$(mktemp -d)
for table in $TABLES; do
	echo "== $table: loading $ROWS rows"
	if [ "$table" = devices ]; then
		# Row i: device i % 1000 at second i / 1000. Probes are existing readings; ranges start at one.
		psql -c "DROP TABLE IF EXISTS bench, probes, bounds" \
			-c "CREATE TABLE bench (device int4 NOT NULL, ts timestamptz NOT NULL, payload int NOT NULL)" \
			-c "INSERT INTO bench SELECT i % 1000, timestamptz '2024-01-01 00:00:00+00' + (i / 1000) * interval '1 second', i::int FROM generate_series(0::bigint, $ROWS - 1) AS i" \
			-c "VACUUM ANALYZE bench" \
			-c "CREATE TABLE probes AS SELECT row_number() OVER () AS id, device, ts FROM (SELECT device, ts FROM bench ORDER BY hashint8(payload) LIMIT 10000) s" \
			-c "CREATE UNIQUE INDEX ON probes (id)" -c "ANALYZE probes"
		nprobes=$(value "SELECT count(*) FROM probes")
		probe="(SELECT device FROM probes WHERE id = :i)"
		at="(SELECT ts FROM probes WHERE id = :i)"
		printf '\\set i random(1, %s)\nSELECT payload FROM bench WHERE device = %s AND ts = %s;\n' "$nprobes" "$probe" "$at" > "$work/lookup.sql"
		printf '\\set i random(1, %s)\nSELECT count(*) FROM bench WHERE device = %s AND ts >= %s AND ts < %s + interval %s;\n' \
			"$nprobes" "$probe" "$at" "$at" "'1 hour'" > "$work/range.sql"
		printf '\\set i random(1, %s)\nSELECT ts FROM bench WHERE device = %s AND ts >= %s ORDER BY ts LIMIT 10;\n' \
			"$nprobes" "$probe" "$at" > "$work/order.sql"
		columns="device, ts"
	else
		columns=k
		psql -c "DROP TABLE IF EXISTS bench, probes, bounds" \
			-c "CREATE TABLE bench (k $(key_type "$table") NOT NULL, payload int NOT NULL)" \
			-c "INSERT INTO bench SELECT $(key_expr "$table"), i::int FROM generate_series(0::bigint, $ROWS - 1) AS i" \
			-c "VACUUM ANALYZE bench"
		# Existing keys to look up, and 1,000-row ranges [lo, hi] starting at random positions.
		psql -c "CREATE TABLE probes AS SELECT row_number() OVER () AS id, k FROM (SELECT k FROM bench ORDER BY hashint8(payload) LIMIT 10000) s" \
			-c "CREATE UNIQUE INDEX ON probes (id)" \
			-c "CREATE TABLE bounds AS SELECT row_number() OVER () AS id, lo, hi FROM (SELECT k AS lo, lead(k, 999) OVER (ORDER BY k) AS hi, payload FROM bench) s WHERE hi IS NOT NULL AND hashint8(payload) % 1000 = 0 LIMIT 10000" \
			-c "CREATE UNIQUE INDEX ON bounds (id)" -c "ANALYZE probes, bounds"
		nprobes=$(value "SELECT count(*) FROM probes")
		nbounds=$(value "SELECT count(*) FROM bounds")
		printf '\\set i random(1, %s)\nSELECT payload FROM bench WHERE k = (SELECT k FROM probes WHERE id = :i);\n' "$nprobes" > "$work/lookup.sql"
		printf '\\set i random(1, %s)\nSELECT count(*) FROM bench WHERE k BETWEEN (SELECT lo FROM bounds WHERE id = :i) AND (SELECT hi FROM bounds WHERE id = :i);\n' "$nbounds" > "$work/range.sql"
		printf '\\set i random(1, %s)\nSELECT k FROM bench WHERE k >= (SELECT k FROM probes WHERE id = :i) ORDER BY k LIMIT 10;\n' "$nprobes" > "$work/order.sql"
		printf "INSERT INTO bench VALUES (timestamptz '2100-01-01 00:00:00+00' + nextval('appended') * interval '1 second', 0);\n" > "$work/insert.sql"
	fi

	for index in $INDEXES; do
		case $index in
		btree | brin) using="$index ($columns)" ;;
		heap) using="learned ($columns) WITH (layout = ''heap'')" ;;
		*) using="learned ($columns) WITH (model = ''$index'')" ;;
		esac
		build_ms=$(PGOPTIONS= value "DO \$\$ DECLARE t0 timestamptz := clock_timestamp(); BEGIN
			EXECUTE 'CREATE INDEX bench_idx ON bench USING $using';
			RAISE NOTICE '%', round(extract(epoch FROM clock_timestamp() - t0) * 1000, 1); END \$\$" 2>&1 | sed -n 's/.*NOTICE: *//p')
		size=$(value "SELECT pg_relation_size('bench_idx')")
		psql -c "ANALYZE bench" -c "CHECKPOINT"
		# Every query must use the index under test, whatever the planner would prefer.
		export PGOPTIONS="-c client_min_messages=warning -c enable_seqscan=off"
		row="$table,$index,$ROWS,$build_ms,$size"
		for script in lookup range order; do
			# A learned uuid index serves equality alone: no ranges or ORDER BY to compare.
			for clients in 1 2; do
				if [[ $table == uuid* && $script != lookup ]]; then row="$row,"; else row="$row,$(tps "$clients" "$work/$script.sql")"; fi
			done
		done
		insert=""
		if [ "$table" = timeseries ]; then
			psql -c "DROP SEQUENCE IF EXISTS appended" -c "CREATE SEQUENCE appended"
			insert=$(tps 1 "$work/insert.sql")
			psql -c "DELETE FROM bench WHERE k >= timestamptz '2100-01-01 00:00:00+00'" -c "VACUUM bench"
		fi
		export PGOPTIONS="-c client_min_messages=warning"
		echo "$row,$insert" | tee -a "$OUT"
		psql -c "DROP INDEX bench_idx"
	done
done
rm -rf "$work"
{
	echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
	echo "server: $(value 'SELECT version()')"
	echo "settings: ${SETTINGS[*]}"
	echo "command: BENCH_ROWS=$ROWS BENCH_SECONDS=$SECONDS_PER_RUN BENCH_RUNS=$RUNS BENCH_TABLES=\"$TABLES\" BENCH_INDEXES=\"$INDEXES\" make bench-pg"
} > benchmarks/results/pg.env
echo "wrote $OUT"
