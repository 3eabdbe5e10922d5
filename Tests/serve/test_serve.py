#!/usr/bin/env python3
"""`omendb serve` against real PostgreSQL clients on loopback: psql (-c, -f, \\copy, \\d), psycopg 3
(server-side parameters, binary results, COPY, transactions, errors, cancel), asyncpg (prepared
statements, the binary protocol) and pgbench (custom scripts in simple, extended and prepared mode, several
clients); every answer compared with the same statement run embedded (`omendb --read-only --csv`, beside
the server). Then the bounds (connection limit, idle timeout, statement memory), a protocol fuzzer
(OMEN_SERVE_FUZZ messages, 3,000 by default: no crash, other connections unaffected), kill -9 under a
pgbench load (every acknowledged commit present after restart), SCRAM-SHA-256 with a password file, TLS
with a certificate openssl makes, and SIGTERM (open transactions roll back).
Usage: test_serve.py path/to/omendb [python with psycopg and asyncpg]
"""
import asyncio
import csv
import datetime
import io
import json
import math
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import asyncpg
import psycopg

binary = os.path.abspath(sys.argv[1])
work = tempfile.mkdtemp(prefix="omendb-serve-")
FUZZ = int(os.environ.get("OMEN_SERVE_FUZZ", "3000"))
passed = 0
failed = 0


def check(name, condition, detail=""):
    global passed, failed
    if condition:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name}: {detail}", flush=True)


