import Testing
@testable import OmenEngine

/// Random and mutated statements never crash the process: each yields a result or a `SQLError`.
/// `OMEN_SQL_FUZZ` sets the number of statements (20,000 by default).
@Suite struct SQLFuzzTests {
    static let seeds = [
        "SELECT id, name FROM f WHERE id >= 3 AND id < 40 ORDER BY id DESC LIMIT 5",
        "SELECT grp, count(*), sum(qty), avg(price) FROM f GROUP BY grp HAVING count(*) > 1 ORDER BY 2 DESC",
        "SELECT time_bucket(INTERVAL '1 hour', ts), min(price) FROM g GROUP BY 1",
        "INSERT INTO f VALUES (1000, 1, 2.5, 'x', 3), (1001, NULL, NULL, NULL, 4)",
        "UPDATE f SET qty = qty * 2 + 1 WHERE id BETWEEN 5 AND 9 OR name IS NULL",
        "DELETE FROM f WHERE id IN (1, 2, 3) AND NOT price > 4",
        "SELECT a.id, b.name FROM f a JOIN f b ON a.id = b.grp WHERE a.qty % 3 = 1",
        "EXPLAIN SELECT * FROM g WHERE ts = '2024-01-01 10:00:00'",
        "SELECT coalesce(name, 'n') || '-' || upper(name), abs(-qty), length(name) FROM f",
        "CREATE TABLE IF NOT EXISTS h (k BIGINT PRIMARY KEY, v TEXT NOT NULL)",
        "BEGIN; INSERT INTO h VALUES (1, 'a'); ROLLBACK",
        "SELECT -9223372036854775808, 9223372036854775807 + 1, 1 / 0, 'a' < 'b', NULL = NULL",
        "WITH w AS (SELECT grp, count(DISTINCT name) AS n FROM f GROUP BY grp) SELECT * FROM w WHERE n > (SELECT min(n) FROM w)",
        "SELECT id, row_number() OVER (PARTITION BY grp ORDER BY qty DESC), lag(qty, 2, 0) OVER (ORDER BY id), sum(price) OVER (ORDER BY id ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) FROM f",
        "SELECT id FROM f a WHERE EXISTS (SELECT 1 FROM f b WHERE b.grp = a.grp AND b.id > a.id) UNION ALL SELECT 7 ORDER BY 1 LIMIT 3",
        "SELECT d.grp, d.total FROM (SELECT grp, sum(qty) AS total FROM f GROUP BY grp) d FULL JOIN f ON f.id = d.grp WHERE d.total IN (SELECT qty FROM f)",
        "INSERT INTO f SELECT id + 100, grp, price, name, qty FROM f WHERE id < 3 ON CONFLICT (id) DO UPDATE SET qty = excluded.qty + 1 RETURNING id, qty",
        "SELECT substring(name FROM 2 FOR 3), split_part(name, 'a', -1), round(price, 1), lpad(name, 5, '*'), greatest(qty, 3) FROM f",
    ]

    static let vocabulary = [
        "SELECT", "FROM", "WHERE", "GROUP", "BY", "ORDER", "LIMIT", "OFFSET", "HAVING", "AND", "OR", "NOT", "NULL",
        "IS", "IN", "BETWEEN", "INSERT", "INTO", "VALUES", "UPDATE", "SET", "DELETE", "CREATE", "TABLE", "DROP",
        "JOIN", "ON", "AS", "EXPLAIN", "BEGIN", "COMMIT", "ROLLBACK", "INTERVAL", "PRIMARY", "KEY", "f", "g", "h",
        "id", "grp", "price", "name", "qty", "ts", "count", "sum", "avg", "min", "max", "time_bucket", "*", "(",
        ")", ",", ";", "=", "<>", "<", "<=", ">", ">=", "+", "-", "/", "%", "||", ".", "0", "1", "-1",
        "9223372036854775807", "1e308", "2.5", "'x'", "'2024-01-01'", "'1 hour'", "''", "\"q\"", "'", "\"", "--",
        "/*", "BIGINT", "TEXT", "TIMESTAMP", "DOUBLE", "PRECISION", "BOOLEAN", "TRUE", "FALSE", "COPY", "TO", "HEADER",
        "CASE", "WHEN", "THEN", "ELSE", "END", "LIKE", "ILIKE", "::", "cast", "extract", "date_trunc", "now", "LEFT",
        "WITH", "UNION", "ALL", "INTERSECT", "EXCEPT", "EXISTS", "over", "partition", "rows", "preceding", "current",
        "row", "row_number", "lag", "RIGHT", "FULL", "CROSS", "DISTINCT", "RETURNING", "conflict", "do", "nothing",
        "$1", "substring", "round", "split_part",
        "'%a_'", "'hour'",
    ]

