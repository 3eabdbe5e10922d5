#!/usr/bin/env python3
"""DuckDB's side of `omendb bench sql`, in process: the same rows and the same queries as OmenDB's.

Run by the Swift bench as: bench_sql_duckdb.py DIRECTORY RUNS, where DIRECTORY holds readings.csv (ts as
microseconds since the epoch, device, value: the rows OmenDB and SQLite load) and starts.txt (the one-hour
ranges' starts, microseconds). Loads them into DIRECTORY/duckdb.db (timed as ingest) and runs the hourly
rollup and the one-hour range aggregates RUNS times each. Prints one line per measure for the bench to read:
`name value...`, or `unavailable REASON` when there is no duckdb module (the bench then skips DuckDB).
"""
import datetime
import os
import sys
import time

try:
    import duckdb
except ImportError as error:
    print(f"unavailable {error}")
    sys.exit(0)

HOUR = 3_600_000_000
EPOCH = datetime.datetime(1970, 1, 1)
# OmenDB's queries, word for word: DuckDB's time_bucket takes the same INTERVAL and a TIMESTAMP.
ALL = ("SELECT time_bucket(INTERVAL '1 hour', ts) AS bucket, count(*), avg(value), min(value), max(value) "
       "FROM readings GROUP BY bucket ORDER BY bucket")
RANGE = ("SELECT time_bucket(INTERVAL '1 hour', ts) AS bucket, count(*), avg(value) FROM readings "
         "WHERE ts >= $1 AND ts < $2 GROUP BY bucket")


def timestamp(micros):
    return EPOCH + datetime.timedelta(microseconds=micros)


def hours(bucket):
    return (bucket - EPOCH) // datetime.timedelta(microseconds=HOUR)


def answer(rows):
    """The bench's checksum of a rollup (Answer in Bench.swift): groups, rows, Σ bucket in hours,
    Σ min + max (0 where absent), Σ avg, summed in the rows' order."""
    count, bucket_hours, extremes, average = 0, 0, 0.0, 0.0
    for row in rows:
        bucket_hours += hours(row[0])
        count += row[1]
        average += row[2]
        extremes += (row[3] + row[4]) if len(row) > 3 else 0.0
    return f"{len(rows)} {count} {bucket_hours} {extremes!r} {average!r}"


def main(directory, runs):
    with open(os.path.join(directory, "starts.txt"), encoding="ascii") as file:
        ranges = [(timestamp(int(start)), timestamp(int(start) + HOUR)) for start in file.read().split()]
    connection = duckdb.connect(os.path.join(directory, "duckdb.db"))
    clock = time.perf_counter()
    connection.execute("CREATE TABLE readings (ts TIMESTAMP PRIMARY KEY, device BIGINT NOT NULL, value DOUBLE)")
    connection.execute("INSERT INTO readings SELECT make_timestamp(ts), device, value FROM read_csv(?, header = false, "
                       "columns = {'ts': 'BIGINT', 'device': 'BIGINT', 'value': 'DOUBLE'})",
                       [os.path.join(directory, "readings.csv")])
    connection.execute("CHECKPOINT")
    print(f"ingest {time.perf_counter() - clock!r}")
    all_times, range_times = [], []
    for _ in range(runs):
        clock = time.perf_counter()
        rollup = connection.execute(ALL).fetchall()
        all_times.append(time.perf_counter() - clock)
        clock = time.perf_counter()
        hourly = [row for start, end in ranges for row in connection.execute(RANGE, [start, end]).fetchall()]
        range_times.append(time.perf_counter() - clock)
    print("all " + " ".join(map(repr, all_times)))
    print("hour " + " ".join(map(repr, range_times)))
    print("all_answer " + answer(rollup))
    print("hour_answer " + answer(hourly))
    threads = connection.execute("SELECT current_setting('threads')").fetchone()[0]
    print(f"version DuckDB {duckdb.__version__}, {threads} threads")
    connection.close()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
