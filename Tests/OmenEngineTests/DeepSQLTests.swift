import Testing
@testable import OmenEngine

/// Statements nested past the stack budget (or the parser's depth limit) are refused with 54001, never a
/// stack overflow, at 100,000 levels of every recursive construct; moderate nesting runs; chains of AND and
/// OR run at any length.
@Suite struct DeepSQLTests {
    static let levels = environmentInt("OMEN_SQL_DEPTH", default: 100_000)

    static func nested(_ depth: Int, _ open: String, _ core: String, _ close: String) -> String {
        String(repeating: open, count: depth) + core + String(repeating: close, count: depth)
    }

    static func constructs(_ depth: Int) -> [String: String] {
        [
            "parentheses": "SELECT " + nested(depth, "(", "1", ")"),
            "NOT": "SELECT " + String(repeating: "NOT ", count: depth) + "true",
            "minus": "SELECT " + String(repeating: "- ", count: depth) + "1",
            "coalesce": "SELECT " + nested(depth, "coalesce(", "1", ", 2)"),
            "CASE": "SELECT " + nested(depth, "CASE WHEN true THEN ", "1", " END"),
            "scalar subquery": "SELECT " + nested(depth, "(SELECT ", "1", ")"),
            "derived table": nested(depth, "SELECT * FROM (", "SELECT 1 AS x", ") AS d"),
            "plus chain": "SELECT 1" + String(repeating: " + 1", count: depth),
            "concatenation chain": "SELECT 'a'" + String(repeating: " || 'a'", count: depth),
            "IN nesting": "SELECT 1 IN " + nested(depth, "(", "1", ")"),
        ]
    }

    func run(_ sql: String) throws -> String? {
        let scratch = try ScratchSession()
        defer { scratch.close() }
        do throws(SQLError) {
            _ = try scratch.session.execute(sql)
            return nil
        } catch {
            return error.code
        }
    }

    @Test func deepNestingIsRefusedNotACrash() throws {
        for (name, sql) in Self.constructs(Self.levels) {
            #expect(try run(sql) == "54001", "\(name) at \(Self.levels) levels")
        }
    }

    @Test func nestingUnderTheLimitRuns() throws {
        // 40 levels fit the stack budget even in a debug build, whose frames are several times a release's.
        for (name, sql) in Self.constructs(40) {
            #expect(try run(sql) == nil, "\(name) under the limit")
        }
    }

    @Test func longAndOrChainsRun() throws {
        let scratch = try ScratchSession("CREATE TABLE t (id BIGINT PRIMARY KEY); INSERT INTO t VALUES (1), (2), (3)")
        defer { scratch.close() }
        let session = scratch.session
        let ors = (0..<Self.levels).map { "id = \($0 % 2 == 0 ? 2 : -$0)" }.joined(separator: " OR ")
        #expect(try session.execute("SELECT id FROM t WHERE \(ors)")[0].rows == [[.int64(2)]])
        let ands = (0..<Self.levels).map { "id > \(-$0)" }.joined(separator: " AND ")
        #expect(try session.execute("SELECT count(*) FROM t WHERE \(ands)")[0].rows == [[.int64(3)]])
    }
}
