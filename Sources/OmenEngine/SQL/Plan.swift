/// A node of a query plan. The planner builds the tree with every expression compiled; `run` produces the
/// node's rows as batches laid out as `scope`, and EXPLAIN prints the same tree (`title`, `details`,
/// `children`), so what EXPLAIN shows is what runs.
protocol PlanNode {
    var scope: Scope { get }
    var title: String { get }
    var children: [any PlanNode] { get }
    func details() throws(SQLError) -> [String]
    func run() throws(SQLError) -> [RowBatch]
}

extension PlanNode {
    var children: [any PlanNode] { [] }
    func details() throws(SQLError) -> [String] { [] }

    /// EXPLAIN's lines for this subtree. A projection is part of the node beneath it, as in PostgreSQL.
    func explain(indent: String = "") throws(SQLError) -> [String] {
        if self is Project { return try children[0].explain(indent: indent) }
        var lines = [indent + title]
        for detail in try details() { lines.append(indent + "  " + detail) }
        for child in children { lines += try child.explain(indent: indent + "  ") }
        return lines
    }

    /// All rows in one batch.
    func runConcatenated() throws(SQLError) -> RowBatch { RowBatch.concatenating(try run(), scope: scope) }

    /// Stops here if the statement was cancelled: the loops over rows call it every so often.
    func checkCancelled() throws(SQLError) { try scope.cancellation?.check() }
}

/// A planned query: its root, and how many of the root's leading columns are the output (the rest carry
/// ORDER BY keys that are not in the select list).
struct QueryPlan {
    let root: any PlanNode
    let names: [String]
    var width: Int { names.count }

    /// The output rows.
    func rows() throws(SQLError) -> [[Value]] { try result().rows }

    /// The output rows and the columns' types: the batches' own, or where no batch came, the scope's.
    func result() throws(SQLError) -> (rows: [[Value]], types: [ColumnType?]) {
        var rows: [[Value]] = []
        var types = root.scope.columns.prefix(width).map(\.type)
        for batch in try root.run() {
            types = batch.columns.prefix(width).map(\.type)
            for row in 0..<batch.count { rows.append((0..<width).map { batch.columns[$0].value(at: row) }) }
        }
        return (rows, types)
    }
}

extension RowBatch {
    /// One batch of all rows of `batches`; columns typed as the scope says where the batches are none.
    static func concatenating(_ batches: [RowBatch], scope: Scope) -> RowBatch {
        if batches.count == 1 { return batches[0] }
        guard let first = batches.first else {
            return RowBatch(columns: scope.columns.map { ColumnVector(type: $0.type ?? .int64) })
        }
        var out = RowBatch(columns: first.columns.map { ColumnVector(type: $0.type) })
        out.reserveCapacity(batches.reduce(0) { $0 + $1.count })
        for batch in batches { out.append(from: batch, rows: 0..<batch.count) }
        return out
    }
}

extension ColumnVector {
    /// A column holding `values`, typed by them: one type, or integers and doubles together as doubles
    /// (as PostgreSQL resolves a CASE or UNION of both); other mixtures are PostgreSQL's 42804.
    static func unified(_ values: [Value], _ token: Token? = nil) throws(SQLError) -> ColumnVector {
        var type: ColumnType?
        for value in values {
            guard let own = value.type else { continue }
            if type == nil || type == own { type = own; continue }
            if (type == .int64 && own == .double) || (type == .double && own == .int64) { type = .double; continue }
            throw SQLError("42804", "types \(type!.sqlName) and \(own.sqlName) cannot be matched", at: token)
        }
        var column = ColumnVector(type: type ?? .int64)
        column.reserveCapacity(values.count)
        for value in values {
            if type == .double, case .int64(let x) = value { column.append(.double(Double(x))) } else { column.append(value) }
        }
        return column
    }
}

/// The one row, with no columns, that SELECT without FROM reads.
struct OneRow: PlanNode {
    let scope: Scope
    var title: String { "Result" }
    func run() throws(SQLError) -> [RowBatch] { [RowBatch(columns: [ColumnVector(type: .bool).withRow()])] }
}

/// A table's rows through the primary-key range its filter implies (a learned-index lookup), the rest of
/// the filter applied a column at a time where it allows, else row by row.
struct TableScan: PlanNode {
    let executor: Executor
    let table: TableReference
    let schema: TableSchema
    let scope: Scope
    let range: KeyRange
    let filter: RowFilter?

    init(_ executor: Executor, _ table: TableReference, schema: TableSchema, scope: Scope, filter: Expression?) throws(SQLError) {
        self.executor = executor
        self.table = table
        self.schema = schema
        self.scope = scope
        let range = try KeyRange(filter, schema: schema, label: table.label, executor: executor)
        self.range = range
        if let filter, !range.coversFilter {
            self.filter = try RowFilter(filter, scope, constant: { try? executor.constant($0) })
        } else {
            self.filter = nil
        }
    }

