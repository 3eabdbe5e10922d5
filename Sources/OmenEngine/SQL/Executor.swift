#if canImport(Glibc)
import Glibc
#endif

/// Runs one DML or query statement inside a transaction.
struct Executor {
    let session: SQLSession
    let transaction: Transaction
    var database: Database { session.database }

    func engine<T>(_ body: () throws(EngineError) -> T) throws(SQLError) -> T { try session.engine(body) }

    func schema(_ table: TableReference) throws(SQLError) -> TableSchema {
        do { return try database.schema(table.name) } catch .tableNotFound {
            throw SQLError.undefinedTable(table.name, at: table.token)
        } catch { throw SQLError(error) }
    }

    func run(_ statement: Statement) throws(SQLError) -> QueryResult {
        switch statement {
        case .select(let select): return try query(select)
        case .insert(let table, let columns, let rows): return try insert(table, columns, rows)
        case .update(let table, let assignments, let filter): return try update(table, assignments, filter)
        case .delete(let table, let filter): return try delete(table, filter)
        case .copyFrom(let table, let path, let header): return try CSV.copyFrom(self, table, path: path, header: header)
        case .copyTo(let table, let path, let header): return try CSV.copyTo(self, table, path: path, header: header)
        case .explain(let inner): return try explain(inner)
        default: throw SQLError("0A000", "statement not supported here")
        }
    }

    // MARK: Writes

    func insert(_ table: TableReference, _ names: [String]?, _ rows: [[Expression]]) throws(SQLError) -> QueryResult {
        let schema = try schema(table)
        var targets: [Int] = []
        for name in names ?? schema.columns.map(\.name) {
            guard let index = schema.columnIndex(name) else { throw SQLError.undefinedColumn(name, at: table.token) }
            if targets.contains(index) { throw SQLError("42701", "column \"\(name)\" specified more than once", at: table.token) }
            targets.append(index)
        }
        var values: [[Value]] = []
        for row in rows {
            guard row.count == targets.count else {
                throw SQLError("42601", row.count > targets.count ? "INSERT has more expressions than target columns"
                                                                  : "INSERT has more target columns than expressions",
                               at: row.first?.token ?? table.token)
            }
            var full = [Value](repeating: .null, count: schema.columns.count)
            for (index, expression) in row.enumerated() {
                let column = schema.columns[targets[index]]
                full[targets[index]] = try Evaluate.coerce(try constant(expression), to: column, expression.token)
            }
            if full[schema.primaryKey] == .null {
                throw SQLError("23502", "null value in column \"\(schema.columns[schema.primaryKey].name)\" violates not-null constraint", at: table.token)
            }
            values.append(full)
        }
        try insertRows(table.name, schema: schema, values)
        return QueryResult(columns: [], rows: [], tag: "INSERT 0 \(values.count)")
    }

    func insertRows(_ table: String, schema: TableSchema, _ rows: [[Value]]) throws(SQLError) {
        var batch = RowBatch(schema: schema)
        for row in rows { batch.append(row) }
        try engine { () throws(EngineError) in try transaction.insert(table, batch: batch) }
    }

    /// The value of an expression that names no column.
    func constant(_ expression: Expression) throws(SQLError) -> Value {
        let evaluate = try Evaluate.compile(expression, Scope(columns: []))
        return try evaluate(RowBatch(columns: []), 0)
    }

    func update(_ table: TableReference, _ assignments: [(String, Expression, Token)], _ filter: Expression?) throws(SQLError) -> QueryResult {
        let schema = try schema(table)
        let scope = Self.scope(schema, label: table.label)
        var setters: [(Int, Evaluator, Token)] = []
        for (name, expression, token) in assignments {
            guard let index = schema.columnIndex(name) else { throw SQLError.undefinedColumn(name, at: token) }
            setters.append((index, try Evaluate.compile(expression, scope), token))
        }
        let rows = try matching(table, schema: schema, scope: scope, filter: filter)
        var count = 0
        for batch in rows {
            for row in 0..<batch.count {
                let key = batch.columns[schema.primaryKey].integers[row]
                var changes: [String: Value] = [:]
                for (index, evaluate, token) in setters {
                    let value = try Evaluate.coerce(try evaluate(batch, row), to: schema.columns[index], token)
                    if index == schema.primaryKey && value != batch.columns[index].value(at: row) {
                        throw SQLError("0A000", "updating the primary key is not supported; delete the row and insert it again", at: token)
                    }
                    changes[schema.columns[index].name] = value
                }
                try engine { () throws(EngineError) in try transaction.update(table.name, key: key, set: changes) }
                count += 1
            }
        }
        return QueryResult(columns: [], rows: [], tag: "UPDATE \(count)")
    }

