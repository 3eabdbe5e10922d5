#!/usr/bin/env python3
"""`make bench-ingest`: learned against btree under continuous ingest, in one run on one cluster.

For 1 and for 4 writer connections, and for each index kind in turn: the index is created on an empty
table, then INGEST_ROWS time-series rows (1 s cadence, millisecond jitter) arrive in batches of 10,000
rows (one INSERT ... SELECT each, autocommit), while one reader runs prepared one-row and 1,000-row
lookups without pause. Reports ingest rows/s, lookup latency p50/p99 per million rows ingested, and the
index size at the end of each million, into benchmarks/results/ingest.csv, the section of
docs/benchmarks.md between its bench-ingest markers, and docs/bench-ingest.png. Then two more figures:
the time to extend an INGEST_ROWS-entry cold run by 100,000 in-order keys against a full CREATE INDEX
(medians of 3), and pgbench's TPC-B-like run at 2 clients with learned or btree indexes on aid, bid and
tid (tables from `pgbench -i` without primary keys, TPCB_SCALE, median of 3 runs of TPCB_SECONDS).

Run through the Makefile, which starts the cluster (default autovacuum) and sets PGHOST/PGPORT/PGUSER.
"""
import csv
import os
import subprocess
import random
import re
import statistics
import sys
import threading
import time

import psycopg

ROWS = int(os.environ.get("INGEST_ROWS", "10000000"))
BATCH = 10_000
MILLION = 1_000_000
WRITERS = [int(w) for w in os.environ.get("INGEST_WRITERS", "1 4").split()]
KINDS = ["btree", "learned"]
BASE = "timestamptz '2024-01-01 00:00:00+00'"
# Row i: i seconds after BASE, plus (i * 7919) % 1000 milliseconds: ordered, with jitter.
KEY = f"{BASE} + i * interval '1 second' + ((i * 7919) %% 1000) * interval '1 millisecond'"


def connect():
    return psycopg.connect("dbname=postgres", autocommit=True)


def key_of(i):
    return i * 1_000_000 + ((i * 7919) % 1000) * 1000  # microseconds after BASE


class Run:
    """One phase: one index kind, a number of writers, one reader."""

    def __init__(self, kind, writers):
        self.kind, self.writers = kind, writers
        self.lock = threading.Lock()
        self.ingested = 0
        self.next_batch = 0
        self.done = False
        self.lookups = []  # (rows ingested when it started, "point" | "range", seconds)
        self.errors = []
        self.sizes = {}  # millions ingested -> index bytes

    def setup(self):
        with connect() as conn:
            conn.execute("DROP TABLE IF EXISTS ingest")
            conn.execute("CREATE TABLE ingest (ts timestamptz, device int, value float8)")
            using = "USING learned" if self.kind == "learned" else ""
            conn.execute(f"CREATE INDEX ingest_ts ON ingest {using} (ts)")
            conn.execute("CHECKPOINT")

    def take_batch(self):
        with self.lock:
            if self.next_batch * BATCH >= ROWS:
                return None
            self.next_batch += 1
            return self.next_batch - 1

    def guarded(self, work):
        """Runs work in a thread; an error stops the writers and fails the run."""
        def run():
            try:
                work()
            except Exception as error:
                self.errors.append(error)
                with self.lock:
                    self.next_batch = ROWS
        return threading.Thread(target=run)

    def write(self):
        with connect() as conn:
            size_conn = connect()
            while (batch := self.take_batch()) is not None:
                first = batch * BATCH
                conn.execute(
                    f"INSERT INTO ingest SELECT {KEY}, (i %% 1000)::int, (i %% 977)::float8 "
                    "FROM generate_series(%s::int8, %s::int8) i", (first, first + BATCH - 1))
                with self.lock:
                    before = self.ingested
                    self.ingested += BATCH
                    after = self.ingested
                if after // MILLION > before // MILLION:
                    size = size_conn.execute("SELECT pg_relation_size('ingest_ts')").fetchone()[0]
                    with self.lock:
                        self.sizes[after // MILLION] = size
            size_conn.close()

    def read(self):
        rng = random.Random(7)
        with connect() as conn:
            conn.execute("SET TIME ZONE 'UTC'")
            while not self.done:
                with self.lock:
                    ingested = self.ingested
                if ingested == 0:
                    time.sleep(0.001)
                    continue
                i = rng.randrange(ingested)
                kind = "point" if rng.random() < 0.5 else "range"
                start = time.perf_counter()
                if kind == "point":
                    conn.execute(f"SELECT * FROM ingest WHERE ts = {BASE} + %s * interval '1 microsecond'",
                                 (key_of(i),), prepare=True).fetchall()
                else:
                    conn.execute(f"SELECT count(*), sum(value) FROM ingest WHERE ts >= {BASE} + %s * interval '1 microsecond' "
                                 f"AND ts < {BASE} + %s * interval '1 microsecond'",
                                 (key_of(i), key_of(i + 1000)), prepare=True).fetchall()
                self.lookups.append((ingested, kind, time.perf_counter() - start))

    def run(self):
        self.setup()
        reader = self.guarded(self.read)
        writers = [self.guarded(self.write) for _ in range(self.writers)]
        reader.start()
        start = time.perf_counter()
        for w in writers:
            w.start()
        for w in writers:
            w.join()
        self.seconds = time.perf_counter() - start
        self.done = True
        reader.join()
        if self.errors:
            raise self.errors[0]
        with connect() as conn:
            self.final_size = conn.execute("SELECT pg_relation_size('ingest_ts')").fetchone()[0]
        return self


def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(p * len(values)))]


