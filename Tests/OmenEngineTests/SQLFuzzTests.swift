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
    ]

    static let vocabulary = [
        "SELECT", "FROM", "WHERE", "GROUP", "BY", "ORDER", "LIMIT", "OFFSET", "HAVING", "AND", "OR", "NOT", "NULL",
        "IS", "IN", "BETWEEN", "INSERT", "INTO", "VALUES", "UPDATE", "SET", "DELETE", "CREATE", "TABLE", "DROP",
        "JOIN", "ON", "AS", "EXPLAIN", "BEGIN", "COMMIT", "ROLLBACK", "INTERVAL", "PRIMARY", "KEY", "f", "g", "h",
        "id", "grp", "price", "name", "qty", "ts", "count", "sum", "avg", "min", "max", "time_bucket", "*", "(",
        ")", ",", ";", "=", "<>", "<", "<=", ">", ">=", "+", "-", "/", "%", "||", ".", "0", "1", "-1",
        "9223372036854775807", "1e308", "2.5", "'x'", "'2024-01-01'", "'1 hour'", "''", "\"q\"", "'", "\"", "--",
        "/*", "BIGINT", "TEXT", "TIMESTAMP", "DOUBLE", "PRECISION", "BOOLEAN", "TRUE", "FALSE", "COPY", "TO", "HEADER",
    ]

    @Test func randomAndMutatedStatementsNeverCrash() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let database = try Database.open(directory.path)
        defer { try? database.close() }
        let session = SQLSession(database: database)
        _ = try session.execute("""
            CREATE TABLE f (id BIGINT PRIMARY KEY, grp BIGINT, price DOUBLE PRECISION, name TEXT, qty BIGINT);
            CREATE TABLE g (ts TIMESTAMP PRIMARY KEY, price DOUBLE PRECISION);
            INSERT INTO f VALUES (1, 1, 1.5, 'a', 1), (2, 1, NULL, NULL, 2), (5, 2, 3.5, 'b', 9223372036854775807);
            INSERT INTO g VALUES ('2024-01-01 10:00:00', 1), ('2024-01-01 11:30:00', NULL)
            """)
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
            do {
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
