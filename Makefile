# OmenDB top level: builds the Swift library, then the PostgreSQL extension that links it.
#   make setup          installs PostgreSQL 15, its headers and libipc-run-perl if missing (every
#                       target that needs them runs it first)
#   make                the Swift archive (release) and the extension
#   make install        installs the extension into the pg_config on PATH
#   make installcheck   the pg_regress suite, against the server in PGHOST/PGPORT
#   make test           every test: Swift, the SQL corpus against DuckDB, the C ABI, and the extension on a
#                       throwaway cluster
#   make demo           the main job: learned index against btree on a 1M-row table
#   make bench          the learned-index benchmark (KEYS=10000000 by default), beside the reference
#                       PGM-index (its headers from the pygm sdist on PyPI, never committed)
#   make bench-engine   the standalone engine against SQLite (ROWS=10000000 by default)
#   make bench-sql      OmenDB SQL's time_bucket rollups against SQLite and DuckDB (ROWS=10000000 by default)
#   make bench-import   omendb import of a time-series CSV against DuckDB's COPY and SQLite (ROWS=10000000)
#   make bench-ingest   learned against btree under continuous ingest (INGEST_ROWS=10000000 by default)
#   make bench-unique   inserts through a unique learned index against a unique btree (UNIQUE_ROWS=1000000)
#   make stress         the randomized tests at large sizes

SWIFT ?= swift
SWIFTC := $(shell command -v swiftc)
# The toolchain's static runtime, found from wherever swiftc resolves (never hard-coded).
SWIFT_STATIC := $(realpath $(dir $(realpath $(SWIFTC)))/../lib/swift_static/linux)
ARCHIVE := .build/release/libLearnedIndex.a
# Order matters: swiftrt.o first (it registers the runtime's metadata sections), then the archive, then
# the runtime archives it needs.
SWIFT_LINK := $(SWIFT_STATIC)/x86_64/swiftrt.o $(abspath $(ARCHIVE)) \
	$(addprefix $(SWIFT_STATIC)/,libswiftCore.a libswift_RegexParser.a libswift_StringProcessing.a libswiftSynchronization.a) \
	-lstdc++ -lm -ldl -lpthread
KEYS ?= 10000000

export SWIFT_LINK

# The throwaway cluster of `make test` and `make demo`.
export PGHOST ?= 127.0.0.1
export PGPORT ?= 54329
export PGUSER ?= postgres
# PostgreSQL 15's tools first, whatever else is installed.
export PATH := /usr/lib/postgresql/15/bin:$(PATH)
CLUSTER := pg_extension/test/cluster.sh

.PHONY: all setup swift extension install installcheck test test-swift test-sql-duckdb duckdb-venv test-engine-crash test-cli serve-venv test-serve bench-serve test-c test-pg test-tap demo bench pgm-headers bench-engine bench-sql bench-import bench-pg bench-unique bench-ingest stress clean

# What a fresh Debian 12 machine with Swift needs besides: PostgreSQL 15, its server headers, the
# Perl module the TAP tests use, SQLite (the engine's baseline and oracle), libedit (the shell's line
# editing and history), Python with venv (the CLI test; DuckDB from PyPI), the sqlite3 shell and GNU time
# (bench-import's peer and its peak memory), and openssl (test-serve's TLS certificate).
PACKAGES := build-essential postgresql-15 postgresql-server-dev-15 libipc-run-perl libsqlite3-dev libedit-dev python3 python3-venv sqlite3 time openssl
setup:
	@if ! dpkg -s $(PACKAGES) >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(PACKAGES); \
	fi

all: extension

swift:
	$(SWIFT) build -c release --product LearnedIndex

extension: setup swift
	$(MAKE) -C pg_extension

install: extension
	$(MAKE) -C pg_extension install

# The pg_regress suite only; the TAP tests run from test-tap.
installcheck:
	$(MAKE) -C pg_extension installcheck TAP_TESTS=

test: setup test-swift test-sql-duckdb test-engine-crash test-cli test-serve test-c test-pg test-tap

# Installs the extension, runs the regression suite on a throwaway cluster, and always stops it.
test-pg: install
	$(CLUSTER) start
	$(MAKE) -C pg_extension installcheck TAP_TESTS= || { cat pg_extension/test/regression.diffs 2>/dev/null | head -200; $(CLUSTER) stop; exit 1; }
	$(CLUSTER) stop

