#if canImport(Glibc)
import Glibc
#endif
import CSQLite
import Testing
@testable import OmenEngine

/// Runs the sqllogictest-style corpus in Tests/sql through OmenDB's SQL, and every query not marked
/// `nosqlite` through SQLite too, on the same statements: both must give the expected rows.
///
/// Format: `statement ok` / `statement error SQLSTATE` / `query [rowsort] [nosqlite]` headers, the SQL on
/// the following lines; a query's expected rows follow `----`, one per line, values joined by `|`,
/// NULL as `NULL`. A blank line ends a record; `#` starts a comment line. Other header words (`duckdb`,
/// `noduckdb`) are Tests/sql/duckdb_check.py's, ignored here.
@Suite struct SQLLogicTests {
    struct Record {
        enum Kind { case ok, error(String), query(rowsort: Bool) }
        var kind: Kind
        var sql: String
        var expected: [String]
        var sqlite: Bool
        var line: Int
    }

    static var corpusDirectory: String {
        // This file is Tests/OmenEngineTests/SQLLogicTests.swift; the corpus is Tests/sql.
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(2)
        return parts.joined(separator: "/") + "/sql"
    }

    static func files() -> [String] {
        TemporaryDirectory.list(corpusDirectory).filter { $0.hasSuffix(".test") }
    }

    static func parse(_ text: String) -> [Record] {
        var records: [Record] = []
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var index = 0
        while index < lines.count {
            let header = lines[index].split(separator: " ").map(String.init)
            index += 1
            guard let first = header.first, !first.hasPrefix("#") else { continue }
            let kind: Record.Kind
            switch first {
            case "statement": kind = header.count > 1 && header[1] == "error" ? .error(header.count > 2 ? header[2] : "") : .ok
            case "query": kind = .query(rowsort: header.contains("rowsort"))
            default: continue
            }
            let start = index
            var sql: [String] = []
            while index < lines.count && !lines[index].isEmpty && lines[index] != "----" { sql.append(lines[index]); index += 1 }
            var expected: [String] = []
            if index < lines.count && lines[index] == "----" {
                index += 1
                while index < lines.count && !lines[index].isEmpty { expected.append(lines[index]); index += 1 }
            }
            records.append(Record(kind: kind, sql: sql.joined(separator: "\n"), expected: expected,
                                  sqlite: !header.contains("nosqlite"), line: start))
        }
        return records
    }

    static func render(_ value: Value) -> String {
        value == .null ? "NULL" : Evaluate.text(value)
    }

    @Test(arguments: files())
    func corpus(_ file: String) throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let database = try Database.open(directory.path)
        defer { database.close() }
        let session = SQLSession(database: database)
        let sqlite = SQLiteOracle()
        let text = String(decoding: RawFile.read(Self.corpusDirectory + "/" + file), as: UTF8.self)
        var queries = 0
        for record in Self.parse(text) {
            let location = "\(file):\(record.line)"
            switch record.kind {
            case .ok:
                do { _ = try session.execute(record.sql) } catch {
                    Issue.record("\(location): \(error.rendered(in: record.sql))")
                }
                if record.sqlite { sqlite.execute(record.sql) }
            case .error(let code):
                do {
                    _ = try session.execute(record.sql)
                    Issue.record("\(location): expected error \(code), the statement succeeded")
                } catch {
                    #expect(code.isEmpty || error.code == code, "\(location): \(error.rendered(in: record.sql))")
                    #expect(error.line != nil || error.code != "42601", "\(location): a syntax error without a position")
                }
            case .query(let rowsort):
                queries += 1
                var rows: [String] = []
                do {
                    for result in try session.execute(record.sql) {
                        rows = result.rows.map { $0.map(Self.render).joined(separator: "|") }
                    }
                } catch {
                    Issue.record("\(location): \(error.rendered(in: record.sql))")
                    continue
                }
                if rowsort { rows.sort() }
                #expect(rows == record.expected, "\(location): OmenDB")
                if record.sqlite {
                    var theirs = sqlite.query(record.sql)
                    if rowsort { theirs.sort() }
                    #expect(theirs == record.expected, "\(location): SQLite")
                }
            }
        }
        #expect(queries > 0)
    }

    @Test func corpusHasAtLeast1000Queries() {
        var total = 0
        for file in Self.files() {
            let text = String(decoding: RawFile.read(Self.corpusDirectory + "/" + file), as: UTF8.self)
            total += Self.parse(text).filter { if case .query = $0.kind { return true } else { return false } }.count
        }
        #expect(total >= 1000)
    }
}

/// SQLite in memory, rendering values as the corpus writes them.
final class SQLiteOracle {
    private var handle: OpaquePointer?

    init() { sqlite3_open(":memory:", &handle) }
    deinit { sqlite3_close(handle) }

    func execute(_ sql: String) {
        var message: UnsafeMutablePointer<CChar>?
        if sqlite3_exec(handle, sql, nil, nil, &message) != SQLITE_OK {
            Issue.record("SQLite: \(message.map { String(cString: $0) } ?? "?") in \(sql)")
        }
    }

    func query(_ sql: String) -> [String] {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK else {
            return ["SQLite error: \(String(cString: sqlite3_errmsg(handle)))"]
        }
        defer { sqlite3_finalize(statement) }
        var rows: [String] = []
        while sqlite3_step(statement) == SQLITE_ROW {
            var values: [String] = []
            for column in 0..<sqlite3_column_count(statement) {
                switch sqlite3_column_type(statement, column) {
                case SQLITE_NULL: values.append("NULL")
                case SQLITE_INTEGER: values.append(String(sqlite3_column_int64(statement, column)))
                case SQLITE_FLOAT: values.append(Evaluate.formatDouble(sqlite3_column_double(statement, column)))
                default: values.append(String(cString: sqlite3_column_text(statement, column)))
                }
            }
            rows.append(values.joined(separator: "|"))
        }
        return rows
    }
}
