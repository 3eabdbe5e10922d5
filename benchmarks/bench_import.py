#!/usr/bin/env python3
"""`make bench-import`: `omendb import` of a time-series CSV against DuckDB's COPY (and SQLite's .import)
in the same run, each into a fresh database, as medians of RUNS runs: seconds, rows/s, omendb's speed over
DuckDB's, and peak RSS (/usr/bin/time -v) against the file's size.
Usage: bench_import.py OMENDB [ROWS] [RUNS] [sqlite|nosqlite]   (run with the Python that has duckdb)
The CSV (ts, device, value; header line) is made by DuckDB from a formula, so it is the same every run:
ts one second apart from 2024-01-01, device i % 1000, value a decimal of 3 places from i.
"""
import os
import shutil
import statistics
import subprocess
import sys
import time

import duckdb

omendb = os.path.abspath(sys.argv[1])
rows = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000_000
runs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
with_sqlite = (sys.argv[4] if len(sys.argv) > 4 else "sqlite") == "sqlite"
work = f"/tmp/omendb-bench-import-{rows}"
csv = os.path.join(work, "readings.csv")
os.makedirs(work, exist_ok=True)
if not os.path.exists(csv):
    duckdb.connect().execute(f"""
        COPY (SELECT TIMESTAMP '2024-01-01' + to_seconds(i) AS ts, i % 1000 AS device,
                     ((i * 7919) % 1000003) / 1000.0 AS value FROM range({rows}) t(i))
        TO '{csv}' (HEADER)""")
size = os.path.getsize(csv)


def timed(command, **kwargs):
    """Wall seconds and peak RSS in bytes of one command, which must succeed."""
    start = time.perf_counter()
    result = subprocess.run(["/usr/bin/time", "-v", *command], capture_output=True, text=True, **kwargs)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{result.stdout}{result.stderr}")
    rss = next(int(line.split(":")[1]) for line in result.stderr.splitlines() if "Maximum resident set size" in line)
    return seconds, rss * 1024, result.stdout


def omendb_run():
    db = os.path.join(work, "omendb")
    shutil.rmtree(db, ignore_errors=True)
    subprocess.run([omendb, "--db", db, "-c",
                    "CREATE TABLE readings (ts TIMESTAMP PRIMARY KEY, device BIGINT, value DOUBLE PRECISION)"],
                   check=True, capture_output=True)
    seconds, rss, out = timed([omendb, "import", "--db", db, "readings", csv, "--header"])
    assert f"COPY {rows}" in out, out
    return seconds, rss


# Timed inside the process from connect to close (its checkpoint), so Python's start is not DuckDB's.
DUCKDB_LOAD = """
import duckdb, sys, time
start = time.perf_counter()
con = duckdb.connect(sys.argv[1])
con.execute("SET enable_progress_bar = false")
con.execute("CREATE TABLE readings (ts TIMESTAMP" + sys.argv[3] + ", device BIGINT, value DOUBLE)")
con.execute("COPY readings FROM '" + sys.argv[2] + "' (HEADER)")
count = con.execute("SELECT count(*) FROM readings").fetchone()[0]
con.close()
print(count, time.perf_counter() - start)
"""


def duckdb_run(key=" PRIMARY KEY"):
    db = os.path.join(work, "duck.db")
    for path in (db, db + ".wal"):
        if os.path.exists(path):
            os.remove(path)
    _, rss, out = timed([sys.executable, "-c", DUCKDB_LOAD, db, csv, key])
    count, seconds = out.split()[-2:]
    assert count == str(rows), out
    return float(seconds), rss


def sqlite_run():
    db = os.path.join(work, "sqlite.db")
    if os.path.exists(db):
        os.remove(db)
    script = ("CREATE TABLE readings (ts TEXT PRIMARY KEY, device INTEGER, value REAL);\n"
              f".import --csv --skip 1 {csv} readings\nSELECT count(*) FROM readings;\n")
    seconds, rss, out = timed(["sqlite3", db], input=script)
    assert out.strip() == str(rows), out
    return seconds, rss


def median(run):
    results = [run() for _ in range(runs)]
    return statistics.median(r[0] for r in results), statistics.median(r[1] for r in results)


# DuckDB with the same primary key as omendb's table (the bar), and without one.
peers = [("omendb import", omendb_run), ("DuckDB COPY", duckdb_run), ("DuckDB COPY, no key", lambda: duckdb_run(""))]
if with_sqlite and shutil.which("sqlite3"):
    peers.append(("sqlite3 .import", sqlite_run))
print(f"{rows:,} rows, {size / 1e6:.1f} MB CSV; medians of {runs} runs; DuckDB {duckdb.__version__}, {os.cpu_count()} cores")
print("| loader | seconds | rows/s | peak RSS (MB) | RSS / file size |")
print("| --- | --- | --- | --- | --- |")
figures = {}
for name, run in peers:
    seconds, rss = median(run)
    figures[name] = seconds
    print(f"| {name} | {seconds:.2f} | {rows / seconds:,.0f} | {rss / 1e6:.0f} | {rss / size:.2f}x |", flush=True)
print(f"omendb import speed / DuckDB COPY speed: {figures['DuckDB COPY'] / figures['omendb import']:.2f}x")