def windows(run):
    """Per million rows ingested: p50/p99 of each lookup kind, in ms, and the index size at its end."""
    rows = []
    for m in range(ROWS // MILLION):
        stats = {}
        for kind in ("point", "range"):
            lat = [s * 1000 for (ing, k, s) in run.lookups if k == kind and m * MILLION <= ing < (m + 1) * MILLION]
            stats[kind] = (percentile(lat, 0.5), percentile(lat, 0.99), len(lat))
        rows.append((m + 1, stats, run.sizes.get(m + 1, run.final_size)))
    return rows


def timed(conn, sql):
    start = time.perf_counter()
    conn.execute(sql)
    return time.perf_counter() - start


def extend_figures():
    """Median seconds of a full CREATE INDEX over ROWS rows, and of merging 100,000 in-order keys into it."""
    with connect() as conn:
        conn.execute("DROP TABLE IF EXISTS extend")
        conn.execute(f"CREATE TABLE extend AS SELECT {KEY.replace('%%', '%')} AS ts FROM generate_series(0::int8, {ROWS - 1}) i")
        conn.execute("VACUUM ANALYZE extend")
        builds = []
        for _ in range(3):
            conn.execute("DROP INDEX IF EXISTS extend_ts")
            builds.append(timed(conn, "CREATE INDEX extend_ts ON extend USING learned (ts)"))
        conn.execute("SET learned.merge_on_insert = off")
        extends = []
        for r in range(3):
            first = ROWS + r * 100_000
            conn.execute(f"INSERT INTO extend SELECT {KEY.replace('%%', '%')} FROM generate_series({first}::int8, {first + 99_999}) i")
            extends.append(timed(conn, "SELECT learned_merge('extend_ts')"))
        conn.execute("DROP TABLE extend")
    return statistics.median(builds), statistics.median(extends)


def wal_figures(rows=1_000_000):
    """WAL bytes per row the index adds to the heap's own, for `rows` rows appended in batches of BATCH."""
    out = {}
    with connect() as conn:
        for kind in ["heap"] + KINDS:
            conn.execute("DROP TABLE IF EXISTS walrows")
            conn.execute("CREATE TABLE walrows (ts timestamptz, device int, value float8)")
            if kind != "heap":
                using = "USING learned" if kind == "learned" else ""
                conn.execute(f"CREATE INDEX ON walrows {using} (ts)")
            conn.execute("CHECKPOINT")
            start = conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
            for first in range(0, rows, BATCH):
                conn.execute(f"INSERT INTO walrows SELECT {KEY}, 1, 1 FROM generate_series(%s::int8, %s::int8) i",
                             (first, first + BATCH - 1))
            out[kind] = conn.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)", (start,)).fetchone()[0] / rows
        conn.execute("DROP TABLE walrows")
    return {kind: float(out[kind] - out["heap"]) for kind in KINDS}


