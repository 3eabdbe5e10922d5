#!/usr/bin/env python3
"""The omendb command-line tool, tested as a process: -c and exit codes, --csv/--json, CSV import (good,
malformed: nothing half-imported), the progress bar only on a terminal, the shell driven through a
pseudo-terminal, and the directory lock.   Usage: test_cli.py path/to/omendb
"""
import json
import os
import pty
import select
import shutil
import subprocess
import sys
import tempfile
import time

binary = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".build/debug/omendb")
work = tempfile.mkdtemp(prefix="omendb-cli-")
db = os.path.join(work, "db")
os.environ["HOME"] = work  # the shell's history file lands here
passed = 0
failed = 0


def check(name, condition, detail=""):
    global passed, failed
    if condition:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name}: {detail}")


def run(*args, stdin=None):
    return subprocess.run([binary, *args], input=stdin, capture_output=True, text=True, timeout=60)


def pty_session(args, inputs, timeout=20):
    """Runs omendb on a pseudo-terminal, typing each input after the previous output settles."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(binary, [binary, *args])
    output = b""

    def drain(seconds):
        nonlocal output
        deadline = time.time() + seconds
        while time.time() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    return False
                if not chunk:
                    return False
                output += chunk
        return True

    drain(1.0)
    for text in inputs:
        os.write(fd, text.encode())
        drain(0.7)
    deadline = time.time() + timeout
    status = None
    while time.time() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        drain(0.2)
    else:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    try:
        drain(0.2)
    except OSError:
        pass
    os.close(fd)
    return output.decode(errors="replace"), status


try:
    r = run("version")
    check("version", r.returncode == 0 and r.stdout.startswith("omendb "), r.stdout)

    r = run("--db", db, "-c", "CREATE TABLE t (id BIGINT PRIMARY KEY, name TEXT, v DOUBLE PRECISION)",
            "-c", "INSERT INTO t VALUES (1, 'one', 1.5), (2, 'two, with comma', NULL)",
            "-c", "SELECT id, name, v FROM t ORDER BY id")
    check("-c runs statements", r.returncode == 0, r.stderr)
    check("-c prints an aligned table", " id |      name       |  v" in r.stdout and "(2 rows)" in r.stdout, r.stdout)
    check("-c prints command tags", "CREATE TABLE" in r.stdout and "INSERT 0 2" in r.stdout, r.stdout)

    r = run("--db", db, "-c", "SELECT nope FROM t")
    check("-c error exits non-zero", r.returncode == 1, r.returncode)
    check("-c error has SQLSTATE and caret", "42703" in r.stderr and "LINE 1: SELECT nope FROM t" in r.stderr
          and "\n" + " " * 15 + "^" in r.stderr, r.stderr)

    r = run("--db", db, "-c", "SELECT 1", "-c", "SELEC 2", "-c", "SELECT 3")
    check("-c stops at the first error", r.returncode == 1 and "SELECT 3" not in r.stdout and "?column?" in r.stdout, r.stdout)

    r = run("--db", db, "--csv", "-c", "SELECT * FROM t ORDER BY id")
    check("--csv", r.stdout == 'id,name,v\n1,one,1.5\n2,"two, with comma",\n', repr(r.stdout))

    r = run("--db", db, "--json", "-c", "SELECT * FROM t ORDER BY id")
    try:
        rows = json.loads(r.stdout)
    except ValueError:
        rows = None
    check("--json", rows == [{"id": 1, "name": "one", "v": 1.5}, {"id": 2, "name": "two, with comma", "v": None}], r.stdout)

    r = run("--db", db, "--csv", "--json", "-c", "SELECT 1")
    check("--csv with --json is refused", r.returncode != 0, r.returncode)

    good = os.path.join(work, "good.csv")
    with open(good, "w") as f:
        f.write('id,name,v\n10,ten,10.5\n11,"eleven ""quoted""",\n12,,12\n')
    r = run("import", "--db", db, "t", good, "--header")
    check("import", r.returncode == 0 and "COPY 3" in r.stdout, r.stdout + r.stderr)
    check("no progress bar in a pipe", "rows/s" not in r.stderr, r.stderr)
    r = run("--db", db, "--csv", "-c", "SELECT id, name, v FROM t WHERE id >= 10 ORDER BY id")
    check("imported rows", r.stdout == 'id,name,v\n10,ten,10.5\n11,"eleven ""quoted""",\n12,,12\n', repr(r.stdout))

    bad = os.path.join(work, "bad.csv")
    with open(bad, "w") as f:
        f.write("id,name,v\n20,a,1\n21,b,not-a-number\n22,c,3\n")
    r = run("import", "--db", db, "t", bad, "--header")
    check("malformed import fails", r.returncode == 1, r.returncode)
    check("malformed import names the line", "line 3" in r.stderr and "not-a-number" in r.stderr, r.stderr)
    r = run("--db", db, "--csv", "-c", "SELECT count(*) FROM t WHERE id >= 20")
    check("nothing half-imported", r.stdout == "count\n0\n", repr(r.stdout))

    short = os.path.join(work, "short.csv")
    with open(short, "w") as f:
        f.write("30,a,1\n31,b\n")
    r = run("import", "--db", db, "t", short)
    check("short row names its line", r.returncode == 1 and "line 2" in r.stderr, r.stderr)

    big = os.path.join(work, "big.csv")
    with open(big, "w") as f:
        for i in range(1000, 201000):
            f.write(f"{i},n{i},{i / 4}\n")
    out, status = pty_session(["import", "--db", db, "t", big], [])
    check("progress bar on a terminal", "rows/s" in out and "ETA" in out and "COPY 200000" in out, out[-300:])

    out, status = pty_session(["--db", db], [
        "SELECT count(*)\n", "FROM t;\n", "\\dt\n", "\\d t\n", "\\timing\n", "SELECT 1 AS one;\n",
        "BEGIN;\n", "INSERT INTO t VALUES (5, 'five', 5);\n", "ROLLBACK;\n", "SELECT count(*) FROM t WHERE id = 5;\n",
        "SELECT bad syntax here;\n", "\\q\n",
    ])
    check("shell prompt", "omendb=> " in out and "omendb-> " in out, out[:300])
    check("shell multi-line statement", "200005" in out, out)
    check("shell \\dt", " t    | table" in out, out)
    check("shell \\d", "primary key (learned index)" in out, out)
    check("shell \\timing", "Timing is on." in out and "Time: " in out, out)
    check("shell transaction prompt", "omendb*=> " in out, out)
    check("shell rollback", " count\n-------\n     0" in out.replace("\r", ""), out)
    check("shell error keeps going", "syntax error" in out and "Time: " in out.split("syntax error")[-1], out[-400:])
    check("shell quits cleanly", status is not None and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status)

    out, status = pty_session(["--db", db], ["SELECT 40 + 2 AS answer;\n", "\x1b[A\n", "\q\n"])
    check("up arrow recalls the last statement", out.count("     42") == 2, out)
    with open(os.path.join(work, ".omendb_history")) as history:
        # libedit's format escapes spaces as \040.
        check("history kept in ~/.omendb_history", "answer;" in history.read())

    pid, fd = pty.fork()
    if pid == 0:
        os.execv(binary, [binary, "--db", db])
    time.sleep(1.5)
    r = run("--db", db, "-c", "SELECT 1")
    check("directory lock names the holder", r.returncode != 0 and f"in use by process {pid}" in r.stderr, r.stderr)
    os.write(fd, b"\\q\n")
    os.waitpid(pid, 0)
    os.close(fd)
finally:
    shutil.rmtree(work, ignore_errors=True)

print(f"cli: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
