#!/usr/bin/env python3
"""DuckDB as the second live oracle of the sqllogictest corpus (Tests/sql/*.test).

Replays each file in a fresh in-memory DuckDB: every `statement ok` record runs (one that DuckDB refuses
fails the run unless its header says `noduckdb`), and every query whose header says `duckdb` must give the
expected rows, as Tests/OmenEngineTests/SQLLogicTests.swift formats them. `statement error` records are
skipped: OmenDB refuses them and so they change nothing, while DuckDB accepts some that PostgreSQL refuses
(1 % 0, UPDATE of a key, a table without one). Other queries are not run: SQLite checks those not marked
`nosqlite` (in the Swift test), and the rest are hand-checked. The summary counts each kind.

Run: python Tests/sql/duckdb_check.py [FILE.test ...]   (every .test beside this script by default;
`make test-sql-duckdb` runs it with DuckDB from PyPI in .build/venv)
"""
import datetime
import decimal
import glob
import math
import os
import sys
import uuid

import duckdb

# PostgreSQL's semantics, which the corpus's expected rows follow, where DuckDB's defaults differ.
SETTINGS = [
    "SET integer_division = true",  # 7 / 2 is 3
    "SET default_null_order = 'nulls_last_on_asc_first_on_desc'",  # NULL sorts above every value
    "SET TimeZone = 'UTC'",  # now() and any timestamptz render as the engine's UTC timestamps
]


COUNTS = ("queries", "sqlite", "duckdb", "hand", "passed")


def parse(text):
    """The records of a .test file, as the Swift test reads them: (kind, header words, sql, rows, line)."""
    records = []
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        header = [word for word in lines[index].split(" ") if word]
        index += 1
        if not header or header[0] not in ("statement", "query"):
            continue
        line = index  # the header's 1-based line number, as the Swift test reports it
        sql = []
        while index < len(lines) and lines[index] and lines[index] != "----":
            sql.append(lines[index])
            index += 1
        expected = []
        if index < len(lines) and lines[index] == "----":
            index += 1
            while index < len(lines) and lines[index]:
                expected.append(lines[index])
                index += 1
        kind = "error" if header[0] == "statement" and header[1:2] == ["error"] else header[0]
        records.append((kind, header, "\n".join(sql), expected, line))
    return records


def format_double(x):
    """Evaluate.formatDouble: Swift's shortest round-trip text, integral values under 1e15 as integers."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == round(x) and abs(x) < 1e15:
        return str(int(x))
    if 2 ** 53 < abs(x) < 1e16:
        # The one range where Swift writes an exponent and Python's repr does not (9.1e+15 against
        # 9100000000000000.0); the doubles there are integers with 16 digits, exponent 15.
        digits = repr(abs(x))[:-2].rstrip("0")
        return ("-" if x < 0 else "") + digits[0] + ("." + digits[1:] if digits[1:] else "") + "e+15"
    return repr(x)


def render(value):
    """One value as the corpus writes it (Evaluate.text, NULL as NULL)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (float, decimal.Decimal)):
        # DuckDB reads 2.5 as DECIMAL where OmenDB reads a double: both print as the double.
        return format_double(float(value))
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        text = f"{value.year:04d}-{value.month:02d}-{value.day:02d} {value:%H:%M:%S}"
        return text + (f".{value.microsecond:06d}".rstrip("0") if value.microsecond else "")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, (str, uuid.UUID)):
        return str(value)
    raise TypeError(f"no corpus form for {type(value).__name__} {value!r}")


def first_line(error):
    return str(error).split("\n", 1)[0]


def check(path):
    """Replays one file; returns (counts by oracle, failures as 'file:line: message')."""
    name = os.path.basename(path)
    with open(path, encoding="utf-8") as file:
        records = parse(file.read())
    counts = dict.fromkeys(COUNTS, 0)
    failures = []
    connection = duckdb.connect()
    for setting in SETTINGS:
        connection.execute(setting)
    for kind, header, sql, expected, line in records:
        location = f"{name}:{line}"
        if kind == "statement":
            if "noduckdb" not in header:
                try:
                    connection.execute(sql)
                except duckdb.Error as error:
                    failures.append(f"{location}: DuckDB refused the statement ({first_line(error)}); mark it noduckdb")
            continue
        if kind != "query":
            continue
        counts["queries"] += 1
        counts["sqlite"] += "nosqlite" not in header
        if "duckdb" not in header:
            counts["hand"] += "nosqlite" in header
            continue
        counts["duckdb"] += 1
        try:
            rows = ["|".join(map(render, row)) for row in connection.execute(sql).fetchall()]
        except (duckdb.Error, TypeError) as error:
            failures.append(f"{location}: DuckDB: {first_line(error)}")
            continue
        if "rowsort" in header:
            rows.sort()
        if rows == expected:
            counts["passed"] += 1
        else:
            failures.append(f"{location}: DuckDB gave {rows}, the corpus expects {expected}")
    connection.close()
    return counts, failures


def main(paths):
    here = os.path.dirname(os.path.abspath(__file__))
    totals = dict.fromkeys(COUNTS, 0)
    failures = []
    for path in paths or sorted(glob.glob(os.path.join(here, "*.test"))):
        counts, found = check(path)
        failures += found
        for key in totals:
            totals[key] += counts[key]
    for failure in failures:
        print(failure)
    print(f"corpus: {totals['queries']} queries; checked live by SQLite {totals['sqlite']}, by DuckDB "
          f"{duckdb.__version__} {totals['duckdb']}, hand-checked only {totals['hand']}")
    print(f"duckdb: {totals['passed']} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
