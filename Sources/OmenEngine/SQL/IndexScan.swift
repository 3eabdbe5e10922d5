/// A table's rows through a secondary index: the planner's choice for a single-table SELECT whose WHERE
/// does not bound the primary key but has a top-level AND term `indexed_column op constant` (= < <= > >=,
/// either side) or `indexed_column BETWEEN a AND b`. The terms on the chosen column become a range; the
/// engine returns the rows its learned index names as candidates, re-read through the transaction's
/// snapshot and checked against the range, and the whole WHERE is applied to them again here.
struct IndexScan: PlanNode {
    let executor: Executor
    let table: TableReference
    let scope: Scope
    let index: IndexDefinition
    let low: IndexBound?
    let high: IndexBound?
    let filter: RowFilter

    /// Nil when no index of the scanned table matches a term of `filter`, or the scan already has a key range.
    init?(_ scan: TableScan, filter condition: Expression?) throws(SQLError) {
        guard let condition, scan.range.from == nil, scan.range.to == nil, !scan.range.isEmpty else { return nil }
        let indexes = scan.executor.database.indexes(on: scan.table.name)
        guard !indexes.isEmpty else { return nil }
        let terms = KeyRange.conjuncts(condition)
        var chosen: (IndexDefinition, low: IndexBound?, high: IndexBound?)?
        // An index with an equality term first, else the first with any bound.
        for equalityFirst in [true, false] where chosen == nil {
            for index in indexes where chosen == nil {
                guard let column = scan.schema.columns.first(where: { $0.name == index.column }) else { continue }
                var bounds: (low: IndexBound?, high: IndexBound?) = (nil, nil)
                var equality = false
                for term in terms {
                    guard let (low, high, isEquality) = Self.bounds(term, column, scan.table.label, scan.executor),
                          isEquality || !index.equalityOnly else { continue }
                    equality = equality || isEquality
                    if let low { bounds.low = Self.tighter(bounds.low, low, lower: true) }
                    if let high { bounds.high = Self.tighter(bounds.high, high, lower: false) }
                }
                // A hashed index finds one value: two different equalities make a range it cannot search.
                if index.equalityOnly, let low = bounds.low, let high = bounds.high, low.value != high.value { continue }
                if (bounds.low != nil || bounds.high != nil) && (equality || !equalityFirst) {
                    chosen = (index, bounds.low, bounds.high)
                }
            }
        }
        guard let (index, low, high) = chosen else { return nil }
        self.executor = scan.executor
        self.table = scan.table
        self.scope = scan.scope
        self.index = index
        self.low = low
        self.high = high
        let executor = scan.executor
        self.filter = try RowFilter(condition, scan.scope, constant: { try? executor.constant($0) })
    }

    var title: String { "\(index.equalityOnly ? "Hashed" : "Learned") Index Scan on \(table.name) using \(index.name) (\(index.column))" }

    func details() throws(SQLError) -> [String] {
        let show = { (bound: IndexBound?, open: String) -> String in
            guard let bound else { return open }
            if case .text(let text) = bound.value { return "'" + text.replacingQuote() + "'" }
            return Evaluate.text(bound.value)
        }
        let range = (low?.inclusive ?? false ? "[" : "(") + show(low, "-infinity") + ", " + show(high, "infinity")
            + (high?.inclusive ?? false ? "]" : ")")
        let statistics = try executor.engine { () throws(EngineError) in
            try executor.database.indexStatistics(index.name, at: low?.value)
        }
        let over = index.equalityOnly ? " over hashes of the values" : ""
        var lines = ["Index Range: " + range,
                     "Index Entries: \(statistics.learnedEntries) learned (PGM, ε = \(statistics.epsilon))\(over), \(statistics.hotEntries) hot"]
        if let window = statistics.window, low != nil {
            lines.append("Predicted Window: positions \(window.lowerBound)...\(window.upperBound)")
        }
        lines.append("Filter: rechecked on each candidate row")
        return lines
    }

    func run() throws(SQLError) -> [RowBatch] {
        let rows = try executor.engine { () throws(EngineError) in
            try executor.transaction.rows(index: index.name, low: low, high: high)
        }
        return try filter.apply([rows], cancellation: scope.cancellation).filter { $0.count > 0 }
    }