    func delete(_ table: TableReference, _ filter: Expression?) throws(SQLError) -> QueryResult {
        let schema = try schema(table)
        let scope = Self.scope(schema, label: table.label)
        var count = 0
        for batch in try matching(table, schema: schema, scope: scope, filter: filter) {
            for key in batch.columns[schema.primaryKey].integers {
                try engine { () throws(EngineError) in _ = try transaction.delete(table.name, key: key) }
                count += 1
            }
        }
        return QueryResult(columns: [], rows: [], tag: "DELETE \(count)")
    }

    // MARK: Scans

    static func scope(_ schema: TableSchema, label: String) -> Scope {
        Scope(columns: schema.columns.map { (label, $0.name, $0.type) })
    }

    /// The rows of `table` satisfying `filter`, read through the primary-key range the filter implies.
    func matching(_ table: TableReference, schema: TableSchema, scope: Scope, filter: Expression?) throws(SQLError) -> [RowBatch] {
        let range = try KeyRange(filter, schema: schema, label: table.label, executor: self)
        if range.isEmpty { return [] }
        let batches = try engine { () throws(EngineError) in try transaction.scanBatches(table.name, from: range.from, to: range.to) }
        guard let filter, !range.coversFilter else { return batches }
        return try Self.filter(batches, filter, scope, constant: { try? constant($0) }).filter { $0.count > 0 }
    }

    // MARK: Queries

    func query(_ select: Select) throws(SQLError) -> QueryResult {
        var scope = Scope(columns: [])
        var batches: [RowBatch]
        var ordered: Int?
        if let from = select.from {
            let left = try schema(from)
            scope = Self.scope(left, label: from.label)
            ordered = select.join == nil ? left.primaryKey : nil
            if let join = select.join {
                let right = try schema(join.table)
                let rightScope = Self.scope(right, label: join.table.label)
                let leftRows = try matching(from, schema: left, scope: scope, filter: nil)
                let rightRows = try matching(join.table, schema: right, scope: rightScope, filter: nil)
                scope.columns += rightScope.columns
                batches = [try Join.hash(leftRows, rightRows, on: join.on, scope: scope, leftWidth: left.columns.count,
                                         leftOuter: join.leftOuter)]
                if let filter = select.filter { batches = try Self.filter(batches, filter, scope) }
            } else {
                batches = try matching(from, schema: left, scope: scope, filter: select.filter)
            }
        } else {
            // One row with no columns for SELECT without FROM.
            batches = [RowBatch(columns: [ColumnVector(type: .bool).withRow()])]
            if let filter = select.filter { batches = try Self.filter(batches, filter, scope) }
        }
        if let fast = try TimeBucketAggregate(select, scope: scope, orderedColumn: ordered) { return try finish(select, fast.run(batches)) }
        let aggregated = !select.groupBy.isEmpty || select.having != nil
            || select.items.contains { $0.expression.map(Evaluate.hasAggregate) ?? false }
        if aggregated { return try aggregate(select, batches, scope) }
        return try project(select, batches, scope)
    }

    /// The rows of `batches` where `filter` is true: a column at a time when the filter allows
    /// (`VectorPredicate`), else row by row.
    static func filter(
        _ batches: [RowBatch], _ filter: Expression, _ scope: Scope, constant: (Expression) -> Value? = { _ in nil }
    ) throws(SQLError) -> [RowBatch] {
        if let vector = VectorPredicate.compile(filter, scope, constant) {
            // Compiling the row form too reports type errors the vector form would skip over.
            _ = try Evaluate.compile(filter, scope)
            return batches.map { batch in
                let (truth, _) = vector.evaluate(batch)
                return batch.gathering(truth.indices.filter { truth[$0] })
            }
        }
        let predicate = try Evaluate.compile(filter, scope)
        return try batches.map { (batch) throws(SQLError) in
            var rows: [Int] = []
            for row in 0..<batch.count where try predicate(batch, row) == .bool(true) { rows.append(row) }
            return batch.gathering(rows)
        }
    }

    /// Output column names: the alias, a column's name, a function's name, or `?column?`.
    static func name(_ item: SelectItem) -> String {
        if let alias = item.alias { return alias }
        switch item.expression {
        case .column(_, let name, _)?: return name
        case .function(let name, _, _, _)?: return name
        default: return "?column?"
        }
    }

