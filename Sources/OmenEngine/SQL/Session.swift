#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// What one statement returned: rows for queries and EXPLAIN, a command tag for everything.
public struct QueryResult: Equatable, Sendable {
    public var columns: [String]
    public var rows: [[Value]]
    /// psql's command tag: `SELECT 3`, `INSERT 0 2`, `CREATE TABLE`...
    public var tag: String
    /// COPY ... TO STDOUT's CSV.
    public var copyData: [UInt8]?
    /// Each column's type where the statement fixes one (nil: the column holds only NULLs, or nothing
    /// says); as many as `columns`.
    public var types: [ColumnType?]

    public init(columns: [String], rows: [[Value]], tag: String, copyData: [UInt8]? = nil, types: [ColumnType?]? = nil) {
        self.columns = columns
        self.rows = rows
        self.tag = tag
        self.copyData = copyData
        self.types = types ?? columns.indices.map { column in rows.lazy.compactMap { $0[column].type }.first }
    }
}

/// A connection-like SQL front over a `Database`: statements run in autocommit transactions unless a
/// BEGIN opened one; an error inside an explicit transaction aborts it until ROLLBACK (as PostgreSQL).
/// DDL is transactional: CREATE TABLE and DROP TABLE inside a transaction take effect with its commit,
/// logged in its commit record (a crash before it leaves neither), and its ROLLBACK undoes them.
public final class SQLSession {
    public let database: Database
    private var transaction: Transaction?
    private var aborted = false
    /// Tables the open transaction dropped, which its statements no longer see.
    private(set) var droppedInTransaction: Set<String> = []

    public init(database: Database) { self.database = database }

    public var inTransaction: Bool { transaction != nil }

    /// Whether the open transaction failed and waits for ROLLBACK (ReadyForQuery's 'E').
    public var transactionFailed: Bool { aborted }

    var openTransaction: Transaction? { transaction }

    /// Cancels the running statement (57014) at its next check: safe from a signal handler, as it only
    /// sets an atomic flag. A statement that starts clears it.
    public let cancellation = Cancellation()

    /// PostgreSQL's statement_timeout: a statement running longer stops with 57014 (nil: no limit).
    public var statementTimeout: Duration?

    /// Runs every statement of `sql`, stopping at the first error. `$1`, `$2`... in the statements read
    /// `parameters` (values, never SQL text: nothing in them is parsed). `copyData` is the CSV that
    /// COPY ... FROM STDIN reads.
    public func execute(_ sql: String, parameters: [Value] = [], copyData: [UInt8]? = nil) throws(SQLError) -> [QueryResult] {
        var results: [QueryResult] = []
        for statement in try Parser.parse(sql) { results.append(try run(statement, parameters: parameters, copyData: copyData)) }
        return results
    }

    /// Runs one parsed statement.
    public func run(_ statement: Statement, parameters: [Value] = [], copyData: [UInt8]? = nil) throws(SQLError) -> QueryResult {
        cancellation.start(timeout: statementTimeout)
        switch statement {
        case .begin:
            if transaction != nil { return QueryResult(columns: [], rows: [], tag: "BEGIN") }
            transaction = try engine { () throws(EngineError) in try database.begin() }
            aborted = false
            return QueryResult(columns: [], rows: [], tag: "BEGIN")
        case .commit:
            guard let open = transaction else { return QueryResult(columns: [], rows: [], tag: "COMMIT") }
            transaction = nil
            droppedInTransaction = []
            if aborted {
                open.rollback()
                aborted = false
                return QueryResult(columns: [], rows: [], tag: "ROLLBACK")
            }
            try engine { () throws(EngineError) in try open.commit() }
            return QueryResult(columns: [], rows: [], tag: "COMMIT")
        case .rollback:
            transaction?.rollback()
            transaction = nil
            aborted = false
            droppedInTransaction = []
            return QueryResult(columns: [], rows: [], tag: "ROLLBACK")
        case .createTable(let schema, let ifNotExists):
            if aborted {
                throw SQLError("25P02", "current transaction is aborted, commands ignored until end of transaction block")
            }
            if droppedInTransaction.contains(schema.name) {
                throw SQLError("0A000", "table \"\(schema.name)\" was dropped in this transaction; it can be created again after COMMIT")
            }
            do {
                if let open = transaction { try database.createTable(schema, in: open) } else { try database.createTable(schema) }
            } catch .tableExists where ifNotExists {
            } catch {
                if transaction != nil { aborted = true }
                throw SQLError(error)
            }
            return QueryResult(columns: [], rows: [], tag: "CREATE TABLE")
        case .dropTable(let name, let ifExists, let token):
            if aborted {
                throw SQLError("25P02", "current transaction is aborted, commands ignored until end of transaction block")
            }
            if let open = transaction {
                if droppedInTransaction.contains(name) || (try? database.schema(name)) == nil {
                    if ifExists { return QueryResult(columns: [], rows: [], tag: "DROP TABLE") }
                    aborted = true
                    throw SQLError.undefinedTable(name, at: token)
                }
                do {
                    try database.dropTable(name, in: open)
                } catch {
                    aborted = true
                    throw SQLError(error)
                }
                droppedInTransaction.insert(name)
                return QueryResult(columns: [], rows: [], tag: "DROP TABLE")
            }
            do {
                try database.dropTable(name)
            } catch .tableNotFound(let missing) {
                if !ifExists { throw SQLError.undefinedTable(missing, at: token) }
            } catch { throw SQLError(error) }
            return QueryResult(columns: [], rows: [], tag: "DROP TABLE")
        case .createIndex, .dropIndex:
            if transaction != nil {
                let refused = aborted
                    ? SQLError("25P02", "current transaction is aborted, commands ignored until end of transaction block")
                    : Self.indexStatementInTransaction(statement)
                aborted = true
                throw refused
            }
            return try runIndexStatement(statement)
        default:
            if aborted {
                throw SQLError("25P02", "current transaction is aborted, commands ignored until end of transaction block")
            }
            if let open = transaction {
                do {
                    return try Executor(session: self, transaction: open, parameters: parameters, copyData: copyData).run(statement)
                } catch {
                    aborted = true
                    throw error
                }
            }
            return try autocommit(statement, parameters: parameters, copyData: copyData) { transaction, _ throws(EngineError) in
                try transaction.commit()
            }
        }
    }

