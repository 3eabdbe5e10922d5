import CSQLite

/// The few SQLite calls the comparison needs, failing loudly.
final class SQLiteDatabase {
    private var handle: OpaquePointer?

    init(path: String) {
        guard sqlite3_open(path, &handle) == SQLITE_OK else { fatalError("sqlite3_open \(path)") }
    }

    deinit { sqlite3_close(handle) }

    func execute(_ sql: String) {
        var message: UnsafeMutablePointer<CChar>?
        if sqlite3_exec(handle, sql, nil, nil, &message) != SQLITE_OK {
            fatalError("\(sql): \(message.map { String(cString: $0) } ?? "?")")
        }
    }

    func prepare(_ sql: String) -> Statement {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK else {
            fatalError("prepare \(sql): \(String(cString: sqlite3_errmsg(handle)))")
        }
        return Statement(statement!)
    }
}

final class Statement {
    let raw: OpaquePointer
    init(_ raw: OpaquePointer) { self.raw = raw }
    deinit { sqlite3_finalize(raw) }

    func bind(_ index: Int32, _ value: Int64) { sqlite3_bind_int64(raw, index, value) }
    func bind(_ index: Int32, _ value: Double) { sqlite3_bind_double(raw, index, value) }

    /// Steps once; true while a row is available.
    func step() -> Bool {
        switch sqlite3_step(raw) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: fatalError("sqlite3_step: \(sqlite3_errcode(sqlite3_db_handle(raw)))")
        }
    }

    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(raw, column) }
    func double(_ column: Int32) -> Double { sqlite3_column_double(raw, column) }

    func reset() {
        sqlite3_reset(raw)
        sqlite3_clear_bindings(raw)
    }
}
