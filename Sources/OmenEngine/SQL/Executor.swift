#if canImport(Glibc)
import Glibc
#endif

/// Runs one DML or query statement inside a transaction.
struct Executor {
    let session: SQLSession
    let transaction: Transaction
    /// The values of the statement's `$n` parameters.
    var parameters: [Value] = []
    /// COPY ... FROM STDIN's data.
    var copyData: [UInt8]?
    var database: Database { session.database }

    func engine<T>(_ body: () throws(EngineError) -> T) throws(SQLError) -> T { try session.engine(body) }

    func checkCancelled() throws(SQLError) { try session.cancellation.check() }

    func schema(_ table: TableReference) throws(SQLError) -> TableSchema {
        if session.droppedInTransaction.contains(table.name) { throw SQLError.undefinedTable(table.name, at: table.token) }
        do { return try database.schema(table.name) } catch .tableNotFound {
            throw SQLError.undefinedTable(table.name, at: table.token)
        } catch { throw SQLError(error) }
    }

    func run(_ statement: Statement) throws(SQLError) -> QueryResult {
        switch statement {
        case .query(let query):
            let plan = try Planner(self).plan(query, outer: nil)
            let (rows, types) = try plan.result()
            return QueryResult(columns: plan.names, rows: rows, tag: "SELECT \(rows.count)", types: types)
        case .insert(let table, let columns, let source, let onConflict, let returning):
            return try insert(table, columns, source, onConflict, returning)
        case .update(let table, let assignments, let filter, let returning): return try update(table, assignments, filter, returning)
        case .delete(let table, let filter, let returning): return try delete(table, filter, returning)
        case .copyFrom(let table, let columns, let path, let header, let format):
            return try CSV.copyFrom(self, table, columns: columns, path: path, data: copyData, header: header, format: format ?? .csv)
        case .copyTo(let table, let path, let header, let format):
            return try CSV.copyTo(self, table, path: path, header: header, format: format ?? .csv)
        case .explain(let inner): return try explain(inner)
        default: throw SQLError("0A000", "statement not supported here")
        }
    }

    /// The value of an expression that names no column (nil planner: no subqueries, as in key ranges).
    func constant(_ expression: Expression, planner: Planner? = nil) throws(SQLError) -> Value {
        var scope = planner?.scope([], outer: nil) ?? Scope(columns: [])
        scope.parameters = parameters
        let evaluate = try Evaluate.compile(expression, scope)
        return try evaluate(RowBatch(columns: []), 0)
    }

    // MARK: Writes

    func insert(_ table: TableReference, _ names: [String]?, _ source: InsertSource, _ onConflict: ConflictAction?,
                _ returning: [SelectItem]) throws(SQLError) -> QueryResult {
        let schema = try schema(table)
        let planner = Planner(self)
        var targets: [Int] = []
        for name in names ?? schema.visibleColumns.map(\.name) {
            guard let index = schema.columnIndex(name) else { throw SQLError.undefinedColumn(name, at: table.token) }
            if targets.contains(index) { throw SQLError("42701", "column \"\(name)\" specified more than once", at: table.token) }
            targets.append(index)
        }
        // Each source row as (values, the token to blame for each value).
        var sourceRows: [([Value], [Token?])] = []
        switch source {
        case .values(let rows):
            for row in rows {
                try Self.checkWidth(row.count, targets.count, at: row.first?.token ?? table.token)
                var values: [Value] = []
                for expression in row { values.append(try constant(expression, planner: planner)) }
                sourceRows.append((values, row.map(\.token)))
            }
        case .query(let query):
            let plan = try planner.plan(query, outer: nil)
            try Self.checkWidth(plan.width, targets.count, at: table.token)
            for row in try plan.rows() { sourceRows.append((row, Array(repeating: table.token, count: row.count))) }
        }
        var values: [[Value]] = []
        for (row, tokens) in sourceRows {
            var full = [Value](repeating: .null, count: schema.columns.count)
            for (index, value) in row.enumerated() {
                full[targets[index]] = try Evaluate.coerce(value, to: schema.columns[targets[index]], tokens[index])
            }
            if full[schema.primaryKey] == .null {
                throw SQLError("23502", "null value in column \"\(schema.columns[schema.primaryKey].name)\" violates not-null constraint", at: table.token)
            }
            values.append(full)
        }
        var affected = values
        if let onConflict { affected = try resolveConflicts(table, schema: schema, values, onConflict, planner: planner) }
        else { try insertRows(table.name, schema: schema, values) }
        return try result("INSERT 0 \(affected.count)", table, schema, affected, returning, planner)
    }