# The TAP tests start their own clusters, which PostgreSQL refuses to do as root: as root they run as the
# postgres user, from a copy it owns.
TAP_COPY := /tmp/omendb-tap
PGXS_DIR := $(shell dirname $$(pg_config --pgxs))/../..
test-tap: install
	@if [ "$$(id -u)" = 0 ]; then \
		rm -rf $(TAP_COPY) && mkdir -p $(TAP_COPY)/test && cp -r pg_extension/test/t pg_extension/test/sql $(TAP_COPY)/test/ && \
		chown -R postgres: $(TAP_COPY) && \
		cd $(TAP_COPY) && runuser -u postgres -- env PATH="$(PATH)" TESTDIR=$(TAP_COPY) \
			PG_REGRESS=$(PGXS_DIR)/src/test/regress/pg_regress \
			OMENDB_CRASH_CYCLES="$$OMENDB_CRASH_CYCLES" OMENDB_CONCURRENCY_SECONDS="$$OMENDB_CONCURRENCY_SECONDS" \
			OMENDB_RANDOM_ROUNDS="$$OMENDB_RANDOM_ROUNDS" OMENDB_UNIQUE_ROUNDS="$$OMENDB_UNIQUE_ROUNDS" \
			prove -I $(PGXS_DIR)/src/test/perl $${PROVE_TESTS:-test/t/*.pl}; \
	else \
		$(MAKE) -C pg_extension prove_installcheck; \
	fi

demo: install
	$(CLUSTER) start
	benchmarks/demo.sh || { $(CLUSTER) stop; exit 1; }
	$(CLUSTER) stop

test-swift: setup
	$(SWIFT) test

# PGM-index's headers, the reference learned-bench compares against: the pygm source distribution on PyPI
# carries them (PGM-index/include/pgm). Pinned, fetched into .build/ and never committed; pip needs `wheel`
# to fetch an sdist.
PGM_DIR := .build/pgm-index
PYGM_VERSION := 1.0.1
pgm-headers: setup
	@test -f $(PGM_DIR)/include/pgm/pgm_index.hpp || { \
		rm -rf $(PGM_DIR) && mkdir -p $(PGM_DIR)/dl && \
		/usr/bin/python3 -m venv $(PGM_DIR)/venv && \
		$(PGM_DIR)/venv/bin/pip install -q --disable-pip-version-check wheel && \
		$(PGM_DIR)/venv/bin/pip download -q --disable-pip-version-check --no-deps --no-binary :all: \
			-d $(PGM_DIR)/dl pygm==$(PYGM_VERSION) && \
		tar xzf $(PGM_DIR)/dl/pygm-$(PYGM_VERSION).tar.gz -C $(PGM_DIR) --strip-components=2 \
			pygm-$(PYGM_VERSION)/PGM-index/include; }

# DuckDB from PyPI, pinned, in a virtual environment of Debian's Python: the SQL corpus's second oracle and
# bench-sql's second peer (`omendb bench sql` finds it there).
VENV := .build/venv
DUCKDB_VERSION := 2.0.1
duckdb-venv: setup
	@test -x $(VENV)/bin/python || /usr/bin/python3 -m venv $(VENV)
	@$(VENV)/bin/python -c "import duckdb, sys; sys.exit(duckdb.__version__ != '$(DUCKDB_VERSION)')" 2>/dev/null || \
		$(VENV)/bin/pip install -q --disable-pip-version-check duckdb==$(DUCKDB_VERSION)

# The Tests/sql corpus's queries marked `duckdb`, live against DuckDB (those not marked `nosqlite` run
# against SQLite in test-swift).
test-sql-duckdb: duckdb-venv
	$(VENV)/bin/python Tests/sql/duckdb_check.py

# The standalone engine under SIGKILL (OMEN_ENGINE_CRASH_CYCLES cycles, 10 by default), and on a disk
# that fills (a small tmpfs; skipped unless root).
CRASH_CONFIG ?= debug
test-engine-crash: setup
	$(SWIFT) build -c $(CRASH_CONFIG) --product omendb
	Tests/engine/crash.sh .build/$(CRASH_CONFIG)/omendb
	Tests/engine/diskfull.sh .build/$(CRASH_CONFIG)/omendb

# psycopg 3 and asyncpg from PyPI, pinned, in the same virtual environment: test-serve's clients.
PSYCOPG_VERSION := 3.3.9
ASYNCPG_VERSION := 0.32.0
serve-venv: duckdb-venv
	@$(VENV)/bin/python -c "import psycopg, asyncpg, sys; sys.exit(psycopg.__version__ != '$(PSYCOPG_VERSION)' or asyncpg.__version__ != '$(ASYNCPG_VERSION)')" 2>/dev/null || \
		$(VENV)/bin/pip install -q --disable-pip-version-check "psycopg[binary]==$(PSYCOPG_VERSION)" asyncpg==$(ASYNCPG_VERSION)

# `omendb serve` against psql, psycopg, asyncpg and pgbench; its fuzzer takes OMEN_SERVE_FUZZ messages
# (3,000 by default, 100,000 in make stress).
test-serve: serve-venv
	$(SWIFT) build --product omendb
	$(VENV)/bin/python Tests/serve/test_serve.py .build/debug/omendb

# pgbench against `omendb serve` and PostgreSQL 15 with a btree, lookups and inserts (benchmarks/bench-serve.sh).
bench-serve: setup
	benchmarks/bench-serve.sh

# The omendb tool as a process: -c, exit codes, import, the shell on a pseudo-terminal.
test-cli: setup
	$(SWIFT) build --product omendb
	/usr/bin/python3 Tests/cli/test_cli.py .build/debug/omendb

# The standalone engine against SQLite (ROWS=10000000 by default).
ROWS ?= 10000000
bench-engine: setup
	$(SWIFT) run -c release omendb bench engine --rows $(ROWS)

# OmenDB SQL's hourly rollups against SQLite and DuckDB (ROWS=10000000 by default).
bench-sql: duckdb-venv
	$(SWIFT) run -c release omendb bench sql --rows $(ROWS)

# omendb import (release) against DuckDB's COPY and SQLite's .import: medians of 3 runs, rows/s, peak RSS.
bench-import: duckdb-venv
	$(SWIFT) build -c release --product omendb
	$(VENV)/bin/python benchmarks/bench_import.py .build/release/omendb $(ROWS) 3

test-c: Tests/CABI/abi_test
	./Tests/CABI/abi_test

Tests/CABI/abi_test: Tests/CABI/abi_test.c Sources/LearnedIndexC/include/omendb_learned.h swift
	$(CC) -O2 -Wall -Wextra -I Sources/LearnedIndexC/include -o $@ $< $(SWIFT_LINK)

# The reference PGM-index, compiled single-threaded (no OpenMP) with -O3 from its own headers; without the
# headers (no network) the bench says so and runs without it.
PGM_PEER := .build/pgm-peer
$(PGM_PEER): benchmarks/pgm-peer/pgm_peer.cpp
	$(MAKE) pgm-headers && g++ -O3 -std=c++17 -w -I$(PGM_DIR)/include $< -o $@

bench:
	@$(MAKE) $(PGM_PEER) || echo "bench: PGM-index's headers are unavailable (pip download of pygm failed): running without peers"
	$(SWIFT) build -c release --product learned-bench
	.build/release/learned-bench --keys $(KEYS) --format markdown $$(test -x $(PGM_PEER) && echo --peers $(PGM_PEER))

# learned against btree and BRIN on 10M-row tables (BENCH_ROWS, BENCH_SECONDS, BENCH_RUNS, BENCH_TABLES,
# BENCH_INDEXES scale it); writes docs/benchmarks.md and docs/bench-pg.png.
bench-pg: install
	@dpkg -s python3-matplotlib >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && SUDO= || SUDO=sudo; \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-matplotlib; }
	benchmarks/bench-pg.sh
	benchmarks/bench-unique.sh
	/usr/bin/python3 benchmarks/report-pg.py

# Inserts through a unique learned index against a unique btree (part of bench-pg).
bench-unique: install
	benchmarks/bench-unique.sh

# learned against btree while rows stream in: its own cluster (default autovacuum), psycopg from PyPI in a
# virtual environment; writes docs/benchmarks.md's ingest section and docs/bench-ingest.png.
INGEST_PORT ?= 54333
bench-ingest: install
	@dpkg -s python3-matplotlib python3-venv >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && SUDO= || SUDO=sudo; \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-matplotlib python3-venv; }
	@test -x .build-bench/bin/python || /usr/bin/python3 -m venv --system-site-packages .build-bench
	@.build-bench/bin/python -c "import psycopg" 2>/dev/null || .build-bench/bin/pip install -q "psycopg[binary]"
	OMENDB_PGDATA=/tmp/omendb-ingest PGPORT=$(INGEST_PORT) $(CLUSTER) start "shared_buffers = 1GB" "max_wal_size = 8GB" "jit = off"
	PGPORT=$(INGEST_PORT) psql -X -q -c "CREATE EXTENSION omendb" postgres
	PGPORT=$(INGEST_PORT) .build-bench/bin/python benchmarks/bench-ingest.py || { OMENDB_PGDATA=/tmp/omendb-ingest PGPORT=$(INGEST_PORT) $(CLUSTER) stop; exit 1; }
	OMENDB_PGDATA=/tmp/omendb-ingest PGPORT=$(INGEST_PORT) $(CLUSTER) stop

stress:
	OMEN_TEST_OPERATIONS=2000000 $(SWIFT) test -c release --filter HotColdTests
	OMEN_ENGINE_OPERATIONS=2000000 OMEN_ENGINE_TRANSFERS=20000 OMEN_SQL_FUZZ=1000000 OMEN_SQL_EXTREMES=1000000 \
		OMEN_ENGINE_FAULTS=2000 OMEN_READONLY_ROUNDS=100000 $(SWIFT) test -c release --filter OmenEngineTests
	OMEN_ENGINE_CRASH_CYCLES=$${OMEN_ENGINE_CRASH_CYCLES:-100} $(MAKE) test-engine-crash CRASH_CONFIG=release
	OMEN_SERVE_FUZZ=$${OMEN_SERVE_FUZZ:-100000} $(MAKE) test-serve
	OMENDB_CRASH_CYCLES=$${OMENDB_CRASH_CYCLES:-50} OMENDB_CONCURRENCY_SECONDS=120 OMENDB_RANDOM_ROUNDS=20 \
		$(MAKE) test-tap

clean:
	rm -rf .build Tests/CABI/abi_test
	$(MAKE) -C pg_extension clean
