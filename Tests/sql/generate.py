#!/usr/bin/env python3
"""Writes generated.test: queries over two seeded tables, with SQLite's answers as the expected rows.

Only SQL that OmenDB and SQLite answer alike is generated (ordering keys never NULL, no division by zero,
no integer overflow). The test runner checks OmenDB against these rows and SQLite again, live.
Run: python3 Tests/sql/generate.py  (rewrites Tests/sql/generated.test)
"""
import os
import random
import sqlite3

random.seed(20261121)
here = os.path.dirname(os.path.abspath(__file__))

ddl = [
    "CREATE TABLE items (id BIGINT PRIMARY KEY, grp BIGINT NOT NULL, price DOUBLE PRECISION, name TEXT, qty BIGINT NOT NULL)",
    "CREATE TABLE groups (gid BIGINT PRIMARY KEY, label TEXT)",
]
names = ["apple", "banana", "cherry", "date", "elder", "fig", "grape", "Kiwi", "lemon", "mango"]
rows = []
for i in range(1, 201):
    price = None if i % 9 == 0 else round(random.uniform(0, 100) * 4) / 4
    name = None if i % 13 == 0 else random.choice(names) + str(i % 7)
    rows.append((i * 3, i % 7, price, name, random.randint(-50, 500)))
inserts = []
for start in range(0, len(rows), 50):
    values = []
    for (id_, grp, price, name, qty) in rows[start:start + 50]:
        p = "NULL" if price is None else repr(price)
        n = "NULL" if name is None else "'" + name + "'"
        values.append(f"({id_}, {grp}, {p}, {n}, {qty})")
    inserts.append("INSERT INTO items VALUES " + ", ".join(values))
inserts.append("INSERT INTO groups VALUES " + ", ".join(
    f"({g}, {'NULL' if g == 4 else repr('group ' + str(g))})" for g in range(0, 9)))

queries = []
def q(sql):
    queries.append(sql)

for _ in range(40):
    k = random.randint(0, 620)
    q(f"SELECT id, grp, price, name, qty FROM items WHERE id = {k}")
for _ in range(40):
    a = random.randint(-10, 600); b = a + random.randint(0, 60)
    op1 = random.choice([">", ">="]); op2 = random.choice(["<", "<="])
    q(f"SELECT id, qty FROM items WHERE id {op1} {a} AND id {op2} {b} ORDER BY id")
for _ in range(20):
    a = random.randint(0, 600); b = a + random.randint(0, 90)
    q(f"SELECT id, name FROM items WHERE id BETWEEN {a} AND {b} AND price > {random.randint(0, 100)} ORDER BY id DESC")
for _ in range(20):
    values = ", ".join(str(random.randint(-50, 500)) for _ in range(random.randint(1, 6)))
    neg = random.choice(["", "NOT "])
    q(f"SELECT id FROM items WHERE qty {neg}IN ({values}) ORDER BY id LIMIT 20")
for column in ["price", "name"]:
    for neg in ["", "NOT "]:
        q(f"SELECT count(*) FROM items WHERE {column} IS {neg}NULL")
for _ in range(20):
    t = random.randint(0, 100)
    q(f"SELECT grp, count(*), count(price), sum(qty), min(price), max(price), min(name), max(name) FROM items WHERE price > {t} OR name IS NULL GROUP BY grp ORDER BY grp")
for _ in range(15):
    n = random.randint(20, 35)
    q(f"SELECT grp, count(*) AS c, avg(qty) FROM items GROUP BY grp HAVING count(*) > {n} ORDER BY c DESC, grp")
for _ in range(25):
    lim = random.randint(0, 15); off = random.randint(0, 30)
    order = random.choice(["qty DESC, id", "grp, qty, id", "grp DESC, id DESC", "qty, id DESC"])
    q(f"SELECT id, grp, qty FROM items ORDER BY {order} LIMIT {lim} OFFSET {off}")
for _ in range(25):
    a = random.randint(1, 9); b = random.randint(1, 9); c = random.randint(0, 600)
    q(f"SELECT id, qty * {a} + {b}, qty / {b}, qty % {b}, -qty, price * 2 FROM items WHERE id < {c} AND id > {c - 40} ORDER BY id")
for _ in range(20):
    c = random.randint(0, 600)
    q(f"SELECT i.id, i.grp, g.label FROM items i JOIN groups g ON i.grp = g.gid WHERE i.id >= {c} AND i.id < {c + 30} ORDER BY i.id")
for _ in range(10):
    q(f"SELECT g.gid, g.label, count(*), sum(i.qty) FROM items i INNER JOIN groups g ON g.gid = i.grp WHERE i.qty > {random.randint(-50, 400)} GROUP BY g.gid, g.label ORDER BY count(*) DESC, g.gid")
for _ in range(20):
    t = random.randint(0, 100); c = random.randint(0, 600)
    form = random.choice([
        f"NOT (price > {t})", f"price > {t} AND NOT name IS NULL", f"(price < {t} OR qty > 100) AND id < {c}",
        f"NOT (qty BETWEEN {t} AND {t + 100})", f"price >= {t} OR price IS NULL",
    ])
    q(f"SELECT id FROM items WHERE {form} ORDER BY id LIMIT 25")
for _ in range(20):
    c = random.randint(0, 600)
    q(f"SELECT id, coalesce(name, 'none'), abs(qty), upper(name), lower(name), length(name), name || '-' || grp FROM items WHERE id >= {c} AND id < {c + 15} ORDER BY id")
for _ in range(10):
    c = random.randint(0, 600)
    q(f"SELECT count(*), sum(qty), min(id), max(id), avg(qty) FROM items WHERE id > {c} AND id < {c + random.randint(0, 10)}")
for _ in range(10):
    c = random.randint(0, 600)
    q(f"SELECT sum(price), avg(price), count(name) FROM items WHERE grp = {random.randint(0, 8)} AND id < {c}")

db = sqlite3.connect(":memory:")
for statement in ddl + inserts:
    db.execute(statement)

def render(value):
    if value is None:
        return "NULL"
    if isinstance(value, float):
        if value == int(value) and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    return str(value)

with open(os.path.join(here, "generated.test"), "w") as out:
    out.write("# Generated by Tests/sql/generate.py: the expected rows are SQLite's answers.\n\n")
    for statement in ddl + inserts:
        out.write("statement ok\n" + statement + "\n\n")
    for sql in queries:
        result = db.execute(sql).fetchall()
        out.write("query\n" + sql + "\n----\n")
        for row in result:
            out.write("|".join(render(v) for v in row) + "\n")
        out.write("\n")
print(f"{len(queries)} queries")