    func project(_ select: Select, _ batches: [RowBatch], _ scope: Scope) throws(SQLError) -> QueryResult {
        var names: [String] = []
        var outputs: [Evaluator] = []
        var sources: [Expression?] = []
        for item in select.items {
            if let expression = item.expression {
                names.append(Self.name(item))
                outputs.append(try Evaluate.compile(expression, scope))
                sources.append(expression)
            } else {
                guard !scope.columns.isEmpty else { throw SQLError("42601", "SELECT * with no tables specified is not valid") }
                for (index, column) in scope.columns.enumerated() {
                    names.append(column.name)
                    outputs.append { batch, row in batch.columns[index].value(at: row) }
                    sources.append(.column(table: column.table, name: column.name, Token(kind: .end, line: 1, column: 1, text: "")))
                }
            }
        }
        // Sort keys: an output column (by position, alias or the same expression) or a source expression.
        var sortKeys: [(output: Int?, evaluate: Evaluator?, descending: Bool)] = []
        for item in select.orderBy {
            if let output = try outputIndex(item.expression, names: names, sources: sources) {
                sortKeys.append((output, nil, item.descending))
            } else {
                sortKeys.append((nil, try Evaluate.compile(item.expression, scope), item.descending))
            }
        }
        if select.distinct, let key = sortKeys.indices.first(where: { sortKeys[$0].evaluate != nil }) {
            throw Self.distinctOrderError(select.orderBy[key])
        }
        var rows: [[Value]] = []
        var extra: [[Value]] = []
        var seen: Set<[Value]> = []
        let (offset, limit) = try offsetAndLimit(select)
        // With no ORDER BY the scan order stands, so LIMIT can stop early.
        let stopAt = sortKeys.isEmpty ? limit.map { Self.saturatingSum($0, offset) } : nil
        outer: for batch in batches {
            for row in 0..<batch.count {
                if let stopAt, rows.count >= stopAt { break outer }
                var values: [Value] = []
                values.reserveCapacity(outputs.count)
                for output in outputs { values.append(try output(batch, row)) }
                if select.distinct && !seen.insert(values).inserted { continue }
                rows.append(values)
                if !sortKeys.isEmpty {
                    var keys: [Value] = []
                    for key in sortKeys where key.evaluate != nil { keys.append(try key.evaluate!(batch, row)) }
                    extra.append(keys)
                }
            }
        }
        if !sortKeys.isEmpty {
            let order = Self.sortOrder(count: rows.count) { a, b in
                var extraIndex = 0
                for key in sortKeys {
                    let x: Value, y: Value
                    if let output = key.output { x = rows[a][output]; y = rows[b][output] }
                    else { x = extra[a][extraIndex]; y = extra[b][extraIndex]; extraIndex += 1 }
                    let order = Self.orderCompare(x, y, descending: key.descending)
                    if order != 0 { return order < 0 }
                }
                return false
            }
            rows = order.map { rows[$0] }
        }
        rows = Self.slice(rows, offset: offset, limit: limit)
        return QueryResult(columns: names, rows: rows, tag: "SELECT \(rows.count)")
    }

    func aggregate(_ select: Select, _ batches: [RowBatch], _ scope: Scope) throws(SQLError) -> QueryResult {
        var names: [String] = []
        var items: [Expression] = []
        for item in select.items {
            guard let expression = item.expression else {
                throw SQLError("42803", "SELECT * cannot be used with GROUP BY or aggregates")
            }
            names.append(Self.name(item))
            items.append(expression)
        }
        // GROUP BY may name an output column by alias or position.
        var keys: [Expression] = []
        for key in select.groupBy {
            if let index = try outputIndex(key, names: names, sources: items, allowSourceMatch: false) { keys.append(items[index]) }
            else { keys.append(key) }
        }
        var plan = AggregatePlan(keys: keys)
        var outputs: [Expression] = []
        for item in items { outputs.append(try plan.rewrite(item)) }
        let having = try select.having.map { (condition) throws(SQLError) in try plan.rewrite(condition) }
        var orderExpressions: [(Int?, Expression?)] = []
        for item in select.orderBy {
            if let index = try outputIndex(item.expression, names: names, sources: items) { orderExpressions.append((index, nil)) }
            else { orderExpressions.append((nil, try plan.rewrite(item.expression))) }
        }
        let groups: [[Value]]
        if let vector = VectorAggregate(plan, scope) {
            groups = vector.run(batches)
        } else {
            groups = try plan.run(batches, scope: scope)
        }
        return try finishGroups(select, groups, plan: plan, names: names, outputs: outputs, having: having, order: orderExpressions)
    }

