import Testing
@testable import OmenEngine

/// `$n` parameters through the Swift API: values, never parsed as SQL; they bound key ranges like literals.
@Suite struct ParameterTests {
    func withSession(_ body: (SQLSession) throws -> Void) throws {
        let scratch = try ScratchSession("CREATE TABLE p (ts TIMESTAMP PRIMARY KEY, name TEXT, v DOUBLE PRECISION)")
        defer { scratch.close() }
        try body(scratch.session)
    }

    @Test func parametersAreValues() throws {
        try withSession { session in
            let hostile = "x'); DROP TABLE p; --"
            _ = try session.execute("INSERT INTO p VALUES ($1, $2, $3), ($4, $2, NULL)",
                                    parameters: [.text("2024-01-01 00:00:00"), .text(hostile), .double(1.5), .timestamp(3_600_000_000)])
            let rows = try session.execute("SELECT name, v FROM p WHERE ts >= $1 ORDER BY ts", parameters: [.text("2023-06-01")])[0].rows
            #expect(rows == [[.text(hostile), .double(1.5)]])
            #expect(try session.execute("SELECT count(*) FROM p WHERE name = $1", parameters: [.text(hostile)])[0].rows == [[.int64(2)]])
        }
    }

    @Test func parametersBoundTheKeyRange() throws {
        try withSession { session in
            let plan = try session.execute("EXPLAIN SELECT * FROM p WHERE ts >= $1 AND ts < $2",
                                           parameters: [.text("2024-01-01"), .text("2024-01-02")])[0].rows
            #expect(plan.first == [.text("Learned Index Range Scan on p using primary key (ts)")])
            #expect(plan.dropFirst().first == [.text("  Key Range: [2024-01-01 00:00:00, 2024-01-02 00:00:00)")])
        }
    }

    @Test func missingParameterIsAnError() throws {
        try withSession { (session) throws -> Void in
            #expect(throws: SQLError.self) { try session.execute("SELECT $2", parameters: [.int64(1)]) }
            var code: String?
            do throws(SQLError) { _ = try session.execute("SELECT $1 + 1") } catch { code = error.code }
            #expect(code == "08P01")
            let answer = try session.execute("SELECT $1 + 1", parameters: [.int64(41)])
            #expect(answer[0].rows == [[.int64(42)]])
        }
    }

    /// Values only the Swift API can make (a date of 2^63 days, intervals of extreme parts) in every
    /// expression that reads dates, timestamps and intervals: a result or an error, never a trap.
    @Test func extremeParameterValuesNeverTrap() throws {
        try withSession { session in
            let extremes: [Value] = [
                .date(.max), .date(.min), .date(0), .timestamp(.max), .timestamp(.min),
                .interval(Interval(months: .max, days: .max, micros: .max)), .interval(Interval(months: .min, days: .min, micros: .min)),
                .interval(Interval(months: 1, days: -1, micros: .min)), .int64(.min), .double(.nan),
            ]
            let expressions = [
                "$1::text", "$1 + $2", "$1 - $2", "$1 * 2", "-$1", "$1 < $2", "$1 = $2", "date_trunc('month', $1)",
                "extract(epoch FROM $1)", "$1::date", "$1::timestamp", "$1 + INTERVAL '1 month'", "$1 / 3",
            ]
            for expression in expressions {
                for a in extremes {
                    for b in extremes {
                        do throws(SQLError) {
                            _ = try session.execute("SELECT \(expression)", parameters: [a, b])
                        } catch {
                            #expect(!error.code.isEmpty)
                        }
                    }
                }
            }
        }
    }
}

/// The plannerless point read (`SQLSession.pointRead`, `readRow`) that `omendb serve` runs for prepared
/// lookups: the same rows as the planned statement, in and out of transactions, or nil where it does not
/// apply.
@Suite struct PointReadTests {
    @Test func sameRowsAsThePlannedStatement() throws {
        let scratch = try ScratchSession("CREATE TABLE kv (k BIGINT PRIMARY KEY, v TEXT, d DOUBLE PRECISION)")
        defer { scratch.close() }
        let session = scratch.session
        for k in 1...50 { _ = try session.execute("INSERT INTO kv VALUES ($1, $2, $3)", parameters: [.int64(Int64(k)), k % 7 == 0 ? .null : .text("v\(k)"), .double(Double(k) / 4)]) }
        let eligible = ["SELECT v FROM kv WHERE k = $1", "SELECT * FROM kv WHERE $1 = k", "SELECT d, v, k FROM kv t WHERE t.k = $1", "SELECT t.* FROM kv t WHERE k = $1"]
        let reads = try eligible.map { sql in (try Parser.parse(sql)[0], sql) }
        func compare(_ context: String) throws {
            for (statement, sql) in reads {
                let read = try #require(session.pointRead(statement), "\(sql)")
                for key: Value in [.int64(1), .int64(7), .int64(50), .int64(51), .int64(-3), .int64(1000), .int64(5)] {
                    let expected = try session.run(statement, parameters: [key]).rows
                    #expect(try session.readRow(read, parameters: [key]) == expected, "\(context): \(sql) with \(key)")
                }
                #expect(try session.readRow(read, parameters: [.null]) == nil && session.readRow(read, parameters: [.double(2)]) == nil)
            }
        }
        try compare("autocommit")
        _ = try session.execute("BEGIN; INSERT INTO kv VALUES (1000, 'mine', 0); DELETE FROM kv WHERE k = 5")
        try compare("own writes in a transaction")
        _ = try session.execute("ROLLBACK")
        try compare("after the rollback")
        let read = try #require(session.pointRead(reads[0].0))
        _ = try session.execute("BEGIN")
        do { _ = try session.execute("SELECT 1 / 0") } catch {}
        do throws(SQLError) {
            _ = try session.readRow(read, parameters: [.int64(1)])
            Issue.record("read in an aborted transaction")
        } catch { #expect(error.code == "25P02") }
        _ = try session.execute("ROLLBACK; DROP TABLE kv; CREATE TABLE kv (k BIGINT PRIMARY KEY, w BIGINT)")
        #expect(try session.readRow(read, parameters: [.int64(1)]) == nil, "a read prepared for the dropped table")
        for sql in ["SELECT v FROM kv WHERE k = $1 AND d > 0", "SELECT w + 1 FROM kv WHERE k = $1", "SELECT w FROM kv WHERE k = 3",
                    "SELECT w FROM kv WHERE k >= $1", "SELECT count(*) FROM kv WHERE k = $1"] {
            #expect(session.pointRead(try Parser.parse(sql)[0]) == nil, "\(sql)")
        }
    }
}
