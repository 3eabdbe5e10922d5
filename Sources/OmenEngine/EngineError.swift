#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Every failure the engine reports.
public enum EngineError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Another process holds the database directory.
    case databaseLocked(path: String, pid: Int32)
    /// A system call failed.
    case io(path: String, operation: String, errno: Int32)
    /// A file's bytes are damaged where they cannot be a torn tail.
    case corrupt(file: String, offset: Int, reason: String)
    case invalidSchema(String)
    case invalidRow(String)
    case tableExists(String)
    case tableNotFound(String)
    case indexExists(String)
    case indexNotFound(String)
    /// The index enforces a table's primary key: it goes only with the table.
    case indexRequired(index: String, table: String)
    case typeMismatch(column: String, expected: ColumnType)
    case nullViolation(column: String)
    case duplicateKey(table: String, key: Value)
    /// Another transaction committed (or is committing) a write to the same key after this one's snapshot
    /// (the key is NULL where the row is gone from both sides).
    case writeConflict(table: String, key: Value)
    /// A transaction's log record would exceed the 4 GiB a record's length can describe.
    case recordTooLarge(bytes: Int)
    /// The transaction already committed or rolled back.
    case transactionFinished
    /// The database was closed.
    case closed
    /// The database is open read-only (a snapshot, or a directory that cannot be written).
    case readOnly(path: String)

    public var description: String {
        switch self {
        case .databaseLocked(let path, let pid): "database \(path) is in use by process \(pid)"
        case .io(let path, let operation, let code): "\(operation) \(path) failed: \(String(cString: strerror(code))) (errno \(code))"
        case .corrupt(let file, let offset, let reason): "\(file) is corrupt at byte \(offset): \(reason)"
        case .invalidSchema(let reason): "invalid table definition: \(reason)"
        case .invalidRow(let reason): "invalid row: \(reason)"
        case .tableExists(let name): "table \"\(name)\" already exists"
        case .tableNotFound(let name): "table \"\(name)\" does not exist"
        case .indexExists(let name): "index \"\(name)\" already exists"
        case .indexNotFound(let name): "index \"\(name)\" does not exist"
        case .indexRequired(let index, let table):
            "cannot drop index \(index) because it enforces the primary key of table \(table)"
        case .typeMismatch(let column, let expected): "column \"\(column)\" is of type \(expected)"
        case .nullViolation(let column): "null value in column \"\(column)\" violates not-null constraint"
        case .duplicateKey(let table, let key): "duplicate key \(Evaluate.text(key)) in table \"\(table)\""
        case .writeConflict(let table, let key):
            "could not serialize access: \(key == .null ? "a row" : "key " + Evaluate.text(key)) of \"\(table)\" was written by a concurrent transaction"
        case .recordTooLarge(let bytes):
            "a transaction's log record of \(bytes) bytes exceeds the log's limit of 4 GiB; commit it in smaller transactions"
        case .transactionFinished: "the transaction has already finished"
        case .closed: "the database is closed"
        case .readOnly(let path): "database \(path) is open read-only"
        }
    }
}