    /// Evaluates output expressions, HAVING and ORDER BY over group rows.
    func finishGroups(
        _ select: Select, _ groups: [[Value]], plan: AggregatePlan, names: [String], outputs: [Expression],
        having: Expression?, order: [(Int?, Expression?)]
    ) throws(SQLError) -> QueryResult {
        let scope = plan.groupScope
        var table = RowBatch(columns: scope.columns.map { _ in ColumnVector(type: .int64) })
        // Group rows hold values of any type: keep them as rows and evaluate through a one-row batch each.
        var evaluators: [Evaluator] = []
        for output in outputs { evaluators.append(try Evaluate.compile(output, scope)) }
        let condition = try having.map { (expression) throws(SQLError) in try Evaluate.compile(expression, scope) }
        var sortEvaluators: [Evaluator?] = []
        for (_, expression) in order { sortEvaluators.append(try expression.map { (e) throws(SQLError) in try Evaluate.compile(e, scope) }) }
        if select.distinct, let key = order.indices.first(where: { order[$0].1 != nil }) {
            throw Self.distinctOrderError(select.orderBy[key])
        }
        var rows: [[Value]] = []
        var sortValues: [[Value]] = []
        var seen: Set<[Value]> = []
        for group in groups {
            table = RowBatch(columns: group.map { ValueColumn.single($0) })
            if let condition, try condition(table, 0) != .bool(true) { continue }
            var row: [Value] = []
            for evaluate in evaluators { row.append(try evaluate(table, 0)) }
            if select.distinct && !seen.insert(row).inserted { continue }
            var keys: [Value] = []
            for (index, evaluate) in sortEvaluators.enumerated() {
                keys.append(try evaluate.map { (e) throws(SQLError) in try e(table, 0) } ?? row[order[index].0!])
            }
            rows.append(row)
            sortValues.append(keys)
        }
        if !order.isEmpty {
            let permutation = Self.sortOrder(count: rows.count) { a, b in
                for (index, item) in select.orderBy.enumerated() {
                    let result = Self.orderCompare(sortValues[a][index], sortValues[b][index], descending: item.descending)
                    if result != 0 { return result < 0 }
                }
                return false
            }
            rows = permutation.map { rows[$0] }
        }
        let (offset, limit) = try offsetAndLimit(select)
        rows = Self.slice(rows, offset: offset, limit: limit)
        return QueryResult(columns: names, rows: rows, tag: "SELECT \(rows.count)")
    }

    /// Applies ORDER BY, OFFSET and LIMIT to a fast path's finished groups.
    func finish(_ select: Select, _ result: QueryResult) throws(SQLError) -> QueryResult {
        var rows = result.rows
        if select.distinct {
            var seen: Set<[Value]> = []
            rows = rows.filter { seen.insert($0).inserted }
        }
        if !select.orderBy.isEmpty {
            var columns: [(Int, Bool)] = []
            for item in select.orderBy {
                guard let index = try outputIndex(item.expression, names: result.columns,
                                                  sources: select.items.map { $0.expression }) else {
                    throw SQLError("42803", "ORDER BY must name an output column here", at: item.expression.token)
                }
                columns.append((index, item.descending))
            }
            let order = Self.sortOrder(count: rows.count) { a, b in
                for (index, descending) in columns {
                    let result = Self.orderCompare(rows[a][index], rows[b][index], descending: descending)
                    if result != 0 { return result < 0 }
                }
                return false
            }
            rows = order.map { rows[$0] }
        }
        let (offset, limit) = try offsetAndLimit(select)
        rows = Self.slice(rows, offset: offset, limit: limit)
        return QueryResult(columns: result.columns, rows: rows, tag: "SELECT \(rows.count)")
    }

    /// PostgreSQL's refusal of an ORDER BY that a DISTINCT's rows do not carry.
    static func distinctOrderError(_ item: OrderItem) -> SQLError {
        SQLError("42P10", "for SELECT DISTINCT, ORDER BY expressions must appear in select list", at: item.expression.token)
    }

    /// The output column an ORDER BY or GROUP BY item names: a 1-based position, an alias, or (when
    /// `allowSourceMatch`) the same expression as an output.
    func outputIndex(_ expression: Expression, names: [String], sources: [Expression?], allowSourceMatch: Bool = true) throws(SQLError) -> Int? {
        if case .literal(.int64(let position), let token) = expression {
            guard position >= 1 && position <= names.count else {
                throw SQLError("42P10", "position \(position) is not in select list", at: token)
            }
            return Int(position) - 1
        }
        if case .column(nil, let name, _) = expression, let index = names.firstIndex(of: name),
           sources[index].map({ if case .column(_, name, _) = $0 { return false } else { return true } }) ?? false {
            return index
        }
        if allowSourceMatch, let index = sources.firstIndex(where: { $0 == expression }) { return index }
        return nil
    }

