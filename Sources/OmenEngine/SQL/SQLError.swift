/// The stack a statement may use below where its parsing or planning began: deeper nesting is refused
/// with 54001 before the thread's stack could overflow (PostgreSQL's max_stack_depth, 2 MB by default,
/// plays the same part). A thread running SQL needs this much stack beyond its caller's.
enum StackBudget {
    static let bytes: UInt = 4 << 20

    /// The address of a local of the caller's frame: the stack grows down from where a statement began.
    @inline(never) static func here() -> UInt {
        var marker: UInt8 = 0
        return withUnsafePointer(to: &marker) { UInt(bitPattern: $0) }
    }

    /// The lowest address a statement starting here may reach.
    static func limit() -> UInt { here() &- bytes }

    /// 54001 once the stack is below `limit`.
    static func check(_ limit: UInt, at token: Token?) throws(SQLError) {
        guard here() < limit else { return }
        throw SQLError("54001", "statement too complex: it nests too deeply", at: token,
                       hint: "Flatten it: chains of AND and OR are fine at any length, and IN (...) takes a list.")
    }
}

/// A SQL error: a SQLSTATE code, a message, and where in the statement text it happened.
public struct SQLError: Error, Equatable, Sendable, CustomStringConvertible {
    public var code: String
    public var message: String
    /// 1-based line and column of the offending token, when the error has a position.
    public var line: Int?
    public var column: Int?
    public var hint: String?

    public init(_ code: String, _ message: String, at token: Token? = nil, hint: String? = nil) {
        self.code = code
        self.message = message
        self.line = token?.line
        self.column = token?.column
        self.hint = hint
    }

    public var description: String {
        var text = "ERROR \(code): \(message)"
        if let line, let column { text += " at line \(line), column \(column)" }
        return text
    }

    /// The message with the statement's offending line and a caret under the token, like psql.
    public func rendered(in sql: String) -> String {
        var lines = ["ERROR:  \(message)", "SQLSTATE: \(code)"]
        if let line, let column {
            let source = sql.split(separator: "\n", omittingEmptySubsequences: false)
            if line - 1 < source.count {
                let prefix = "LINE \(line): "
                lines.append(prefix + source[line - 1])
                lines.append(String(repeating: " ", count: prefix.count + column - 1) + "^")
            }
        }
        if let hint { lines.append("HINT:  \(hint)") }
        return lines.joined(separator: "\n")
    }

    static func syntax(_ message: String, at token: Token) -> SQLError { SQLError("42601", message, at: token) }
    static func undefinedTable(_ name: String, at token: Token? = nil) -> SQLError {
        SQLError("42P01", "relation \"\(name)\" does not exist", at: token)
    }
    static func undefinedColumn(_ name: String, at token: Token? = nil) -> SQLError {
        SQLError("42703", "column \"\(name)\" does not exist", at: token)
    }
    static func datatype(_ message: String, at token: Token? = nil) -> SQLError { SQLError("42804", message, at: token) }

    /// An engine error in SQL terms.
    init(_ error: EngineError) {
        switch error {
        case .tableExists(let name): self.init("42P07", "relation \"\(name)\" already exists")
        case .tableNotFound(let name): self = .undefinedTable(name)
        case .indexExists(let name): self.init("42P07", "relation \"\(name)\" already exists")
        case .indexNotFound(let name): self.init("42704", "index \"\(name)\" does not exist")
        case .indexRequired(_, let table):
            self.init("2BP01", error.description, hint: "Drop the table \(table) to drop it; the primary key needs it.")
        case .duplicateKey(let table, let key):
            self.init("23505", "duplicate key value violates unique constraint on \"\(table)\"",
                      hint: "Key (\(Evaluate.text(key))) already exists.")
        case .nullViolation: self.init("23502", error.description)
        case .typeMismatch: self.init("42804", error.description)
        case .writeConflict: self.init("40001", error.description, hint: "Retry the transaction.")
        case .invalidSchema, .invalidRow: self.init("22023", error.description)
        case .databaseLocked: self.init("55006", error.description)
        case .corrupt: self.init("XX001", error.description)
        case .io: self.init("58030", error.description)
        case .recordTooLarge: self.init("54000", error.description)
        case .transactionFinished, .closed: self.init("25000", error.description)
        case .readOnly:
            self.init("25006", error.description, hint: "It is a read-only snapshot; open the directory without --read-only, with write access, to change it.")
        }
    }
}