    var title: String {
        if range.from == nil && range.to == nil && !range.isEmpty { return "Full Scan on \(table.name)" }
        let kind = range.isPoint ? "Learned Index Point Lookup" : "Learned Index Range Scan"
        return "\(kind) on \(table.name) using primary key (\(schema.columns[schema.primaryKey].name))"
    }

    func details() throws(SQLError) -> [String] {
        var lines: [String] = []
        if range.isEmpty {
            lines.append("Key Range: empty")
        } else if range.from != nil || range.to != nil {
            let timestamp = schema.columns[schema.primaryKey].type == .timestamp
            let show = { (bound: Int64) in Evaluate.text(timestamp ? .timestamp(bound) : .int64(bound)) }
            lines.append("Key Range: [\(range.from.map(show) ?? "-infinity"), \(range.to.map(show) ?? "infinity"))")
            if let from = range.from {
                let plan = try executor.engine { () throws(EngineError) in try executor.database.lookupPlan(table.name, key: from) }
                for segment in plan.segments {
                    lines.append("Segment \(segment.id): \(segment.rows) rows, predicted window positions \(segment.window.lowerBound)...\(segment.window.upperBound)")
                }
                lines.append("Hot Rows: \(plan.hotRows)")
            }
        }
        if let filter { lines.append(filter.vector == nil ? "Filter: applied to each row" : "Filter: applied a column at a time") }
        return lines
    }

    func run() throws(SQLError) -> [RowBatch] {
        if range.isEmpty { return [] }
        let batches = try executor.engine { () throws(EngineError) in
            try executor.transaction.scanBatches(table.name, from: range.from, to: range.to)
        }
        try checkCancelled()
        guard let filter else { return batches }
        return try filter.apply(batches, cancellation: scope.cancellation).filter { $0.count > 0 }
    }
}

/// A WHERE or HAVING condition compiled both ways: the column-at-a-time form when the condition allows,
/// and always the row form (which also reports the type errors the vector form would skip over).
struct RowFilter {
    let predicate: Evaluator
    let vector: VectorPredicate?

    init(_ condition: Expression, _ scope: Scope, constant: (Expression) -> Value? = { _ in nil }) throws(SQLError) {
        predicate = try Evaluate.compile(condition, scope)
        vector = VectorPredicate.compile(condition, scope, constant)
    }

    func apply(_ batches: [RowBatch], cancellation: Cancellation?) throws(SQLError) -> [RowBatch] {
        if let vector {
            return try batches.map { (batch) throws(SQLError) in
                try cancellation?.check()
                let (truth, _) = vector.evaluate(batch)
                return batch.gathering(truth.indices.filter { truth[$0] })
            }
        }
        return try batches.map { (batch) throws(SQLError) in
            try cancellation?.check()
            var rows: [Int] = []
            for row in 0..<batch.count where try predicate(batch, row) == .bool(true) { rows.append(row) }
            return batch.gathering(rows)
        }
    }
}

struct Filter: PlanNode {
    let child: any PlanNode
    let filter: RowFilter
    var scope: Scope { child.scope }
    var title: String { "Filter" }
    var children: [any PlanNode] { [child] }

    init(_ child: any PlanNode, _ condition: Expression) throws(SQLError) {
        self.child = child
        filter = try RowFilter(condition, child.scope)
    }

    func run() throws(SQLError) -> [RowBatch] { try filter.apply(try child.run(), cancellation: scope.cancellation) }
}

/// The output expressions, then any ORDER BY keys not among them.
struct Project: PlanNode {
    let child: any PlanNode
    let outputs: [(Evaluator, Token?)]
    let scope: Scope
    var title: String { "Project" }
    var children: [any PlanNode] { [child] }

    func run() throws(SQLError) -> [RowBatch] {
        let input = try child.runConcatenated()
        var columns: [ColumnVector] = []
        for (evaluate, token) in outputs {
            var values: [Value] = []
            values.reserveCapacity(input.count)
            for row in 0..<input.count {
                if row % 4096 == 0 { try checkCancelled() }
                values.append(try evaluate(input, row))
            }
            columns.append(try ColumnVector.unified(values, token))
        }
        return [RowBatch(columns: columns)]
    }
}

/// Each row once, compared on the leading `width` columns (NaNs equal, as in GROUP BY).
struct Distinct: PlanNode {
    let child: any PlanNode
    let width: Int
    var scope: Scope { child.scope }
    var title: String { "Unique" }
    var children: [any PlanNode] { [child] }

    func run() throws(SQLError) -> [RowBatch] {
        let input = try child.runConcatenated()
        var seen: Set<[Value]> = []
        let keep = (0..<input.count).filter { row in seen.insert((0..<width).map { input.columns[$0].value(at: row) }).inserted }
        return [input.gathering(keep)]
    }
}