    private static func checkWidth(_ given: Int, _ targets: Int, at token: Token?) throws(SQLError) {
        guard given == targets else {
            throw SQLError("42601", given > targets ? "INSERT has more expressions than target columns"
                                                    : "INSERT has more target columns than expressions", at: token)
        }
    }

    /// INSERT ... ON CONFLICT: rows whose key is free are inserted; the others are skipped (DO NOTHING)
    /// or updated from `excluded` (DO UPDATE, where its WHERE holds). A key proposed twice by one
    /// statement is skipped the second time by DO NOTHING and refused by DO UPDATE, as in PostgreSQL.
    /// Returns the rows inserted or updated, as they now are.
    private func resolveConflicts(_ table: TableReference, schema: TableSchema, _ rows: [[Value]], _ action: ConflictAction,
                                  planner: Planner) throws(SQLError) -> [[Value]] {
        let key = schema.primaryKey
        var scope = planner.tableScope(schema, label: table.label, outer: nil)
        scope.columns += schema.columns.map { ("excluded", $0.name, $0.type) }
        var setters: [(Int, Evaluator, Token)] = []
        for assignment in action.assignments {
            guard let index = schema.columnIndex(assignment.column) else { throw SQLError.undefinedColumn(assignment.column, at: assignment.token) }
            if index == key { throw SQLError("0A000", "ON CONFLICT DO UPDATE cannot change the primary key", at: assignment.token) }
            setters.append((index, try Evaluate.compile(assignment.value, scope), assignment.token))
        }
        let condition = try action.filter.map { (filter) throws(SQLError) in try Evaluate.compile(filter, scope) }
        var proposed: Set<Value> = []
        var fresh: [[Value]] = []
        var affected: [[Value]] = []
        for row in rows {
            guard proposed.insert(row[key]).inserted else {
                if action.assignments.isEmpty { continue }
                throw SQLError("21000", "ON CONFLICT DO UPDATE command cannot affect row a second time", at: action.token,
                               hint: "Ensure that no rows proposed for insertion within the same command have duplicate constrained values.")
            }
            guard let existing = try engine({ () throws(EngineError) in try transaction.get(table.name, primaryKey: row[key]) }) else {
                fresh.append(row)
                continue
            }
            if action.assignments.isEmpty { continue }
            let pair = RowBatch(columns: (existing + row).map { ColumnVector.single($0) })
            if let condition, try condition(pair, 0) != .bool(true) { continue }
            var changes: [String: Value] = [:]
            var updated = existing
            for (index, evaluate, token) in setters {
                let value = try Evaluate.coerce(try evaluate(pair, 0), to: schema.columns[index], token)
                changes[schema.columns[index].name] = value
                updated[index] = value
            }
            let stored = existing[schema.storageKey].integer!
            _ = try engine { () throws(EngineError) in try transaction.update(table.name, key: stored, set: changes) }
            affected.append(updated)
        }
        try insertRows(table.name, schema: schema, fresh)
        return fresh + affected
    }

    func insertRows(_ table: String, schema: TableSchema, _ rows: [[Value]]) throws(SQLError) {
        guard !rows.isEmpty else { return }
        try checkCancelled()
        var batch = RowBatch(schema: schema)
        for row in rows { batch.append(row) }
        try engine { () throws(EngineError) in try transaction.insert(table, batch: batch) }
    }

    func update(_ table: TableReference, _ assignments: [Assignment], _ filter: Expression?,
                _ returning: [SelectItem]) throws(SQLError) -> QueryResult {
        let schema = try schema(table)
        let planner = Planner(self)
        let scope = planner.tableScope(schema, label: table.label, outer: nil)
        var setters: [(Int, Evaluator, Token)] = []
        for assignment in assignments {
            guard let index = schema.columnIndex(assignment.column) else { throw SQLError.undefinedColumn(assignment.column, at: assignment.token) }
            setters.append((index, try Evaluate.compile(assignment.value, scope), assignment.token))
        }
        var affected: [[Value]] = []
        for batch in try TableScan(self, table, schema: schema, scope: scope, filter: filter).run() {
            for row in 0..<batch.count {
                let key = batch.columns[schema.storageKey].integers[row]
                var changes: [String: Value] = [:]
                var updated = batch.row(row)
                for (index, evaluate, token) in setters {
                    let value = try Evaluate.coerce(try evaluate(batch, row), to: schema.columns[index], token)
                    if index == schema.primaryKey && value != batch.columns[index].value(at: row) {
                        throw SQLError("0A000", "updating the primary key is not supported; delete the row and insert it again", at: token)
                    }
                    changes[schema.columns[index].name] = value
                    updated[index] = value
                }
                _ = try engine { () throws(EngineError) in try transaction.update(table.name, key: key, set: changes) }
                affected.append(updated)
                if affected.count % 1024 == 0 { try checkCancelled() }
            }
        }
        return try result("UPDATE \(affected.count)", table, schema, affected, returning, planner)
    }