SCALE = int(os.environ.get("TPCB_SCALE", "10"))
TPCB_SECONDS = int(os.environ.get("TPCB_SECONDS", "30"))


def tpcb_figures():
    """Median TPS of pgbench's TPC-B-like script at 2 clients, and whether sum(abalance) = sum(delta)."""
    out = {}
    for kind in KINDS:
        subprocess.run(["pgbench", "-q", "-i", "-I", "dtg", "-s", str(SCALE), "postgres"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        using = "USING learned" if kind == "learned" else ""
        with connect() as conn:
            for table, column in (("accounts", "aid"), ("branches", "bid"), ("tellers", "tid")):
                conn.execute(f"CREATE INDEX ON pgbench_{table} {using} ({column})")
            conn.execute("VACUUM ANALYZE")
        tps = []
        for _ in range(3):
            run = subprocess.run(["pgbench", "-n", "-c", "2", "-j", "2", "-T", str(TPCB_SECONDS), "postgres"],
                                 check=True, capture_output=True, text=True)
            tps.append(float(re.search(r"tps = ([0-9.]+)", run.stdout).group(1)))
        with connect() as conn:
            balanced = conn.execute("SELECT (SELECT sum(abalance) FROM pgbench_accounts) = "
                                    "(SELECT sum(delta) FROM pgbench_history)").fetchone()[0]
        out[kind] = (statistics.median(tps), tps, balanced)
        print(f"TPC-B {kind}: {out[kind]}", flush=True)
    return out


def main():
    results = {}
    for writers in WRITERS:
        for kind in KINDS:
            print(f"{kind}, {writers} writer(s): ingesting {ROWS:,} rows", flush=True)
            run = Run(kind, writers).run()
            results[(kind, writers)] = run
            print(f"  {ROWS / run.seconds:,.0f} rows/s, {len(run.lookups):,} lookups, index {run.final_size / 2**20:.1f} MiB",
                  flush=True)

    os.makedirs("benchmarks/results", exist_ok=True)
    with open("benchmarks/results/ingest.csv", "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["writers", "index", "millions", "point_p50_ms", "point_p99_ms", "point_n", "range_p50_ms",
                      "range_p99_ms", "range_n", "index_bytes", "rows_per_s"])
        for (kind, writers), run in results.items():
            for m, stats, size in windows(run):
                out.writerow([writers, kind, m, *[f"{v:.4f}" if isinstance(v, float) else v for v in stats["point"]],
                              *[f"{v:.4f}" if isinstance(v, float) else v for v in stats["range"]], size,
                              f"{ROWS / run.seconds:.0f}"])

    lines = [f"`make bench-ingest` (INGEST_ROWS={ROWS:,}, batches of {BATCH:,} rows, one reader alternating prepared "
             "one-row and 1,000-row lookups; one run, both indexes on one cluster, default autovacuum). "
             "Ratios are learned over btree.", ""]
    lines += ["| writers | btree rows/s | learned rows/s | ratio | btree size | learned size | size ratio |",
              "|---|---|---|---|---|---|---|"]
    for writers in WRITERS:
        b, l = results[("btree", writers)], results[("learned", writers)]
        lines.append(f"| {writers} | {ROWS / b.seconds:,.0f} | {ROWS / l.seconds:,.0f} | {b.seconds / l.seconds:.2f}x | "
                     f"{b.final_size / 2**20:.1f} MiB | {l.final_size / 2**20:.1f} MiB | {l.final_size / b.final_size:.2f}x |")
    for writers in WRITERS:
        lines += ["", f"Per million rows ingested, {writers} writer(s): lookup latency in ms (p50 / p99) and index size "
                  "at the window's end.", "",
                  "| millions | btree one-row | learned one-row | p99 ratio | btree 1,000-row | learned 1,000-row | p99 ratio | size ratio |",
                  "|---|---|---|---|---|---|---|---|"]
        bw, lw = windows(results[("btree", writers)]), windows(results[("learned", writers)])
        for (m, bs, bsize), (_, ls, lsize) in zip(bw, lw):
            lines.append(f"| {m} | {bs['point'][0]:.3f} / {bs['point'][1]:.3f} | {ls['point'][0]:.3f} / {ls['point'][1]:.3f} | "
                         f"{ls['point'][1] / bs['point'][1]:.2f}x | {bs['range'][0]:.3f} / {bs['range'][1]:.3f} | "
                         f"{ls['range'][0]:.3f} / {ls['range'][1]:.3f} | {ls['range'][1] / bs['range'][1]:.2f}x | "
                         f"{lsize / bsize:.2f}x |")
    build, extend = extend_figures()
    print(f"extend: build {build:.3f} s, 100,000 in-order keys {extend:.3f} s", flush=True)
    lines += ["", f"Extending a {ROWS:,}-entry cold run by 100,000 in-order keys (`learned_merge`, merges on insert off; "
              f"median of 3): {extend * 1000:.1f} ms against {build * 1000:.0f} ms for a full CREATE INDEX "
              f"({extend / build * 100:.1f}%)."]
    wal = wal_figures()
    print(f"WAL bytes a row: {wal}", flush=True)
    lines += ["", f"WAL bytes the index adds per row (1,000,000 rows in batches of {BATCH:,}, one writer, "
              f"pg_current_wal_lsn before and after, less the heap's own): btree {wal['btree']:.1f}, learned "
              f"{wal['learned']:.1f} ({wal['learned'] / wal['btree']:.2f}x; merges included)."]
    tpcb = tpcb_figures()
    lines += ["", f"pgbench TPC-B-like, scale {SCALE} (`pgbench -i -I dtg`, then an index on each aid, bid, tid), "
              f"2 clients, median of 3 runs of {TPCB_SECONDS} s: btree {tpcb['btree'][0]:,.0f} TPS, learned "
              f"{tpcb['learned'][0]:,.0f} TPS ({tpcb['learned'][0] / tpcb['btree'][0]:.2f}x); sum(abalance) = sum(delta): "
              f"btree {tpcb['btree'][2]}, learned {tpcb['learned'][2]}. Runs: btree {tpcb['btree'][1]}, learned {tpcb['learned'][1]}."]
    lines += ["", "![continuous ingest](bench-ingest.png)"]
    section = "\n".join(lines)

    path = "docs/benchmarks.md"
    text = open(path).read()
    begin, end = "<!-- bench-ingest -->", "<!-- /bench-ingest -->"
    block = f"{begin}\n{section}\n{end}"
    if begin in text:
        text = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n## Continuous ingest: learned against btree (make bench-ingest)\n\n" + block + "\n"
    open(path, "w").write(text)
    print(section)

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing: no chart", file=sys.stderr)
        return
    fig, axes = plt.subplots(len(WRITERS), 2, figsize=(11, 3.6 * len(WRITERS)), squeeze=False)
    for row, writers in enumerate(WRITERS):
        for kind, style in (("btree", "--"), ("learned", "-")):
            w = windows(results[(kind, writers)])
            ms = [m for m, _, _ in w]
            axes[row][0].plot(ms, [s["point"][1] for _, s, _ in w], style, label=f"{kind} one-row p99")
            axes[row][0].plot(ms, [s["range"][1] for _, s, _ in w], style, label=f"{kind} 1,000-row p99", alpha=0.6)
            axes[row][1].plot(ms, [size / 2**20 for _, _, size in w], style, label=kind)
        axes[row][0].set(title=f"lookup p99 during ingest, {writers} writer(s)", xlabel="million rows ingested", ylabel="ms")
        axes[row][1].set(title=f"index size, {writers} writer(s)", xlabel="million rows ingested", ylabel="MiB")
        axes[row][0].legend(fontsize=7)
        axes[row][1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig("docs/bench-ingest.png", dpi=90)


if __name__ == "__main__":
    main()