/// DISTINCT ON: the first row of each run of rows equal on `columns` (the child is sorted on them).
struct FirstOfEach: PlanNode {
    let child: any PlanNode
    let columns: [Int]
    var scope: Scope { child.scope }
    var title: String { "Unique (first of each)" }
    var children: [any PlanNode] { [child] }

    func run() throws(SQLError) -> [RowBatch] {
        let input = try child.runConcatenated()
        var keep: [Int] = []
        var previous: [Value]?
        for row in 0..<input.count {
            let key = columns.map { input.columns[$0].value(at: row) }
            if key != previous { keep.append(row) }
            previous = key
        }
        return [input.gathering(keep)]
    }
}

/// A stable sort on columns of the child's output, NULLs as PostgreSQL orders them by default.
struct Sort: PlanNode {
    let child: any PlanNode
    let keys: [(column: Int, order: OrderItem)]
    var scope: Scope { child.scope }
    var title: String { "Sort" }
    var children: [any PlanNode] { [child] }

    func run() throws(SQLError) -> [RowBatch] {
        let input = try child.runConcatenated()
        try checkCancelled()
        let order = Executor.sortOrder(count: input.count) { a, b in
            for key in keys {
                let column = input.columns[key.column]
                let result = Executor.orderCompare(column.value(at: a), column.value(at: b),
                                                        descending: key.order.descending, nullsFirst: key.order.nullsFirst)
                if result != 0 { return result < 0 }
            }
            return false
        }
        return [input.reordered(order)]
    }
}

struct Limit: PlanNode {
    let child: any PlanNode
    let offset: Int
    let limit: Int?
    var scope: Scope { child.scope }
    var title: String { "Limit" }
    var children: [any PlanNode] { [child] }

    func run() throws(SQLError) -> [RowBatch] {
        var skip = offset
        var left = limit ?? .max
        var out: [RowBatch] = []
        for batch in try child.run() where left > 0 {
            let start = min(skip, batch.count)
            skip -= start
            let end = start + min(left, batch.count - start)
            left -= end - start
            if end > start { out.append(batch.gathering(Array(start..<end))) }
        }
        return out
    }
}

/// A derived table or a WITH query under its name: the query's output columns, relabelled. A WITH query
/// runs once per statement and is read from memory after (unless it reads an outer query's row).
struct SubqueryScan: PlanNode {
    final class Shared {
        let plan: QueryPlan
        let correlated: Bool
        var rows: [RowBatch]?
        init(_ plan: QueryPlan, correlated: Bool) {
            self.plan = plan
            self.correlated = correlated
        }
    }

    let shared: Shared
    let alias: String
    let scope: Scope
    let withQuery: Bool
    var title: String { withQuery ? "WITH Scan on \(alias)" : "Subquery Scan on \(alias)" }
    var children: [any PlanNode] { [shared.plan.root] }

    func run() throws(SQLError) -> [RowBatch] {
        if let rows = shared.rows { return rows }
        let width = shared.plan.width
        let rows = try shared.plan.root.run().map { RowBatch(columns: Array($0.columns.prefix(width))) }
        if withQuery && !shared.correlated { shared.rows = rows }
        return rows
    }
}

/// UNION, INTERSECT and EXCEPT, with ALL keeping duplicates (by count, as PostgreSQL).
struct SetOperation: PlanNode {
    let op: SetOperator
    let all: Bool
    let left: QueryPlan
    let right: QueryPlan
    let scope: Scope
    var title: String { op.rawValue + (all ? " ALL" : "") }
    var children: [any PlanNode] { [left.root, right.root] }

    func run() throws(SQLError) -> [RowBatch] {
        let a = try left.rows()
        let b = try right.rows()
        var rows: [[Value]] = []
        switch (op, all) {
        case (.union, true):
            rows = a + b
        case (.union, false):
            var seen: Set<[Value]> = []
            rows = (a + b).filter { seen.insert($0).inserted }
        case (.intersect, _), (.except, _):
            var counts: [[Value]: Int] = [:]
            for row in b { counts[row, default: 0] += 1 }
            var emitted: Set<[Value]> = []
            for row in a {
                let inRight = (counts[row] ?? 0) > 0
                if all {
                    if inRight { counts[row]! -= 1 }
                    if inRight == (op == .intersect) { rows.append(row) }
                } else if inRight == (op == .intersect) && emitted.insert(row).inserted {
                    rows.append(row)
                }
            }
        }
        var columns: [ColumnVector] = []
        for column in 0..<left.width { columns.append(try ColumnVector.unified(rows.map { $0[column] })) }
        return [RowBatch(columns: columns)]
    }
}