    func offsetAndLimit(_ select: Select) throws(SQLError) -> (Int, Int?) {
        func count(_ expression: Expression?) throws(SQLError) -> Int? {
            guard let expression else { return nil }
            switch try constant(expression) {
            case .int64(let value) where value >= 0: return Int(value)
            case .null: return nil
            default: throw SQLError("2201W", "LIMIT and OFFSET must be non-negative integers", at: expression.token)
            }
        }
        return (try count(select.offset) ?? 0, try count(select.limit))
    }

    static func slice(_ rows: [[Value]], offset: Int, limit: Int?) -> [[Value]] {
        let start = min(offset, rows.count)
        let end = limit.map { min(rows.count, saturatingSum(start, $0)) } ?? rows.count
        return Array(rows[start..<end])
    }

    /// `a + b`, or Int.max past it (LIMIT and OFFSET reach Int64.max).
    static func saturatingSum(_ a: Int, _ b: Int) -> Int {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? .max : sum
    }

    /// PostgreSQL's default: NULLS LAST ascending, NULLS FIRST descending.
    static func orderCompare(_ a: Value, _ b: Value, descending: Bool) -> Int {
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

    func explain(_ statement: Statement) throws(SQLError) -> QueryResult {
        var lines: [String] = []
        func scanLines(_ table: TableReference, _ filter: Expression?, indent: String) throws(SQLError) {
            let schema = try schema(table)
            let range = try KeyRange(filter, schema: schema, label: table.label, executor: self)
            let key = schema.columns[schema.primaryKey].name
            if range.from == nil && range.to == nil && !range.isEmpty {
                lines.append("\(indent)Full Scan on \(table.name)")
            } else {
                let kind = range.isPoint ? "Learned Index Point Lookup" : "Learned Index Range Scan"
                lines.append("\(indent)\(kind) on \(table.name) using primary key (\(key))")
                let show = { (bound: Int64) in Evaluate.text(schema.columns[schema.primaryKey].type == .timestamp ? .timestamp(bound) : .int64(bound)) }
                lines.append("\(indent)  Key Range: [\(range.from.map(show) ?? "-infinity"), \(range.to.map(show) ?? "infinity"))")
                if let from = range.from {
                    let plan = try engine { () throws(EngineError) in try database.lookupPlan(table.name, key: from) }
                    for segment in plan.segments {
                        lines.append("\(indent)  Segment \(segment.id): \(segment.rows) rows, predicted window positions \(segment.window.lowerBound)...\(segment.window.upperBound)")
                    }
                    lines.append("\(indent)  Hot Rows: \(plan.hotRows)")
                }
            }
            if filter != nil && !range.coversFilter { lines.append("\(indent)  Filter: applied to each row") }
        }
        switch statement {
        case .select(let select):
            var indent = ""
            if !select.orderBy.isEmpty || select.limit != nil {
                lines.append("Sort/Limit")
                indent = "  "
            }
            if !select.groupBy.isEmpty || select.items.contains(where: { $0.expression.map(Evaluate.hasAggregate) ?? false }) {
                var fast = false
                if let from = select.from, select.join == nil {
                    let table = try schema(from)
                    fast = try TimeBucketAggregate(select, scope: Self.scope(table, label: from.label), orderedColumn: table.primaryKey) != nil
                }
                lines.append(indent + (fast ? "Time Bucket Aggregate (ordered runs)" : "Hash Aggregate"))
                indent += "  "
            }
            if let from = select.from {
                if let join = select.join {
                    lines.append(indent + (join.leftOuter ? "Hash Left Join" : "Hash Join"))
                    try scanLines(from, nil, indent: indent + "  ")
                    try scanLines(join.table, nil, indent: indent + "  ")
                } else {
                    try scanLines(from, select.filter, indent: indent)
                }
            } else {
                lines.append(indent + "Result")
            }
        case .update(let table, _, let filter):
            lines.append("Update on \(table.name)")
            try scanLines(table, filter, indent: "  ")
        case .delete(let table, let filter):
            lines.append("Delete on \(table.name)")
            try scanLines(table, filter, indent: "  ")
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
}

/// One-row columns of any value, for evaluating expressions over a group row.
enum ValueColumn {
    static func single(_ value: Value) -> ColumnVector {
        let type: ColumnType
        switch value {
        case .double: type = .double
        case .text: type = .text
        case .bool: type = .bool
        case .timestamp: type = .timestamp
        case .int64, .null: type = .int64
        }
        var column = ColumnVector(type: type)
        column.append(value)
        return column
    }
}
