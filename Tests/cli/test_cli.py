#!/usr/bin/env python3
"""The omendb command-line tool, tested as a process: -c and exit codes, --csv/--json, CSV import (good,
malformed: nothing half-imported; header names, --columns, timestamp formats, errors and --on-error skip's
reject file), the progress bar only on a terminal, scripts (pipe, -f, \\i) with their
exit statuses and ON_ERROR_STOP, \\o, \\x, \\copy and COPY FROM STDIN / TO STDOUT, Ctrl-C in a script and
on a pseudo-terminal, the shell driven through a pseudo-terminal, and the directory lock.
Usage: test_cli.py path/to/omendb
"""
import json
import os
import pty
import signal
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
    """Runs omendb on a pseudo-terminal, typing each input after the previous output settles; a number
    instead of an input is that many seconds in which nothing is read (the shell's output backs up)."""
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
        if isinstance(text, float):
            time.sleep(text)
            continue
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
    check("no progress bar in a pipe", "MB/s" not in r.stderr, r.stderr)
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
    check("progress bar on a terminal", "MB/s" in out and "ETA" in out and "COPY 200000" in out, out[-300:])

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

    def write(name, text):
        path = os.path.join(work, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def read(path):
        """The file's text, "" when there is none (a check then fails, and the others still run)."""
        try:
            with open(path) as f:
                return f.read()
        except OSError:
            return ""

    # import's rules: header names, --columns, timestamp forms and formats, errors with SQLSTATE, line and
    # column, and --on-error skip with its reject file; each checked against the rows read back.
    run("--db", db, "-c", "CREATE TABLE ts_t (ts TIMESTAMP PRIMARY KEY, device BIGINT, v DOUBLE PRECISION)")

    def stored(where="TRUE"):
        return run("--db", db, "--csv", "-c", f"SELECT extract(epoch FROM ts) AS epoch, device, v FROM ts_t WHERE {where} ORDER BY ts").stdout

    named = os.path.join(work, "named.csv")
    with open(named, "w") as f:
        f.write("v,ts,device\n0.5,2024-01-01T00:00:00Z,1\n1.5,2024/01/01 00:01,2\n2.5,2024-01-01 02:02:00+02:00,3\n")
    r = run("import", "--db", db, "ts_t", named, "--header")
    check("import by header names", r.returncode == 0 and "COPY 3" in r.stdout, r.stderr)
    check("header columns land by name", stored() == "epoch,device,v\n1704067200,1,0.5\n1704067260,2,1.5\n1704067320,3,2.5\n", repr(stored()))
    listed = os.path.join(work, "listed.csv")
    with open(listed, "w") as f:
        f.write("4,2024-01-02 00:00:00\n")
    r = run("import", "--db", db, "ts_t", listed, "--columns", "device,ts")
    check("--columns", r.returncode == 0 and stored("device = 4") == "epoch,device,v\n1704153600,4,\n", r.stderr + stored("device = 4"))
    epochs = os.path.join(work, "epochs.csv")
    with open(epochs, "w") as f:
        f.write("1704240000,5,5\n")
    r = run("import", "--db", db, "ts_t", epochs)
    check("an integer is no timestamp", r.returncode == 1 and "22007" in r.stderr and "line 1, column ts" in r.stderr, r.stderr)
    r = run("import", "--db", db, "ts_t", epochs, "--timestamp-format", "epoch-s")
    check("--timestamp-format epoch-s", r.returncode == 0 and stored("device = 5") == "epoch,device,v\n1704240000,5,5\n", r.stderr)
    dotted = os.path.join(work, "dotted.csv")
    with open(dotted, "w") as f:
        f.write("04.01.2024 00:00,6,6\n")
    r = run("import", "--db", db, "ts_t", dotted, "--timestamp-format", "%d.%m.%Y %H:%M")
    check("--timestamp-format pattern", r.returncode == 0 and stored("device = 6") == "epoch,device,v\n1704326400,6,6\n", r.stderr)
    r = run("import", "--db", db, "ts_t", dotted, "--timestamp-format", "%H:%M")
    check("a pattern without a date is refused", r.returncode != 0 and "--timestamp-format" in r.stderr, r.stderr)
    unknown = os.path.join(work, "unknown.csv")
    with open(unknown, "w") as f:
        f.write("temp,ts\n1,2024-01-05\n")
    r = run("import", "--db", db, "ts_t", unknown, "--header")
    check("an unknown header name is named", r.returncode == 1 and '"temp"' in r.stderr and "42703" in r.stderr, r.stderr)
    mixed = os.path.join(work, "mixed.csv")
    with open(mixed, "wb") as f:
        f.write(b"ts,device,v\n2024-01-06,7,7\n2024-02-30,8,8\n2024-01-08,99999999999999999999,9\n"
                b"2024-01-09,10,1e400\n2024-01-10,11,11\n")
    r = run("import", "--db", db, "ts_t", mixed, "--header")
    check("impossible date stops the import", r.returncode == 1 and "22008" in r.stderr and "line 3, column ts" in r.stderr, r.stderr)
    check("and nothing of it is stored", stored("device >= 7") == "epoch,device,v\n", stored("device >= 7"))
    rejects = os.path.join(work, "mixed.rejects")
    r = run("import", "--db", db, "ts_t", mixed, "--header", "--on-error", "skip", "--reject-file", rejects)
    check("--on-error skip", r.returncode == 0 and "COPY 2" in r.stdout and "skipped 3 records" in r.stderr, r.stdout + r.stderr)
    check("skip keeps the good rows", stored("device >= 7") == "epoch,device,v\n1704499200,7,7\n1704844800,11,11\n", stored("device >= 7"))
    check("the reject file", read(rejects).splitlines() == [
        "line,column,sqlstate,error,record",
        '3,ts,22008,"date/time field value out of range: ""2024-02-30"" (line 3, column ts)","2024-02-30,8,8"',
        '4,device,22003,"value ""99999999999999999999"" is out of range for type bigint (line 4, column device)","2024-01-08,99999999999999999999,9"',
        '5,v,22003,"""1e400"" is out of range for type double precision (line 5, column v)","2024-01-09,10,1e400"'], read(rejects))
    r = run("import", "--db", db, "ts_t", mixed, "--header", "--on-error", "skip")
    check("the reject file defaults to next to the input", r.returncode == 1 and "23505" in r.stderr
          and os.path.exists(mixed + ".rejects.csv"), r.stderr)

    def rows_of(table):
        return run("--db", db, "--csv", "-c", f"SELECT * FROM {table} ORDER BY id").stdout

    run("--db", db, "-c", "CREATE TABLE s (id BIGINT PRIMARY KEY, name TEXT)")

    # A pipe: an error is reported and the script goes on, the exit status is 1; the last statement
    # needs no ';'.
    r = run("--db", db, stdin="INSERT INTO s VALUES (1, 'one');\nSELEC 2;\nINSERT INTO s VALUES (2, 'two');\n"
                              "SELECT count(*) AS n FROM s")
    check("pipe goes on after an error", rows_of("s") == "id,name\n1,one\n2,two\n", rows_of("s"))
    check("pipe exits 1 after an error", r.returncode == 1 and "42601" in r.stderr, (r.returncode, r.stderr))
    check("pipe runs a last statement without ';'", " n\n---\n 2\n(1 row)" in r.stdout, r.stdout)
    r = run("--db", db, stdin="SELECT 1;\n")
    check("pipe without errors exits 0", r.returncode == 0, r.returncode)

    r = run("--db", db, stdin="\\set ON_ERROR_STOP on\nINSERT INTO s VALUES (3, 'three');\nSELEC 4;\n"
                              "INSERT INTO s VALUES (4, 'four');\n")
    check("\\set ON_ERROR_STOP on stops with status 3", r.returncode == 3 and "42601" in r.stderr, (r.returncode, r.stderr))
    check("nothing after the failing statement ran", rows_of("s") == "id,name\n1,one\n2,two\n3,three\n", rows_of("s"))

    failing = write("failing.sql", "INSERT INTO s VALUES (5, 'five');\nSELECT nope FROM s;\nINSERT INTO s VALUES (6, 'six')\n")
    r = run("--db", db, "-v", "ON_ERROR_STOP=1", "-f", failing)
    check("-v ON_ERROR_STOP=1 -f stops with status 3", r.returncode == 3 and "42703" in r.stderr, (r.returncode, r.stderr))
    check("-f stopped at its error", "5,five" in rows_of("s") and "6,six" not in rows_of("s"), rows_of("s"))
    run("--db", db, "-c", "DELETE FROM s WHERE id = 5")
    r = run("--db", db, "-f", failing)
    check("-f goes on after an error, exits 1", r.returncode == 1 and "5,five\n6,six" in rows_of("s"), (r.returncode, rows_of("s")))
    r = run("--db", db, "-v", "ON_ERROR_STOP=perhaps", "-c", "SELECT 1")
    check("-v ON_ERROR_STOP takes a boolean", r.returncode == 1 and "Boolean expected" in r.stderr, r.stderr)
    r = run("--db", db, "-f", os.path.join(work, "missing.sql"))
    check("-f of a missing file", r.returncode == 1 and "missing.sql: No such file" in r.stderr, r.stderr)

    second = write("second.sql", "SELECT 'second' AS a;\n")
    r = run("--db", db, "--csv", "-c", "SELECT 'first' AS a", "-f", second, "-c", "SELECT 'third' AS a", "-f", second)
    check("-c and -f run in the order given", r.stdout == "a\nfirst\na\nsecond\na\nthird\na\nsecond\n", repr(r.stdout))

    inner = write("inner.sql", "INSERT INTO s VALUES (7, 'seven');\nINSERT INTO s VALUES (8, 'eight')")
    outer = write("outer.sql", f"\\i {inner}\nSELECT count(*) AS n FROM s WHERE id >= 7;\n")
    r = run("--db", db, "-f", outer)
    check("\\i runs a file, its last statement without ';'", r.returncode == 0 and " n\n---\n 2\n" in r.stdout, r.stdout + r.stderr)
    r = run("--db", db, "-c", f"\\i {os.path.join(work, 'missing.sql')}")
    check("\\i of a missing file fails", r.returncode == 1 and "missing.sql: No such file" in r.stderr, r.stderr)

    results = os.path.join(work, "results.txt")
    r = run("--db", db, stdin=f"\\o {results}\nSELECT 'to the file' AS w;\n\\o\nSELECT 'to stdout' AS w;\n")
    written = read(results)
    check("\\o writes results to the file", "to the file" in written and "(1 row)" in written and "to stdout" not in written, written)
    check("\\o alone goes back to stdout", "to stdout" in r.stdout and "to the file" not in r.stdout, r.stdout)

    # psql's record line is as wide as the lines below it, with a + over the |, the label over its start.
    run("--db", db, "-c", "INSERT INTO s VALUES (9, 'a much longer name')")
    r = run("--db", db, stdin="\\x\nSELECT id, name FROM s WHERE id IN (1, 9) ORDER BY id;\n"
                              "SELECT id AS a_very_long_column_name FROM s WHERE id = 1;\n"
                              "SELECT id FROM s WHERE id < 0;\n\\x off\nSELECT id FROM s WHERE id = 1;\n")
    expected = ("Expanded display is on.\n"
                "-[ RECORD 1 ]------------\nid   | 1\nname | one\n"
                "-[ RECORD 2 ]------------\nid   | 9\nname | a much longer name\n\n"
                "-[ RECORD 1 ]-----------+--\na_very_long_column_name | 1\n\n"
                "(0 rows)\n\n")
    check("\\x expanded display", expected in r.stdout, r.stdout)
    check("\\x off", "Expanded display is off.\n id\n----\n  1\n(1 row)" in r.stdout, r.stdout)

    load = write("load.csv", 'id,name\n20,twenty\n21,"twenty, one"\n')
    r = run("--db", db, "-c", f"\\copy s FROM '{load}' WITH (FORMAT csv, HEADER)")
    check("\\copy FROM a file", r.returncode == 0 and r.stdout == "COPY 2\n"
          and '20,twenty\n21,"twenty, one"\n' in rows_of("s"), r.stdout + r.stderr)
    dump = os.path.join(work, "dump.csv")
    r = run("--db", db, "-c", f"\\copy s TO {dump} (HEADER)")
    check("\\copy TO a file (unquoted name)", r.stdout == "COPY 10\n" and read(dump) == rows_of("s"), r.stdout + r.stderr)
    malformed = write("malformed.csv", "30,thirty\nthirty-one,x\n")
    r = run("--db", db, "-c", f"\\copy s FROM '{malformed}'")
    check("\\copy of a malformed file fails whole", r.returncode == 1 and "line 2" in r.stderr
          and "30,thirty" not in rows_of("s"), r.stderr)

    r = run("--db", db, stdin="COPY s FROM STDIN WITH (FORMAT csv);\n40,forty\n41,\"forty\n one\"\n\\.\n"
                              "SELECT count(*) AS n FROM s WHERE id >= 40;\n")
    check("COPY FROM STDIN in a pipe", r.returncode == 0 and "COPY 2" in r.stdout and " n\n---\n 2\n" in r.stdout,
          r.stdout + r.stderr)
    check("COPY FROM STDIN rows", '40,forty\n41,"forty\n one"\n' in rows_of("s"), rows_of("s"))
    r = run("--db", db, "-c", "COPY s FROM STDIN", stdin="50,fifty\n")
    check("-c COPY FROM STDIN reads standard input", r.stdout == "COPY 1\n" and "50,fifty" in rows_of("s"), r.stdout + r.stderr)
    r = run("--db", db, "-c", "COPY s TO STDOUT (HEADER)")
    check("COPY TO STDOUT", r.stdout == rows_of("s"), r.stdout)

    # Ctrl-C in a script: the COPY that was reading data is cancelled, and the script ends with status 3.
    p = subprocess.Popen([binary, "--db", db], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdin.write(b"SELECT 1;\nCOPY s FROM STDIN;\n60,sixty\n")
    p.stdin.flush()
    seen = b""
    deadline = time.time() + 20
    while b"(1 row)" not in seen and time.time() < deadline:  # the SELECT ran: the COPY is reading its data
        if select.select([p.stdout], [], [], 0.1)[0]:
            seen += os.read(p.stdout.fileno(), 65536)
    time.sleep(1.0)
    p.send_signal(signal.SIGINT)
    try:
        err = p.communicate(timeout=20)[1].decode()
    except subprocess.TimeoutExpired:
        p.kill()
        err = p.communicate()[1].decode()
    check("Ctrl-C in a script exits 3", p.returncode == 3 and "57014" in err
          and "canceling statement due to user request" in err, (p.returncode, err))
    check("Ctrl-C cancelled the COPY", "60,sixty" not in rows_of("s"), rows_of("s"))

    out, status = pty_session(["--db", db], [
        "SELECT 1000 +\n", "2000", "\x03", "SELECT 6 * 7 AS answer;\n",
        "SELECT * FROM t;\n", 1.5, "\x03", "SELECT 6 * 8 AS answer2;\n", "\\q\n",
    ])
    screen = out.replace("\r", "")
    check("Ctrl-C at the prompt clears the statement", "answer\n--------\n     42\n" in screen
          and "3000" not in screen and "syntax error" not in screen, screen[:600])
    check("Ctrl-C cancels the query", "canceling statement due to user request" in screen and "57014" in screen
          and "| n200999" not in screen, screen[-600:])
    check("the shell answers after Ctrl-C", "answer2\n---------\n      48\n"
          in screen.split("canceling statement")[-1], screen[-600:])
    check("the shell quits cleanly after Ctrl-C", status is not None and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status)

    # Ctrl-C while the engine itself runs a statement (a correlated subquery over 200,000 rows, hours of
    # work): the engine stops it, and the shell answers the next query at once.
    started = time.time()
    out, status = pty_session(["--db", db], [
        "SELECT count(*) FROM t a WHERE EXISTS (SELECT 1 FROM t b WHERE b.v = a.v + 1);\n", 1.5, "\x03",
        "SELECT 6 * 9 AS answer3;\n", "\\q\n",
    ])
    screen = out.replace("\r", "")
    check("Ctrl-C cancels a statement the engine is running", "canceling statement due to user request" in screen
          and "answer3\n---------\n      54\n" in screen.split("canceling statement")[-1], screen[-600:])
    check("the cancelled statement stopped promptly", time.time() - started < 15, time.time() - started)

    stops = write("stops.sql", "SELECT 'before' AS b;\nSELEC 1;\nSELECT 'after' AS b;\n")
    out, status = pty_session(["--db", db], [
        "\\set ON_ERROR_STOP on\n", f"\\i {stops}\n", "SELECT 'prompt' AS p;\n",
        "COPY s FROM STDIN;\n", "70,seventy\n", "\\.\n", "SELECT name FROM s WHERE id = 70;\n", "\\q\n",
    ])
    screen = out.replace("\r", "")
    check("ON_ERROR_STOP stops an \\i script", "before" in screen and "42601" in screen and "after" not in screen, screen)
    check("and the prompt goes on", " p\n--------\n prompt\n" in screen, screen)
    check("COPY FROM STDIN on a terminal", ">> 70,seventy" in screen and "COPY 1" in screen
          and " seventy\n(1 row)" in screen, screen)

    pid, fd = pty.fork()
    if pid == 0:
        os.execv(binary, [binary, "--db", db])
    time.sleep(1.5)
    r = run("--db", db, "-c", "SELECT 1")
    check("directory lock names the holder", r.returncode != 0 and f"in use by process {pid}" in r.stderr, r.stderr)
    os.write(fd, b"\\q\n")
    os.waitpid(pid, 0)
    os.close(fd)

    # Two readers beside one writer: each --read-only open is a snapshot of whole transactions (ten rows
    # each, keys in order), and writes through it are refused.
    rdb = os.path.join(work, "readers")
    run("--db", rdb, "-c", "CREATE TABLE r (k BIGINT PRIMARY KEY, v BIGINT)")
    script = write("writer.sql", "".join(
        "BEGIN;\nINSERT INTO r VALUES " + ", ".join(f"({t * 10 + i}, {t})" for i in range(10)) + ";\nCOMMIT;\n"
        for t in range(1500)))
    writer = subprocess.Popen([binary, "--db", rdb, "-f", script], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    snapshots, bad = [], []
    while writer.poll() is None or not snapshots:
        readers = [subprocess.Popen([binary, "--db", rdb, "--read-only", "--csv", "-c",
                                     "SELECT count(*), coalesce(max(k), -1), count(DISTINCT v) FROM r"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
        for reader in readers:
            out, err = reader.communicate(timeout=60)
            if reader.returncode != 0:
                bad.append(err)
                continue
            count, top, groups = map(int, out.split("\n")[1].split(","))
            snapshots.append(count)
            if count % 10 or top != count - 1 or groups != count // 10:
                bad.append(out)
    check("the writer beside the readers finished", writer.wait(timeout=120) == 0, writer.stderr.read())
    check("two readers beside a writer see whole transactions", not bad and len(snapshots) >= 4, (bad[:3], snapshots[:10]))
    check("and the snapshots move on while the writer commits", len(set(snapshots)) >= 2, sorted(set(snapshots))[:10])
    r = run("--db", rdb, "--read-only", "-c", "INSERT INTO r VALUES (-1, 0)")
    check("a read-only open refuses writes", r.returncode != 0 and "25006" in r.stderr, r.stderr)
    r = run("--db", rdb, "-c", "SELECT count(*) FROM r")
    check("the writer's rows are all there", " 15000\n" in r.stdout, r.stdout + r.stderr)
finally:
    shutil.rmtree(work, ignore_errors=True)

print(f"cli: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
