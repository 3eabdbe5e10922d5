#if canImport(Glibc)
import Glibc
#endif

/// What one statement returned: rows for queries and EXPLAIN, a command tag for everything.
public struct QueryResult: Equatable, Sendable {
    public var columns: [String]
    public var rows: [[Value]]
    /// psql's command tag: `SELECT 3`, `INSERT 0 2`, `CREATE TABLE`...
    public var tag: String

    public init(columns: [String], rows: [[Value]], tag: String) {
        self.columns = columns
        self.rows = rows
        self.tag = tag
    }
}

/// A connection-like SQL front over a `Database`: statements run in autocommit transactions unless a
/// BEGIN opened one; an error inside an explicit transaction aborts it until ROLLBACK (as PostgreSQL).
/// DDL is transactional: CREATE TABLE inside a transaction is undone by its ROLLBACK (the table is created
/// at once, so a crash before COMMIT leaves it, empty); DROP TABLE inside one hides the table from the
/// transaction at once and drops it when the transaction commits (a crash between the commit and the drop
/// leaves the table).
public final class SQLSession {
    public let database: Database
    private var transaction: Transaction?
    private var aborted = false
    /// Tables the open transaction created: dropped again if it does not commit.
    private var createdInTransaction: [String] = []
    /// Tables the open transaction dropped: dropped for real when it commits.
    private(set) var droppedInTransaction: Set<String> = []

    public init(database: Database) { self.database = database }

    public var inTransaction: Bool { transaction != nil }

    /// Runs every statement of `sql`, stopping at the first error. `$1`, `$2`... in the statements read
    /// `parameters` (values, never SQL text: nothing in them is parsed).
    public func execute(_ sql: String, parameters: [Value] = []) throws(SQLError) -> [QueryResult] {
        var results: [QueryResult] = []
        for statement in try Parser.parse(sql) { results.append(try run(statement, parameters: parameters)) }
        return results
    }

    /// Runs one parsed statement.
    public func run(_ statement: Statement, parameters: [Value] = []) throws(SQLError) -> QueryResult {
        switch statement {
        case .begin:
            if transaction != nil { return QueryResult(columns: [], rows: [], tag: "BEGIN") }
            transaction = try engine { () throws(EngineError) in try database.begin() }
            aborted = false
            return QueryResult(columns: [], rows: [], tag: "BEGIN")
        case .commit:
            guard let open = transaction else { return QueryResult(columns: [], rows: [], tag: "COMMIT") }
            transaction = nil
            let dropped = droppedInTransaction
            droppedInTransaction = []
            if aborted {
                open.rollback()
                aborted = false
                undoCreatedTables()
                return QueryResult(columns: [], rows: [], tag: "ROLLBACK")
            }
            do throws(SQLError) {
                try engine { () throws(EngineError) in try open.commit() }
            } catch {
                undoCreatedTables()
                throw error
            }
            createdInTransaction = []
            for name in dropped.sorted() { try engine { () throws(EngineError) in try database.dropTable(name) } }
            return QueryResult(columns: [], rows: [], tag: "COMMIT")
        case .rollback:
            transaction?.rollback()
            transaction = nil
            aborted = false
            droppedInTransaction = []
            undoCreatedTables()
            return QueryResult(columns: [], rows: [], tag: "ROLLBACK")
        case .createTable(let schema, let ifNotExists):
            if aborted {
                throw SQLError("25P02", "current transaction is aborted, commands ignored until end of transaction block")
            }
            if droppedInTransaction.contains(schema.name) {
                throw SQLError("0A000", "table \"\(schema.name)\" was dropped in this transaction; it can be created again after COMMIT")
            }
            do {
                try database.createTable(schema)
                if transaction != nil { createdInTransaction.append(schema.name) }
            } catch .tableExists where ifNotExists {
            } catch { throw SQLError(error) }
            return QueryResult(columns: [], rows: [], tag: "CREATE TABLE")
        case .dropTable(let name, let ifExists, let token):
            if aborted {
                throw SQLError("25P02", "current transaction is aborted, commands ignored until end of transaction block")
            }
            if transaction != nil {
                if droppedInTransaction.contains(name) || (try? database.schema(name)) == nil {
                    if ifExists { return QueryResult(columns: [], rows: [], tag: "DROP TABLE") }
                    aborted = true
                    throw SQLError.undefinedTable(name, at: token)
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
                    return try Executor(session: self, transaction: open, parameters: parameters).run(statement)
                } catch {
                    aborted = true
                    throw error
                }
            }
            let autocommit = try engine { () throws(EngineError) in try database.begin() }
            do {
                let result = try Executor(session: self, transaction: autocommit, parameters: parameters).run(statement)
                try engine { () throws(EngineError) in try autocommit.commit() }
                return result
            } catch {
                autocommit.rollback()
                throw error
            }
        }
    }

    /// Drops the tables a transaction that did not commit created.
    private func undoCreatedTables() {
        for name in createdInTransaction.reversed() { try? database.dropTable(name) }
        createdInTransaction = []
    }

    func engine<T>(_ body: () throws(EngineError) -> T) throws(SQLError) -> T {
        do { return try body() } catch { throw SQLError(error) }
    }
}