    func delete(_ table: TableReference, _ filter: Expression?, _ returning: [SelectItem]) throws(SQLError) -> QueryResult {
        let schema = try schema(table)
        let planner = Planner(self)
        let scope = planner.tableScope(schema, label: table.label, outer: nil)
        var affected: [[Value]] = []
        for batch in try TableScan(self, table, schema: schema, scope: scope, filter: filter).run() {
            for row in 0..<batch.count {
                let key = batch.columns[schema.storageKey].integers[row]
                _ = try engine { () throws(EngineError) in try transaction.delete(table.name, key: key) }
                affected.append(batch.row(row))
                if affected.count % 1024 == 0 { try checkCancelled() }
            }
        }
        return try result("DELETE \(affected.count)", table, schema, affected, returning, planner)
    }

    /// A write's command tag, and with RETURNING its items over the rows it wrote (or deleted).
    private func result(_ tag: String, _ table: TableReference, _ schema: TableSchema, _ rows: [[Value]],
                        _ returning: [SelectItem], _ planner: Planner) throws(SQLError) -> QueryResult {
        guard !returning.isEmpty else { return QueryResult(columns: [], rows: [], tag: tag) }
        let scope = planner.tableScope(schema, label: table.label, outer: nil)
        var batch = RowBatch(schema: schema)
        for row in rows { batch.append(row) }
        var names: [String] = []
        var outputs: [Evaluator] = []
        for item in returning {
            if let expression = item.expression {
                names.append(Planner.name(item))
                outputs.append(try Evaluate.compile(expression, scope))
            } else {
                for index in schema.visibleColumns.indices {
                    names.append(schema.columns[index].name)
                    outputs.append { batch, row in batch.columns[index].value(at: row) }
                }
            }
        }
        var out: [[Value]] = []
        for row in 0..<batch.count {
            var values: [Value] = []
            for output in outputs { values.append(try output(batch, row)) }
            out.append(values)
        }
        return QueryResult(columns: names, rows: out, tag: tag)
    }

    // MARK: Ordering

    /// The order of two sort keys; NULLs where `nullsFirst` puts them.
    static func orderCompare(_ a: Value, _ b: Value, descending: Bool, nullsFirst: Bool) -> Int {
        if a == .null || b == .null {
            if a == .null && b == .null { return 0 }
            return (a == .null) == nullsFirst ? -1 : 1
        }
        let order = Evaluate.compare(a, b)
        return descending ? -order : order
    }

    /// A stable sort of `0..<count`.
    static func sortOrder(count: Int, _ less: (Int, Int) -> Bool) -> [Int] {
        var indices = Array(0..<count)
        indices.sort { a, b in less(a, b) || (!less(b, a) && a < b) }
        return indices
    }

    // MARK: EXPLAIN

    /// The plan tree that the statement runs.
    func explain(_ statement: Statement) throws(SQLError) -> QueryResult {
        let planner = Planner(self)
        var lines: [String]
        switch statement {
        case .query(let query):
            lines = try planner.plan(query, outer: nil).root.explain()
        case .update(let table, _, let filter, _), .delete(let table, let filter, _):
            let schema = try schema(table)
            let scan = try TableScan(self, table, schema: schema, scope: planner.tableScope(schema, label: table.label, outer: nil), filter: filter)
            if case .update = statement { lines = ["Update on \(table.name)"] } else { lines = ["Delete on \(table.name)"] }
            lines += try scan.explain(indent: "  ")
        default:
            throw SQLError("0A000", "EXPLAIN takes SELECT, UPDATE or DELETE")
        }
        return QueryResult(columns: ["QUERY PLAN"], rows: lines.map { [.text($0)] }, tag: "EXPLAIN")
    }
}

extension ColumnVector {
    /// This (empty) column with one null row, for the one-row batch of SELECT without FROM.
    func withRow() -> ColumnVector {
        var column = self
        column.append(.null)
        return column
    }

    /// A one-row column holding `value`.
    static func single(_ value: Value) -> ColumnVector {
        (try? unified([value])) ?? ColumnVector(type: .int64).withRow()
    }
}