    /// Runs `statement` in a transaction of its own, ended by `commit` with the statement's result; rolled
    /// back if either fails.
    private func autocommit(
        _ statement: Statement, parameters: [Value], copyData: [UInt8]?,
        commit: (Transaction, QueryResult) throws(EngineError) -> Void
    ) throws(SQLError) -> QueryResult {
        let autocommit = try engine { () throws(EngineError) in try database.begin() }
        do {
            let result = try Executor(session: self, transaction: autocommit, parameters: parameters, copyData: copyData).run(statement)
            try engine { () throws(EngineError) in try commit(autocommit, result) }
            return result
        } catch {
            autocommit.rollback()
            throw error
        }
    }

    /// `run`, except that a commit (an autocommit INSERT, UPDATE or DELETE, or COMMIT) does not wait for
    /// the disk: it returns nil, and `done` gets the statement's result once the commit is durable, or the
    /// commit's failure, from the log's flusher thread. Refusals before the wait (a write
    /// conflict) are thrown as by `run`. The session must take no other statement until `done` is called.
    public func run(_ statement: Statement, parameters: [Value] = [],
                    whenDurable done: @escaping @Sendable (Result<QueryResult, SQLError>) -> Void) throws(SQLError) -> QueryResult? {
        func outcome(_ result: QueryResult) -> @Sendable (EngineError?) -> Void {
            { error in done(error.map { .failure(SQLError($0)) } ?? .success(result)) }
        }
        switch statement {
        case .commit where transaction != nil && !aborted:
            cancellation.start(timeout: statementTimeout)
            let open = transaction!
            transaction = nil
            droppedInTransaction = []
            try engine { () throws(EngineError) in try open.commit(whenDurable: outcome(QueryResult(columns: [], rows: [], tag: "COMMIT"))) }
            return nil
        case .insert where transaction == nil, .update where transaction == nil, .delete where transaction == nil:
            cancellation.start(timeout: statementTimeout)
            _ = try autocommit(statement, parameters: parameters, copyData: nil) { transaction, result throws(EngineError) in
                try transaction.commit(whenDurable: outcome(result))
            }
            return nil
        default:
            return try run(statement, parameters: parameters)
        }
    }

    func engine<T>(_ body: () throws(EngineError) -> T) throws(SQLError) -> T {
        do { return try body() } catch { throw SQLError(error) }
    }
}

/// A request to cancel a session's running statement, and its deadline, polled by the executor's loops.
public final class Cancellation: Sendable {
    private let requested = Atomic<Bool>(false)
    /// CLOCK_MONOTONIC nanoseconds past which the statement stops; 0 for none.
    private let deadline = Atomic<Int64>(0)

    init() {}

    /// Asks the running statement to stop; lock-free, so a signal handler may call it.
    public func request() { requested.store(true, ordering: .relaxed) }

    /// A statement starts: no request yet, and its deadline `timeout` from now.
    func start(timeout: Duration?) {
        requested.store(false, ordering: .relaxed)
        let nanoseconds = timeout.map { $0.components.seconds * 1_000_000_000 + $0.components.attoseconds / 1_000_000_000 }
        deadline.store(nanoseconds.map { Self.now() &+ max($0, 1) } ?? 0, ordering: .relaxed)
    }

    /// Throws PostgreSQL's 57014 if a cancel was requested or the deadline passed.
    func check() throws(SQLError) {
        if requested.load(ordering: .relaxed) { throw SQLError("57014", "canceling statement due to user request") }
        let limit = deadline.load(ordering: .relaxed)
        if limit != 0 && Self.now() > limit { throw SQLError("57014", "canceling statement due to statement timeout") }
    }

    private static func now() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
    }
}