    /// The bounds `term` sets on `column`, or nil when it is not `column op constant` with a constant the
    /// index can take (of the column's type, or one SQL compares with it exactly as such a value).
    private static func bounds(_ term: Expression, _ column: Column, _ label: String, _ executor: Executor)
        -> (low: IndexBound?, high: IndexBound?, equality: Bool)?
    {
        func isColumn(_ expression: Expression) -> Bool {
            if case .column(let table, let name, _) = expression { return name == column.name && (table == nil || table == label) }
            return false
        }
        func constant(_ expression: Expression) -> Value? {
            guard !isColumn(expression), let value = try? executor.constant(expression) else { return nil }
            return indexValue(value, for: column.type)
        }
        switch term {
        case .binary(var op, var a, var b, _) where op.isComparison && op != .notEqual:
            if isColumn(b) && !isColumn(a) {
                (a, b) = (b, a)
                op = op.flipped
            }
            guard isColumn(a), let value = constant(b) else { return nil }
            switch op {
            case .equal: return (IndexBound(value), IndexBound(value), true)
            case .less: return (nil, IndexBound(value, inclusive: false), false)
            case .lessOrEqual: return (nil, IndexBound(value), false)
            case .greater: return (IndexBound(value, inclusive: false), nil, false)
            default: return (IndexBound(value), nil, false)
            }
        case .between(let value, let low, let high, negated: false) where isColumn(value):
            guard let a = constant(low), let b = constant(high) else { return nil }
            return (IndexBound(a), IndexBound(b), false)
        default:
            return nil
        }
    }

    /// `value` as the index's column type compares it, or nil (NULL, or a type whose comparison with the
    /// column is not that of two values of the column's type).
    static func indexValue(_ value: Value, for type: ColumnType) -> Value? {
        switch (type, value) {
        case (.int64, .int64), (.double, .double), (.text, .text), (.bool, .bool), (.date, .date), (.timestamp, .timestamp),
             (.uuid, .uuid):
            return value
        case (.uuid, .text(let text)): return UUID(parsing: text).map(Value.uuid)
        case (.double, .int64(let x)): return Double(exactly: x).map(Value.double)
        case (.timestamp, .int64(let x)): return .timestamp(x)
        case (.timestamp, .text(let text)): return Timestamps.parse(text).map(Value.timestamp)
        case (.timestamp, .date(let days)):
            let (micros, overflow) = days.multipliedReportingOverflow(by: Timestamps.microsPerDay)
            return overflow ? nil : .timestamp(micros)
        case (.date, .text):
            if case .date(let days)? = try? Evaluate.cast(value, to: "date", nil) { return .date(days) }
            return nil
        default: return nil
        }
    }

    /// The narrower of two lower (or upper) bounds.
    private static func tighter(_ current: IndexBound?, _ new: IndexBound, lower: Bool) -> IndexBound {
        guard let current else { return new }
        let order = SecondaryIndex.compare(new.value, current.value)
        if order == 0 { return IndexBound(new.value, inclusive: new.inclusive && current.inclusive) }
        return (order > 0) == lower ? new : current
    }
}

private extension String {
    func replacingQuote() -> String {
        var out = ""
        for character in self { out += character == "'" ? "''" : String(character) }
        return out
    }
}

extension SQLSession {
    /// PostgreSQL runs CREATE INDEX CONCURRENTLY outside transaction blocks only; here every index
    /// statement is so (an index is built and durable at once, with nothing to undo at ROLLBACK).
    static func indexStatementInTransaction(_ statement: Statement) -> SQLError {
        let what = if case .createIndex = statement { "CREATE INDEX" } else { "DROP INDEX" }
        return SQLError("25001", "\(what) cannot run inside a transaction block",
                        hint: "Run it outside BEGIN ... COMMIT: it takes effect at once and is durable when it returns.")
    }

    /// CREATE INDEX and DROP INDEX, outside a transaction block.
    func runIndexStatement(_ statement: Statement) throws(SQLError) -> QueryResult {
        switch statement {
        case .createIndex(let name, let table, let column, let ifNotExists, let token):
            let schema: TableSchema
            do { schema = try database.schema(table) } catch .tableNotFound {
                throw SQLError.undefinedTable(table, at: token)
            } catch { throw SQLError(error) }
            guard let found = schema.columns.first(where: { $0.name == column }) else {
                throw SQLError.undefinedColumn(column, at: token)
            }
            guard SecondaryIndex.supports(found.type) else {
                throw SQLError("42704", "an index cannot be built on column \"\(column)\" of type \(found.type.sqlName)", at: token,
                               hint: "Index columns of type bigint, double precision, timestamp, date, text, uuid or boolean.")
            }
            do {
                try database.createIndex(name: name, table: table, column: column)
            } catch .indexExists where ifNotExists {
            } catch { throw SQLError(error) }
            return QueryResult(columns: [], rows: [], tag: "CREATE INDEX")
        case .dropIndex(let name, let ifExists, let token):
            do {
                try database.dropIndex(name)
            } catch .indexNotFound where ifExists {
            } catch .indexNotFound {
                throw SQLError("42704", "index \"\(name)\" does not exist", at: token)
            } catch { throw SQLError(error) }
            return QueryResult(columns: [], rows: [], tag: "DROP INDEX")
        default:
            throw SQLError("0A000", "statement not supported here")
        }
    }
}