class Server:
    """One `omendb serve` process on a free loopback port."""

    def __init__(self, db, *options):
        self.db = db
        self.process = subprocess.Popen([binary, "serve", "--db", db, "--listen", "127.0.0.1:0", *options],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        if " on 127.0.0.1:" not in line:
            raise RuntimeError(f"server did not start: {line!r} {self.process.stderr.read()}")
        self.port = int(line.rsplit(":", 1)[1])
        self.dsn = f"host=127.0.0.1 port={self.port} user=tester dbname=omendb"

    def connect(self, **options):
        return psycopg.connect(self.dsn, autocommit=True, **options)

    def stop(self, sig=signal.SIGTERM, timeout=30):
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return None

    def alive(self):
        return self.process.poll() is None


def embedded(db, sql):
    """The rows `sql` returns run embedded, each value as the engine's text output shows it (NULL: None)."""
    out = subprocess.run([binary, "--db", db, "--read-only", "--json", "-c", sql], capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError(f"embedded {sql!r}: {out.stderr}")
    return [[as_text(value) for value in row.values()] for row in json.loads(out.stdout)]


def as_text(value):
    """A Python value as the engine's text output shows it."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        if value == int(value) and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime.datetime):
        text = value.strftime("%Y-%m-%d %H:%M:%S")
        return text + (f".{value.microsecond:06d}".rstrip("0") if value.microsecond else "")
    return str(value)


def same_as_embedded(name, db, sql, rows):
    expected = embedded(db, sql)
    got = [[as_text(value) for value in row] for row in rows]
    check(name, got == expected, f"{sql}\n server:   {got[:5]}\n embedded: {expected[:5]}")


def psql(server, *args, stdin=None):
    env = dict(os.environ, PGHOST="127.0.0.1", PGPORT=str(server.port), PGUSER="tester", PGDATABASE="omendb")
    return subprocess.run(["psql", "-X", *args], input=stdin, capture_output=True, text=True, env=env, timeout=60)


# MARK: psql

def test_psql(server):
    out = psql(server, "-c", "CREATE TABLE readings (id bigint PRIMARY KEY, device bigint, ts timestamp, value double precision, note text)")
    check("psql create", out.returncode == 0 and "CREATE TABLE" in out.stdout, out.stderr)
    script = os.path.join(work, "load.sql")
    with open(script, "w") as f:
        f.write("BEGIN;\n")
        for i in range(1, 501):
            note = "NULL" if i % 7 == 0 else f"'n{i}, \"q\"'"
            f.write(f"INSERT INTO readings VALUES ({i}, {i % 10}, timestamp '2024-01-01' + interval '{i} minutes', {i * 0.25}, {note});\n")
        f.write("COMMIT;\n")
    out = psql(server, "-q", "-v", "ON_ERROR_STOP=1", "-f", script)
    check("psql -f", out.returncode == 0, out.stderr)
    out = psql(server, "-At", "-c", "SELECT count(*), sum(value) FROM readings")
    check("psql -At", out.stdout.strip() == "500|31312.5", out.stdout)
    data = os.path.join(work, "more.csv")
    with open(data, "w") as f:
        for i in range(501, 2001):
            f.write(f"{i},{i % 10},2024-02-01 00:00:00,{i}.5,copied\n")
    out = psql(server, "-c", f"\\copy readings FROM '{data}' WITH (FORMAT csv)")
    check("psql \\copy from", out.returncode == 0 and "COPY 1500" in out.stdout, out.stdout + out.stderr)
    exported = os.path.join(work, "out.csv")
    out = psql(server, "-c", f"\\copy readings TO '{exported}' WITH (FORMAT csv)")
    with open(exported) as f:
        lines = f.read().splitlines()
    check("psql \\copy to", out.returncode == 0 and len(lines) == 2000 and lines[0].startswith("1,1,2024-01-01 00:01:00,0.25,"),
          out.stderr + repr(lines[:2]))
    # One simple query of several statements is one transaction, as in PostgreSQL: a failure undoes them all.
    out = psql(server, "-c", "INSERT INTO readings (id) VALUES (4001); INSERT INTO readings (id) VALUES (4002), (4001)")
    check("psql -c: a failing multi-statement query errs", out.returncode != 0 and "23505" not in out.stdout and "duplicate" in out.stderr, out.stderr)
    out = psql(server, "-At", "-c", "SELECT count(*) FROM readings WHERE id > 4000")
    check("psql -c: a failing multi-statement query rolls back whole", out.stdout.strip() == "0", out.stdout)
    out = psql(server, "-At", "-c", "INSERT INTO readings (id) VALUES (4001); SELECT count(*) FROM readings WHERE id > 4000; DELETE FROM readings WHERE id > 4000")
    check("psql -c: a multi-statement query sees its own writes", out.returncode == 0 and out.stdout == "INSERT 0 1\n1\nDELETE 1\n", out.stdout + out.stderr)
    out = psql(server, "-At", "-c", "BEGIN; INSERT INTO readings (id) VALUES (4003); COMMIT; SELECT count(*) FROM readings WHERE id = 4003")
    check("psql -c: explicit BEGIN/COMMIT inside one query", out.returncode == 0 and out.stdout.split()[-1:] == ["1"], out.stdout + out.stderr)
    psql(server, "-c", "DELETE FROM readings WHERE id > 4000")
    tsv = os.path.join(work, "more.tsv")
    with open(tsv, "w") as f:
        f.write("3001\t1\t2024-03-01 00:00:00\t\\N\ttab\\there\n3002\t\\N\t\\N\t2.5\t\\\\N and \\101\\x42\n\\.\n")
    out = psql(server, "-c", f"\\copy readings FROM '{tsv}'")
    check("psql \\copy from, text format", out.returncode == 0 and "COPY 2" in out.stdout, out.stdout + out.stderr)
    out = psql(server, "-At", "-F", "|", "-c", "SELECT id, device IS NULL, value IS NULL, note FROM readings WHERE id > 3000 ORDER BY id")
    check("psql \\copy text: NULLs and escapes", out.stdout == "3001|f|t|tab\there\n3002|t|f|\\N and AB\n", repr(out.stdout))
    out = psql(server, "-c", "\\copy (SELECT 1) TO STDOUT")
    check("psql \\copy of a query is refused clearly", out.returncode != 0 and "ERROR" in out.stderr, out.stderr)
    exported = os.path.join(work, "out.tsv")
    out = psql(server, "-c", f"\\copy readings TO '{exported}'")
    with open(exported) as f:
        lines = f.read().splitlines()
    check("psql \\copy to, text format", out.returncode == 0 and lines[-1] == "3002\t\\N\t\\N\t2.5\t\\\\N and AB", repr(lines[-2:]))
    psql(server, "-c", "DELETE FROM readings WHERE id > 3000")
    out = psql(server, "-c", "\\d readings")
    check("psql \\d table", 'Table "public.readings"' in out.stdout and "timestamp without time zone" in out.stdout
          and '"readings_pkey" PRIMARY KEY, learned (id)' in out.stdout, out.stdout + out.stderr)
    out = psql(server, "-c", "\\dt")
    check("psql \\dt", "readings | table" in out.stdout, out.stdout + out.stderr)
    out = psql(server, "-v", "ON_ERROR_STOP=1", "-c", "SELECT nosuch FROM readings")
    check("psql error", out.returncode == 1 and 'column "nosuch" does not exist' in out.stderr and "LINE 1: SELECT nosuch" in out.stderr,
          out.stderr)
    out = psql(server, "-c", "\\set VERBOSITY verbose", "-c", "SELECT 1/0")
    check("psql SQLSTATE", "ERROR:  22012: division by zero" in out.stderr, out.stderr)
    out = psql(server, "-At", "-c", "SHOW server_version", "-c", "SET application_name = 'x'", "-c", "SELECT version()")
    check("psql SHOW and version()", "15.0 (OmenDB" in out.stdout and "PostgreSQL 15.0" in out.stdout, out.stdout + out.stderr)
    for sql in ["SELECT * FROM readings WHERE id BETWEEN 490 AND 510 ORDER BY id",
                "SELECT device, count(*), min(ts), max(value) FROM readings GROUP BY device ORDER BY device"]:
        out = psql(server, "--csv", "-c", sql)
        rows = [[None if field == "" else field for field in row] for row in list(csv.reader(io.StringIO(out.stdout)))[1:]]
        check(f"psql answer {sql}", rows == [[None if v in (None, "") else v for v in row] for row in embedded(server.db, sql)], out.stdout[:300])


# MARK: psycopg

def test_psycopg(server):
    db = server.db
    with server.connect() as conn:
        conn.execute("CREATE TABLE kinds (k bigint PRIMARY KEY, d double precision, t text, b boolean, ts timestamp, dt date, iv interval, u uuid)")
        values = [
            (1, 0.0, "", True, datetime.datetime(2000, 1, 1), datetime.date(2000, 1, 1), datetime.timedelta(0), uuid.UUID(int=0)),
            (2, -0.0, "ünïcødé ✓", False, datetime.datetime(1999, 12, 31, 23, 59, 59, 999999), datetime.date(1970, 1, 1),
             datetime.timedelta(days=-3, microseconds=5), uuid.UUID("ffffffff-ffff-ffff-ffff-ffffffffffff")),
            (3, float("inf"), "tab\tquote'\"", None, None, None, None, None),
            (4, float("-inf"), None, True, datetime.datetime(2262, 4, 11, 23, 47, 16), datetime.date(9999, 12, 31),
             datetime.timedelta(days=400, seconds=3661), uuid.uuid4()),
            (5, float("nan"), "x" * 10000, False, datetime.datetime(1, 1, 1), datetime.date(1, 1, 1), datetime.timedelta(seconds=1), uuid.uuid4()),
            (-9223372036854775808, 1e-300, "min", True, None, None, None, None),
            (9223372036854775807, 1.7976931348623157e308, "max", False, None, None, None, None),
        ]
        for row in values:
            conn.execute("INSERT INTO kinds VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", row)
        for binary_results in (False, True):
            got = conn.execute("SELECT * FROM kinds ORDER BY k", binary=binary_results).fetchall()
            same = len(got) == len(values)
            for g, v in zip(got, sorted(values, key=lambda r: r[0])):
                for a, b in zip(g, v):
                    if isinstance(b, float) and math.isnan(b):
                        same = same and isinstance(a, float) and math.isnan(a)
                    elif isinstance(b, float) and b == 0:
                        same = same and a == 0 and math.copysign(1, a) == math.copysign(1, b)
                    else:
                        same = same and a == b
            check(f"psycopg round trip (binary={binary_results})", same, f"{got}")
        rows = conn.execute("SELECT k, d, t, b FROM kinds WHERE k >= %s AND k < %s ORDER BY k", (-1, 4)).fetchall()
        check("psycopg parameters", [r[0] for r in rows] == [1, 2, 3], rows)
        same_as_embedded("psycopg vs embedded", db, "SELECT k, t, b, dt, u FROM kinds WHERE k > 0 AND k < 5 ORDER BY k",
                         conn.execute("SELECT k, t, b, dt, u FROM kinds WHERE k > 0 AND k < 5 ORDER BY k").fetchall())
        check("psycopg text parameter", conn.execute("SELECT k FROM kinds WHERE t = %s", ("min",)).fetchone() == (-9223372036854775808,))
        check("psycopg NULL parameter", conn.execute("SELECT count(*) FROM kinds WHERE t = %s", (None,)).fetchone() == (0,))
        for i in range(10):
            row = conn.execute("SELECT t FROM kinds WHERE k = %s", (i % 3 + 1,), prepare=True).fetchone()
        check("psycopg prepared", row == ("",), row)

        # COPY in and out, CSV.
        conn.execute("CREATE TABLE copied (k bigint PRIMARY KEY, v text)")
        with conn.cursor() as cur:
            with cur.copy("COPY copied FROM STDIN WITH (FORMAT csv)") as copy:
                for i in range(5000):
                    copy.write(f"{i},\"v,{i}\"\n")
            check("psycopg COPY FROM rowcount", cur.rowcount == 5000, cur.rowcount)
            out = bytearray()
            with cur.copy("COPY copied TO STDOUT WITH (FORMAT csv)") as copy:
                for block in copy:
                    out += block
            lines = out.decode().splitlines()
            check("psycopg COPY TO", len(lines) == 5000 and lines[1] == '1,"v,1"', lines[:2])
        # COPY in and out, text (PostgreSQL's default format, which write_row and rows() speak).
        conn.execute("CREATE TABLE texts (k bigint PRIMARY KEY, v text, d double precision, ts timestamp)")
        tricky = ["tab\there", "line\nbreak", "cr\rreturn", "back\\slash", '"quoted", comma', "", "\\N", "naïve ✓", " spaced "]
        rows = [(i, tricky[i % len(tricky)] if i % 7 else None, i / 4 if i % 5 else None,
                 datetime.datetime(2024, 3, 1) + datetime.timedelta(seconds=i) if i % 3 else None) for i in range(300)]
        with conn.cursor() as cur:
            with cur.copy("COPY texts FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            check("psycopg COPY FROM text rowcount", cur.rowcount == 300, cur.rowcount)
            back = conn.execute("SELECT k, v, d, ts FROM texts ORDER BY k").fetchall()
            check("psycopg COPY FROM text: the values written", back == rows, [(a, b) for a, b in zip(back, rows) if a != b][:3])
            with cur.copy("COPY texts TO STDOUT") as copy:
                copy.set_types(["int8", "text", "float8", "timestamp"])
                out_rows = list(copy.rows())
            check("psycopg COPY TO text: rows() reads them back", out_rows == rows, [(a, b) for a, b in zip(out_rows, rows) if a != b][:3])
        same_as_embedded("COPY text vs embedded", server.db, "SELECT k, v, d FROM texts ORDER BY k",
                         conn.execute("SELECT k, v, d FROM texts ORDER BY k").fetchall())
        try:
            with conn.cursor() as cur:
                with cur.copy("COPY copied FROM STDIN WITH (FORMAT csv)") as copy:
                    copy.write("90000,a\n")
                    raise ValueError("client gives up")
        except ValueError:
            pass
        check("psycopg COPY aborted", conn.execute("SELECT count(*) FROM copied WHERE k = 90000").fetchone() == (0,))
        try:
            with conn.cursor() as cur:
                with cur.copy("COPY copied FROM STDIN WITH (FORMAT csv)") as copy:
                    copy.write("1,duplicate\n")
            check("psycopg COPY duplicate", False, "no error")
        except psycopg.errors.UniqueViolation:
            check("psycopg COPY duplicate", conn.execute("SELECT v FROM copied WHERE k = 1").fetchone() == ("v,1",))

        # Transactions: commit, rollback, an error aborts the transaction, snapshot isolation, 40001.
        with conn.transaction():
            conn.execute("INSERT INTO copied VALUES (%s, %s)", (100000, "kept"))
        try:
            with conn.transaction():
                conn.execute("INSERT INTO copied VALUES (%s, %s)", (100001, "rolled back"))
                raise ValueError
        except ValueError:
            pass
        check("psycopg commit and rollback", conn.execute("SELECT k FROM copied WHERE k >= 100000 ORDER BY k").fetchall() == [(100000,)])
        conn.execute("BEGIN")
        try:
            conn.execute("SELECT 1/0")
        except psycopg.errors.DivisionByZero:
            pass
        try:
            conn.execute("SELECT 1")
            check("psycopg aborted transaction", False, "statement ran")
        except psycopg.errors.InFailedSqlTransaction:
            check("psycopg aborted transaction", conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR)
        conn.execute("ROLLBACK")
        with server.connect() as other:
            conn.execute("BEGIN")
            before = conn.execute("SELECT count(*) FROM copied").fetchone()
            other.execute("INSERT INTO copied VALUES (200000, 'concurrent')")
            check("psycopg snapshot", conn.execute("SELECT count(*) FROM copied").fetchone() == before)
            conn.execute("UPDATE copied SET v = 'a' WHERE k = 5")
            other.execute("BEGIN")
            try:
                other.execute("UPDATE copied SET v = 'b' WHERE k = 5")
                conn.execute("COMMIT")
                other.execute("COMMIT")
                check("psycopg write conflict", False, "both committed")
            except psycopg.errors.SerializationFailure as error:
                check("psycopg write conflict", error.sqlstate == "40001")
                other.execute("ROLLBACK")
                if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                    conn.execute("COMMIT")
        # Errors carry the SQLSTATE, position and hint.
        for sql, state in [("SELECT * FROM nosuch", "42P01"), ("INSERT INTO copied VALUES (1, 'x')", "23505"),
                           ("SELEC 1", "42601"), ("SELECT k FROM copied WHERE k = 'abc'", None)]:
            try:
                conn.execute(sql)
                check(f"psycopg error {sql}", state is None)
            except psycopg.Error as error:
                check(f"psycopg error {sql}", state is None or error.sqlstate == state, f"{error.sqlstate} {error}")
        try:
            conn.execute("SELECT nosuch FROM copied")
        except psycopg.Error as error:
            check("psycopg error position", error.diag.statement_position == "8", error.diag.statement_position)
        try:
            conn.execute("INSERT INTO copied VALUES (%s, %s)", ("not a number", "x"))
            check("psycopg bad parameter", False, "accepted")
        except psycopg.Error as error:
            check("psycopg bad parameter", error.sqlstate == "22P02", error.sqlstate)
        check("psycopg usable after errors", conn.execute("SELECT count(*) FROM copied").fetchone()[0] >= 5000)

        # Cancel: a long statement stops with 57014; the connection goes on.
        conn.execute("CREATE TABLE big (k bigint PRIMARY KEY)")
        with conn.cursor() as cur:
            with cur.copy("COPY big FROM STDIN WITH (FORMAT csv)") as copy:
                copy.write("".join(f"{i}\n" for i in range(3000)))
        timer = threading.Timer(0.5, conn.cancel)
        timer.start()
        started = time.time()
        try:
            conn.execute("SELECT count(*) FROM big a, big b, big c")
            check("psycopg cancel", False, "finished")
        except psycopg.errors.QueryCanceled:
            check("psycopg cancel", time.time() - started < 20)
        check("psycopg after cancel", conn.execute("SELECT count(*) FROM big").fetchone() == (3000,))


# MARK: asyncpg

def test_asyncpg(server):
    async def main():
        conn = await asyncpg.connect(host="127.0.0.1", port=server.port, user="tester", database="omendb")
        await conn.execute("CREATE TABLE series (ts timestamp PRIMARY KEY, device bigint, value double precision, tag text, id uuid)")
        start = datetime.datetime(2024, 3, 1)
        rows = [(start + datetime.timedelta(seconds=i), i % 5, i / 8, None if i % 11 == 0 else f"t{i}", uuid.UUID(int=i)) for i in range(2000)]
        await conn.executemany("INSERT INTO series VALUES ($1, $2, $3, $4, $5)", rows)
        statement = await conn.prepare("SELECT ts, device, value, tag, id FROM series WHERE ts >= $1 AND ts < $2 ORDER BY ts")
        types = [attribute.type.name for attribute in statement.get_attributes()]
        check("asyncpg described types", types == ["timestamp", "int8", "float8", "text", "uuid"], types)
        got = await statement.fetch(start + datetime.timedelta(seconds=100), start + datetime.timedelta(seconds=200))
        check("asyncpg prepared range", [tuple(r) for r in got] == rows[100:200], got[:2])
        same_as_embedded("asyncpg vs embedded", server.db,
                         "SELECT device, count(*), sum(value) FROM series GROUP BY device ORDER BY device",
                         [tuple(r) for r in await conn.fetch("SELECT device, count(*), sum(value) FROM series GROUP BY device ORDER BY device")])
        check("asyncpg fetchval", await conn.fetchval("SELECT count(*) FROM series WHERE tag IS NULL") == 182)
        check("asyncpg parameter types", await conn.fetchval("SELECT value FROM series WHERE id = $1", uuid.UUID(int=16)) == 2.0)
        async with conn.transaction():
            await conn.execute("UPDATE series SET value = $1 WHERE device = $2", -1.5, 3)
        check("asyncpg transaction", await conn.fetchval("SELECT count(*) FROM series WHERE value = $1", -1.5) == 400)
        try:
            async with conn.transaction():
                await conn.execute("DELETE FROM series WHERE device = 4")
                await conn.execute("INSERT INTO series VALUES ($1, 1, 1, 'dup', NULL)", start)
        except asyncpg.UniqueViolationError:
            pass
        check("asyncpg rollback", await conn.fetchval("SELECT count(*) FROM series WHERE device = 4") == 400)
        cursor_rows = []
        async with conn.transaction():
            async for record in conn.cursor("SELECT device FROM series WHERE device = $1", 1, prefetch=64):
                cursor_rows.append(record[0])
        check("asyncpg cursor (portal suspended)", cursor_rows == [1] * 400, len(cursor_rows))
        try:
            await conn.fetch("SELECT * FROM series WHERE ts = $1", "not a timestamp")
            check("asyncpg bad argument", False, "accepted")
        except (asyncpg.DataError, TypeError, ValueError):
            check("asyncpg bad argument", True)
        await conn.close()
    asyncio.run(main())


# MARK: pgbench

def test_pgbench(server):
    with server.connect() as conn:
        conn.execute("CREATE TABLE bench (k bigint PRIMARY KEY, v text)")
        with conn.cursor() as cur:
            with cur.copy("COPY bench FROM STDIN WITH (FORMAT csv)") as copy:
                copy.write("".join(f"{i},v{i}\n" for i in range(1, 10001)))
    lookup = os.path.join(work, "lookup.sql")
    with open(lookup, "w") as f:
        f.write("\\set k random(1, 10000)\nSELECT v FROM bench WHERE k = :k;\n")
    insert = os.path.join(work, "insert.sql")
    with open(insert, "w") as f:
        f.write("\\set k random(20000, 1000000000000)\nBEGIN;\nINSERT INTO bench VALUES (:k, 'new') ON CONFLICT (k) DO NOTHING;\n"
                "SELECT count(*) FROM bench WHERE k = :k;\nCOMMIT;\n")
    env = dict(os.environ, PGHOST="127.0.0.1", PGPORT=str(server.port), PGUSER="tester")
    for mode in ("simple", "extended", "prepared"):
        for script in (lookup, insert):
            out = subprocess.run(["pgbench", "-n", "-M", mode, "-c", "4", "-j", "2", "-t", "200", "-f", script, "omendb"],
                                 capture_output=True, text=True, env=env, timeout=120)
            check(f"pgbench {mode} {os.path.basename(script)}",
                  out.returncode == 0 and "number of transactions actually processed: 800/800" in out.stdout and "failed transactions: 0 " in out.stdout,
                  out.stdout[-400:] + out.stderr[-400:])
    with server.connect() as conn:
        inserted = conn.execute("SELECT count(*) FROM bench WHERE k >= 20000").fetchone()[0]
    check("pgbench inserts", 2300 <= inserted <= 2400, inserted)
    same_as_embedded("pgbench vs embedded", server.db, "SELECT count(*), min(k), max(k) FROM bench",
                     server.connect().execute("SELECT count(*), min(k), max(k) FROM bench").fetchall())


# MARK: Catalog queries of psycopg and Grafana

# The schema-constraint that Grafana's PostgreSQL data source puts into its table and column lists.
GRAFANA_SEARCH_PATH = """quote_ident(table_schema) IN (SELECT CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
  FROM generate_series(array_lower(string_to_array(current_setting('search_path'),','),1),
                       array_upper(string_to_array(current_setting('search_path'),','),1)) as i,
       string_to_array(current_setting('search_path'),',') s)"""


def test_catalog(server):
    from psycopg.types import TypeInfo
    with server.connect() as conn:
        for name, oid, array_oid in (("int8", 20, 1016), ("bigint", 20, 1016), ("uuid", 2950, 2951), ("timestamptz", 1184, 1185)):
            info = TypeInfo.fetch(conn, name)
            check(f"psycopg TypeInfo {name}", info is not None and (info.oid, info.array_oid) == (oid, array_oid), info and (info.oid, info.array_oid))
        check("psycopg TypeInfo of an unknown type is None", TypeInfo.fetch(conn, "hstore") is None)
        version = conn.execute("SELECT current_setting('server_version_num')::int/100 as version").fetchone()[0]
        check("Grafana: server version", version == 1500, version)
        check("Grafana: no timescaledb", conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'").fetchall() == [])
        schemata = conn.execute("""SELECT schema_name AS "name" FROM information_schema.schemata
            WHERE schema_name NOT IN ('information_schema', 'pg_catalog', 'pg_toast') ORDER BY schema_name""").fetchall()
        check("Grafana: schemas", schemata == [("public",)], schemata)
        cur = conn.execute(f"""SELECT CASE WHEN {GRAFANA_SEARCH_PATH} THEN quote_ident(table_name)
              ELSE quote_ident(table_schema) || '.' || quote_ident(table_name) END AS "table"
            FROM information_schema.tables WHERE quote_ident(table_schema) NOT IN ('information_schema', 'pg_catalog')
            ORDER BY CASE WHEN {GRAFANA_SEARCH_PATH} THEN 0 ELSE 1 END, 1""")
        listed = [row[0] for row in cur.fetchall()]
        check("Grafana: table list column", cur.description[0].name == "table", cur.description[0].name)
        check("Grafana: table list", "readings" in listed and listed == sorted(listed), listed)
        in_public = [row[0] for row in conn.execute("""SELECT quote_ident(table_name) AS "table" FROM information_schema.tables
            WHERE quote_ident(table_schema) = 'public' ORDER BY 1""").fetchall()]
        check("Grafana: tables of schema public", in_public == listed, in_public)
        elsewhere = conn.execute("""SELECT quote_ident(table_name) AS "table" FROM information_schema.tables
            WHERE quote_ident(table_schema) = 'other' ORDER BY 1""").fetchall()
        check("Grafana: tables of another schema", elsewhere == [], elsewhere)
        columns = conn.execute(f"""SELECT quote_ident(column_name) AS "column", data_type AS "type" FROM information_schema.columns
            WHERE CASE WHEN array_length(parse_ident('readings'),1) = 2
              THEN quote_ident(table_schema) = (parse_ident('readings'))[1] AND quote_ident(table_name) = (parse_ident('readings'))[2]
              ELSE quote_ident(table_name) = 'readings' AND {GRAFANA_SEARCH_PATH} END""").fetchall()
        expected = [("id", "bigint"), ("device", "bigint"), ("ts", "timestamp without time zone"), ("value", "double precision"), ("note", "text")]
        check("Grafana: columns of readings", columns == expected, columns)
        out = psql(server, "-Atc", "SELECT table_name FROM information_schema.tables WHERE table_name = 'readings'")
        check("psql: information_schema.tables", out.stdout.strip() == "readings", out.stdout + out.stderr)


# MARK: Bounds

def test_bounds(db):
    server = Server(db, "--max-connections", "3", "--idle-timeout", "2", "--statement-memory", "200000")
    try:
        conns = [server.connect() for _ in range(3)]
        try:
            server.connect()
            check("connection limit", False, "fourth connection accepted")
        except psycopg.OperationalError as error:
            check("connection limit", "too many clients" in str(error), str(error))
        for conn in conns:
            conn.close()
        time.sleep(0.3)
        with server.connect() as conn:
            try:
                conn.execute("SELECT * FROM bench")
                check("statement memory", False, "no error")
            except psycopg.Error as error:
                check("statement memory", error.sqlstate == "54000", error.sqlstate)
            check("statement memory then", conn.execute("SELECT count(*) FROM bench").fetchone()[0] > 10000)
            try:
                conn.execute("SELECT %s::text", ("x" * 300000,))
                check("message limit", False, "accepted")
            except psycopg.Error as error:
                check("message limit", "exceeds the limit" in str(error) or conn.closed, str(error))
        idle = server.connect()
        idle.execute("SELECT 1")
        time.sleep(3.5)
        try:
            idle.execute("SELECT 1")
            check("idle timeout", False, "still open")
        except psycopg.OperationalError:
            check("idle timeout", True)
        check("idle timeout then", server.connect().execute("SELECT 1").fetchone() == (1,))
    finally:
        server.stop()


# MARK: Fuzzer

def startup_packet():
    body = struct.pack("!i", 196608) + b"user\0fuzz\0database\0omendb\0\0"
    return struct.pack("!i", len(body) + 4) + body


def message(kind, body):
    return kind + struct.pack("!i", len(body) + 4) + body


def fuzz_case(rng):
    """A startup then malformed, truncated or random messages, or a malformed startup; and how many
    messages it holds."""
    choice = rng.randrange(10)
    valid = [message(b"Q", b"SELECT count(*) FROM bench\0"), message(b"P", b"s\0SELECT $1\0\0\0"),
             message(b"B", b"\0s\0\0\0\0\x01\0\0\0\x011\0\0"), message(b"E", b"\0\0\0\0\0"), message(b"S", b""),
             message(b"D", b"S\0"), message(b"H", b""), message(b"C", b"S\0\0"),
             message(b"P", b"n\0SELECT k FROM bench WHERE k = $1 OR v = $2\0" + struct.pack("!hii", 2, rng.choice([0, 20, 21, 23, 25, 700, 701, 1700, 2950, 1114, 1186]), 0)),
             message(b"B", b"\0n\0" + struct.pack("!hhh", 2, 1, rng.randrange(3)) + struct.pack("!h", 2)
                     + b"".join(struct.pack("!i", len(v)) + v for v in (bytes(rng.randrange(256) for _ in range(rng.choice([0, 1, 2, 4, 8, 10, 16, 30]))), b"x"))
                     + struct.pack("!hh", 1, rng.randrange(3))),
             message(b"Q", b"COPY bench FROM STDIN WITH (FORMAT csv)\0") + message(b"d", bytes(rng.choice(b"0123456789,\n\"ax") for _ in range(rng.randrange(60))))
             + message(rng.choice([b"c", b"f"]), b"oops\0")]
    if choice == 0:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64))), 1
    if choice == 1:
        packet = bytearray(startup_packet())
        packet[rng.randrange(len(packet))] = rng.randrange(256)
        return bytes(packet), 1
    stream = bytearray(startup_packet())
    count = rng.randrange(1, 6)
    for _ in range(count):
        piece = bytearray(rng.choice(valid))
        mutation = rng.randrange(6)
        if mutation == 0 and len(piece) > 5:
            piece[rng.randrange(len(piece))] = rng.randrange(256)
        elif mutation == 1:
            piece = piece[:rng.randrange(len(piece) + 1)]
        elif mutation == 2:
            piece[1:5] = struct.pack("!i", rng.choice([-1, 0, 3, 4, 5, 2**31 - 1, rng.randrange(1 << 20)]))
        elif mutation == 3:
            piece = bytearray([rng.randrange(256)]) + piece[1:]
        elif mutation == 4:
            piece = bytearray(message(bytes([rng.choice(b"QPBDESHCXdcfp")]), bytes(rng.randrange(256) for _ in range(rng.randrange(40)))))
        stream += piece
    return bytes(stream), count + 1


def test_fuzz(server):
    rng = random.Random(17)
    keeper = server.connect()
    sent = 0
    started = time.time()
    while sent < FUZZ:
        case, count = fuzz_case(rng)
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            try:
                sock.sendall(case)
                sock.shutdown(socket.SHUT_WR)
                while sock.recv(65536):
                    pass
            except (ConnectionResetError, BrokenPipeError, socket.timeout):
                pass
        sent += count
    check("fuzz: server alive", server.alive(), "server exited")
    check("fuzz: other connection unaffected", keeper.execute("SELECT count(*) FROM bench").fetchone()[0] > 10000)
    keeper.close()
    print(f"fuzz: {sent} messages in {time.time() - started:.1f} s", flush=True)


# MARK: kill -9 and SIGTERM

def test_kill(db):
    server = Server(db)
    with server.connect() as conn:
        conn.execute("CREATE TABLE acked (k bigint PRIMARY KEY, writer bigint)")
        conn.execute("CREATE TABLE bench (k bigint PRIMARY KEY, v text)")
    acknowledged = [[] for _ in range(3)]
    stop = threading.Event()

    def writer(number):
        try:
            with server.connect() as conn:
                k = number
                while not stop.is_set():
                    # Prepared (Bind, Execute, Sync only): the event loop runs the insert and the flusher
                    # thread acknowledges its commit; unprepared, a statement thread runs and waits.
                    conn.execute("INSERT INTO acked VALUES (%s, %s)", (k, number), prepare=number > 0)
                    acknowledged[number].append(k)
                    k += 3
        except psycopg.Error:
            pass

    env = dict(os.environ, PGHOST="127.0.0.1", PGPORT=str(server.port), PGUSER="tester")
    load = subprocess.Popen(["pgbench", "-n", "-M", "prepared", "-c", "4", "-T", "30", "-f", os.path.join(work, "insert.sql"), "omendb"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    time.sleep(2.5)
    server.process.kill()
    server.process.wait()
    stop.set()
    for thread in threads:
        thread.join()
    load.wait()
    server = Server(db)
    try:
        with server.connect() as conn:
            present = {k for (k,) in conn.execute("SELECT k FROM acked").fetchall()}
        lost = [k for keys in acknowledged for k in keys if k not in present]
        total = sum(len(keys) for keys in acknowledged)
        check("kill -9: every acknowledged commit present", total > 0 and not lost, f"{len(lost)} of {total} lost")
        same_as_embedded("kill -9: server vs embedded", db, "SELECT count(*), sum(k) FROM acked",
                         server.connect().execute("SELECT count(*), sum(k) FROM acked").fetchall())
    finally:
        server.stop()


def test_sigterm(db):
    server = Server(db)
    open_transaction = server.connect()
    open_transaction.execute("BEGIN")
    open_transaction.execute("INSERT INTO acked VALUES (-1, -1)")
    idle = server.connect()
    with server.connect() as conn:
        conn.execute("INSERT INTO acked VALUES (-2, -2)")
    status = server.stop(signal.SIGTERM)
    check("SIGTERM: clean exit", status == 0, status)
    for name, conn in (("open", open_transaction), ("idle", idle)):
        try:
            conn.execute("SELECT 1")
            check(f"SIGTERM: {name} connection closed", False, "still open")
        except psycopg.OperationalError as error:
            check(f"SIGTERM: {name} connection closed", "administrator command" in str(error) or conn.closed, str(error))
    rows = embedded(db, "SELECT k FROM acked WHERE k < 0 ORDER BY k")
    check("SIGTERM: committed kept, open transaction rolled back", rows == [["-2"]], rows)


# MARK: SCRAM-SHA-256

# What PostgreSQL 15 stored for `CREATE ROLE carol PASSWORD 'pencil'` (password_encryption scram-sha-256):
# a login with it shows that the verifiers are PostgreSQL's own.
POSTGRES_VERIFIER = ("SCRAM-SHA-256$4096:YiYamjoLkymS1wsqPj6eag==$czoY4kWm0ttTGHalDcjxsYwS2E9669opKtvs9gaq2sE="
                     ":dBra1gwWx74RUMKmQz9qMJP4MYpdq72Oo9z0/C5GmEA=")


def test_scram(db):
    passwords = os.path.join(work, "passwords")
    with open(passwords, "w") as file:
        file.write(f"# users\nalice:s3cret:with:colons\ncarol:{POSTGRES_VERIFIER}\n")
    server = Server(db, "--password-file", passwords)
    try:
        def attempt(user, password):
            try:
                with psycopg.connect(f"host=127.0.0.1 port={server.port} user={user} dbname=omendb", password=password) as conn:
                    return conn.execute("SELECT count(*) FROM readings").fetchone()[0]
            except psycopg.Error as error:
                return error.sqlstate or str(error)
        expected = int(embedded(db, "SELECT count(*) FROM readings")[0][0])
        check("SCRAM: plain password from the file", attempt("alice", "s3cret:with:colons") == expected)
        check("SCRAM: PostgreSQL's verifier", attempt("carol", "pencil") == expected)
        # libpq reports a failed connection without its SQLSTATE: the message here, the code by asyncpg below.
        check("SCRAM: wrong password refused", 'password authentication failed for user "alice"' in str(attempt("alice", "s3cret")))
        check("SCRAM: unknown user refused alike", 'password authentication failed for user "mallory"' in str(attempt("mallory", "pencil")))
        env = dict(os.environ, PGHOST="127.0.0.1", PGPORT=str(server.port), PGUSER="carol", PGDATABASE="omendb")
        out = subprocess.run(["psql", "-X", "-w", "-c", "SELECT 1"], capture_output=True, text=True, env=dict(env, PGPASSWORD=""), timeout=30)
        check("SCRAM: psql without a password is refused", out.returncode != 0 and "password" in out.stderr, out.stderr)
        out = subprocess.run(["psql", "-X", "-w", "-Atc", "SELECT 41 + 1"], capture_output=True, text=True, env=dict(env, PGPASSWORD="pencil"), timeout=30)
        check("SCRAM: psql with the password", out.stdout.strip() == "42", out.stderr)

        async def by_asyncpg():
            conn = await asyncpg.connect(host="127.0.0.1", port=server.port, user="alice", password="s3cret:with:colons", database="omendb")
            try:
                return await conn.fetchval("SELECT count(*) FROM readings")
            finally:
                await conn.close()
        check("SCRAM: asyncpg", asyncio.run(by_asyncpg()) == expected)

        async def refused_by_asyncpg(user, password):
            try:
                await asyncpg.connect(host="127.0.0.1", port=server.port, user=user, password=password, database="omendb")
                return "connected"
            except asyncpg.PostgresError as error:
                return error.sqlstate
        for user, password in (("alice", "wrong"), ("nobody", "pencil")):
            state = asyncio.run(refused_by_asyncpg(user, password))
            check(f"SCRAM: {user} with a wrong password is 28P01", state == "28P01", state)
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
            raw.sendall(startup_packet())
            reply = raw.recv(64)
            raw.sendall(message(b"p", b"SCRAM-SHA-256\0" + struct.pack("!i", 5) + b"n,,x="))
            answer = raw.recv(4096)
            check("SCRAM: a client-first without a nonce is an error", reply[:1] == b"R" and answer[:1] == b"E" and b"08P01" in answer, answer)
    finally:
        check("SCRAM: clean exit", server.stop() == 0)
    refused = subprocess.run([binary, "serve", "--db", db, "--listen", "0.0.0.0:0"], capture_output=True, text=True, timeout=30)
    check("trust on a non-loopback address is refused", refused.returncode != 0 and "--password-file" in refused.stderr, refused.stderr)
    with open(passwords, "w") as file:
        file.write("no colon here\n")
    bad = subprocess.run([binary, "serve", "--db", db, "--listen", "127.0.0.1:0", "--password-file", passwords], capture_output=True, text=True, timeout=30)
    check("a malformed password file is refused", bad.returncode != 0 and "line 1" in bad.stderr, bad.stderr)


# MARK: TLS

def test_tls(db):
    tls = os.path.join(work, "tls")
    os.makedirs(tls, exist_ok=True)
    cert, key = os.path.join(tls, "cert.pem"), os.path.join(tls, "key.pem")
    made = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
                           "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-days", "2", "-keyout", key, "-out", cert],
                          capture_output=True, text=True, timeout=60)
    check("TLS: a certificate made by openssl", made.returncode == 0, made.stderr)
    passwords = os.path.join(work, "tls-passwords")
    with open(passwords, "w") as file:
        file.write("alice:s3cret\n")
    server = Server(db, "--tls-cert", cert, "--tls-key", key, "--password-file", passwords)
    try:
        expected = int(embedded(db, "SELECT count(*) FROM readings")[0][0])
        env = dict(os.environ, PGPASSWORD="s3cret")
        dsn = f"host=localhost port={server.port} user=alice dbname=omendb sslmode=verify-full sslrootcert={cert}"
        out = subprocess.run(["psql", "-X", "-w", dsn, "-c", "\\conninfo", "-c", "SELECT count(*) FROM readings"],
                             capture_output=True, text=True, env=env, timeout=30)
        check("TLS: psql verify-full", out.returncode == 0 and "SSL connection (protocol: TLS" in out.stdout and f" {expected}\n" in out.stdout,
              out.stdout + out.stderr)
        with psycopg.connect(f"host=127.0.0.1 port={server.port} user=alice dbname=omendb sslmode=require", password="s3cret") as conn:
            check("TLS: psycopg sslmode=require", conn.pgconn.ssl_in_use and conn.execute("SELECT count(*) FROM readings").fetchone()[0] == expected)
        with psycopg.connect(f"host=127.0.0.1 port={server.port} user=alice dbname=omendb sslmode=disable", password="s3cret") as conn:
            check("TLS: a client that does not ask stays in the clear", not conn.pgconn.ssl_in_use)

        async def by_asyncpg():
            import ssl
            context = ssl.create_default_context(cafile=cert)
            conn = await asyncpg.connect(host="localhost", port=server.port, user="alice", password="s3cret", database="omendb", ssl=context)
            try:
                return await conn.fetchval("SELECT count(*) FROM readings")
            finally:
                await conn.close()
        check("TLS: asyncpg with a verified certificate", asyncio.run(by_asyncpg()) == expected)
        out = subprocess.run(["psql", "-X", "-w", dsn + " channel_binding=require", "-c", "SELECT 1"],
                             capture_output=True, text=True, env=env, timeout=30)
        check("TLS: channel binding is refused clearly", out.returncode != 0 and "channel binding" in out.stderr, out.stderr)
    finally:
        check("TLS: clean exit", server.stop() == 0)
    for name, args, says in (("a certificate without its key", ["--tls-cert", cert], "go together"),
                             ("a certificate as its own key", ["--tls-cert", cert, "--tls-key", cert], "--tls-key")):
        refused = subprocess.run([binary, "serve", "--db", db, "--listen", "127.0.0.1:0", *args], capture_output=True, text=True, timeout=30)
        check(f"TLS: {name} is refused", refused.returncode != 0 and says in refused.stderr, refused.stderr)


def main():
    db = os.path.join(work, "db")
    server = Server(db)
    try:
        for test in (test_psql, test_psycopg, test_catalog, test_asyncpg, test_pgbench, test_fuzz):
            started = time.time()
            try:
                test(server)
            except Exception as error:  # a test that throws fails, and the rest still run
                check(test.__name__, False, repr(error))
            print(f"{test.__name__}: {time.time() - started:.1f} s", flush=True)
            if not server.alive():
                check("server alive", False, server.process.stderr.read())
                server = Server(db)
    finally:
        status = server.stop()
    check("server shut down cleanly", status == 0, status)
    for test in (test_bounds, test_scram, test_tls, test_kill, test_sigterm):
        started = time.time()
        try:
            test(db if test in (test_bounds, test_scram, test_tls) else os.path.join(work, "crash"))
        except Exception as error:
            check(test.__name__, False, repr(error))
        print(f"{test.__name__}: {time.time() - started:.1f} s", flush=True)
    print(f"serve: {passed} passed, {failed} failed", flush=True)
    if failed == 0:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if failed else 0)


main()