    /// A session over tables f and g, filled by `rows` (INSERT statements), for `body`.
    func withTables(_ rows: String, _ body: (SQLSession) throws -> Void) throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let database = try Database.open(directory.path)
        defer { database.close() }
        let session = SQLSession(database: database)
        // Random statements may ask for hours of work (a five-way cross join): each gets 20 ms.
        session.statementTimeout = .milliseconds(20)
        _ = try session.execute("""
            CREATE TABLE f (id BIGINT PRIMARY KEY, grp BIGINT, price DOUBLE PRECISION, name TEXT, qty BIGINT);
            CREATE TABLE g (ts TIMESTAMP PRIMARY KEY, price DOUBLE PRECISION);
            """ + rows)
        try body(session)
    }

    @Test func randomAndMutatedStatementsNeverCrash() throws {
        try withTables("""
            INSERT INTO f VALUES (1, 1, 1.5, 'a', 1), (2, 1, NULL, NULL, 2), (5, 2, 3.5, 'b', 9223372036854775807);
            INSERT INTO g VALUES ('2024-01-01 10:00:00', 1), ('2024-01-01 11:30:00', NULL)
            """) { session in
        var random = SeededRandom(state: 99)
        let count = environmentInt("OMEN_SQL_FUZZ", default: 20_000)
        var results = 0
        var errors = 0
        for index in 0..<count {
            var sql: String
            if index % 2 == 0 {
                sql = (0..<Int.random(in: 1...14, using: &random)).map { _ in Self.vocabulary.randomElement(using: &random)! }
                    .joined(separator: " ")
            } else {
                var characters = Array(Self.seeds.randomElement(using: &random)!)
                for _ in 0..<Int.random(in: 1...4, using: &random) {
                    let at = Int.random(in: 0..<characters.count, using: &random)
                    switch Int.random(in: 0..<3, using: &random) {
                    case 0: characters.remove(at: at)
                    case 1: characters.insert(Array("();,'\"-*0 x")[Int.random(in: 0..<11, using: &random)], at: at)
                    default: characters.swapAt(at, Int.random(in: 0..<characters.count, using: &random))
                    }
                    if characters.isEmpty { characters = ["x"] }
                }
                sql = String(characters)
            }
            do throws(SQLError) {
                _ = try session.execute(sql)
                results += 1
            } catch {
                errors += 1
                #expect(!error.code.isEmpty && !error.rendered(in: sql).isEmpty)
            }
            if session.inTransaction && Int.random(in: 0..<5, using: &random) == 0 { _ = try? session.execute("ROLLBACK") }
        }
        #expect(results + errors == count)
        #expect(results > count / 100, "the fuzzer should reach the executor, not only the parser")
        }
    }

    static let templates = [
        "SELECT $A < $B, $A = $B, $A >= $B", "SELECT $A + $B, $A - $B, $A * $B, $A / $B, $A % $B, -$A, abs($A)",
        "SELECT count(*) FROM f WHERE price < $A OR qty >= $B", "SELECT count(*) FROM f WHERE qty = $A AND price <> $B",
        "SELECT id FROM f ORDER BY id LIMIT $A OFFSET $B", "SELECT * FROM f LIMIT $A", "SELECT * FROM f OFFSET $A",
        "SELECT grp, sum(qty), avg(price), min(price * $A), max(qty + $B) FROM f GROUP BY grp",
        "SELECT sum(qty * $A), count(*) FROM f WHERE grp BETWEEN $A AND $B",
        "SELECT time_bucket(INTERVAL '$I', ts), count(*), sum(price) FROM g GROUP BY 1",
        "SELECT time_bucket(INTERVAL '$I', $T), $T < ts FROM g", "INSERT INTO g VALUES ($T, $A)",
        "UPDATE f SET qty = qty + $A WHERE id = 5", "SELECT * FROM g WHERE ts >= $T AND ts < $T ORDER BY ts DESC LIMIT $A",
        "SELECT $A, $B FROM f WHERE price / $A > $B",
        "SELECT CASE WHEN qty > $A THEN $B ELSE $A END, $A::bigint, CAST($B AS text) FROM f",
        "SELECT date_trunc('week', $T), extract(epoch FROM ts), date_part('doy', $T) FROM g",
        "SELECT lag(qty, $A, $B) OVER (ORDER BY id), lead(qty, $A) OVER (PARTITION BY grp ORDER BY qty), ntile($A) OVER (ORDER BY id) FROM f",
        "SELECT sum(qty) OVER (ORDER BY id ROWS BETWEEN 2 PRECEDING AND 1 FOLLOWING), avg(price * $A) OVER () FROM f",
        "SELECT substring(name, $A, $B), left(name, $A), right(name, $B), split_part(name, 'a', $A), repeat(name, $A) FROM f",
        "SELECT round(price, $A), round($A), trunc($B, $A), power($A, $B), mod($A, $B), lpad(name, $A), greatest($A, $B) FROM f",
        "SELECT * FROM f WHERE qty IN (SELECT $A) OR price > (SELECT max(price) * $B FROM f) ORDER BY id LIMIT $A",
        "SELECT count(DISTINCT qty * $A), sum(DISTINCT price) FROM f",
        "SELECT $T::date + $A, date_trunc('month', $T::date), $T::date - INTERVAL '$I', $T - $T, ts + INTERVAL '$I' FROM g",
        "SELECT INTERVAL '$I' * $A, INTERVAL '$I' / $B, -INTERVAL '$I', extract(epoch FROM INTERVAL '$I'), INTERVAL '$I' < INTERVAL '$I'",
    ]
    static let numbers = [
        "0", "1", "-1", "0.5", "9223372036854775807", "-9223372036854775808", "9223372036854775808",
        "-9223372036854775809", "9.3e18", "-9.3e18", "9223372036854775807.0", "9.2233720368547758e18", "1e308",
        "-1e308", "1e-308", "2147483648", "18446744073709551616", "NULL",
    ]
    static let timestamps = [
        "'0001-01-01 00:00:00'", "'9999-12-31 23:59:59.999999'", "'1970-01-01'", "'2000-01-01 00:00:00'",
        "'2024-02-29 12:00:00'",
    ]
    static let intervals = [
        "1 us", "9223372036854775807 us", "106751991 days", "1 day 9223372036854775807 us", "15 minutes",
        "153722867 minutes", "1 week", "9223372036854775807 months", "-9223372036854775808 days", "1 year ago",
        "-106751991 days -04:00:54.775808", "768614336404564650 years",
    ]

    /// Statements with extreme literals in every slot of templates that reach the row evaluator, the
    /// vectorized aggregates and the ordered time_bucket path: each yields a result or a `SQLError`, never a
    /// trap. `OMEN_SQL_EXTREMES` sets the number (5,000 by default).
    @Test func extremeLiteralsNeverTrap() throws {
        try withTables("""
            INSERT INTO f VALUES (1, 1, 1.5, 'a', 1), (2, 1, NULL, NULL, -9223372036854775808),
                (5, 2, 1e308, 'b', 9223372036854775807), (6, 2, -1e308, 'c', 0);
            INSERT INTO g VALUES ('0001-01-01 00:00:00', 1), ('9999-12-31 23:59:59', NULL), ('2024-01-01 11:30:00', 2)
            """) { session in
        var random = SeededRandom(state: 2026)
        let count = environmentInt("OMEN_SQL_EXTREMES", default: 5_000)
        var results = 0
        for _ in 0..<count {
            // Each $A, $B (numbers), $T (timestamps) and $I (intervals) gets its own draw.
            var sql = ""
            var slot = false
            for character in Self.templates.randomElement(using: &random)! {
                if character == "$" {
                    slot = true
                    continue
                }
                if slot {
                    let choices = character == "T" ? Self.timestamps : character == "I" ? Self.intervals : Self.numbers
                    sql += choices.randomElement(using: &random)!
                    slot = false
                } else {
                    sql.append(character)
                }
            }
            do throws(SQLError) {
                _ = try session.execute(sql)
                results += 1
            } catch {
                #expect(!error.code.isEmpty && !error.rendered(in: sql).isEmpty)
            }
        }
        #expect(results > count / 10, "most statements should run, not fail to parse")
        }
    }
}
