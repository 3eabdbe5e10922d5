/// Turns a query into a plan tree, one statement at a time: it holds the statement's now() and the WITH
/// queries in scope. Per SELECT, bottom up: FROM (scans through key ranges, joins, derived tables), WHERE,
/// grouping (the ordered time-bucket path, or hashing) and HAVING, window functions, the select list with
/// any ORDER BY keys it lacks, DISTINCT, ORDER BY, OFFSET and LIMIT.
final class Planner {
    let executor: Executor
    let now = Timestamps.now()
    /// The WITH queries visible here, innermost last.
    private var withQueries: [[String: SubqueryScan.Shared]] = []

    /// Planning and compiling recurse with the statement's nesting: both stop at this stack depth.
    let stackLimit = StackBudget.limit()

    init(_ executor: Executor) { self.executor = executor }

    /// A scope of this statement's level `outer` (nil at the top).
    func scope(_ columns: [(table: String?, name: String, type: ColumnType?)], outer: OuterRow?) -> Scope {
        var scope = Scope(columns: columns)
        scope.now = now
        scope.parameters = executor.parameters
        scope.planner = self
        scope.outer = outer
        scope.cancellation = executor.session.cancellation
        return scope
    }

    /// A table's columns; a row id is there to keep the rows' layout, but no name, `*` or `t.*` reaches it.
    func tableScope(_ schema: TableSchema, label: String, outer: OuterRow?) -> Scope {
        var scope = scope(schema.visibleColumns.map { (label, $0.name, $0.type) }, outer: outer)
        if schema.hasRowIDs {
            scope.qualifiedOnly.insert(scope.columns.count)
            scope.columns.append((nil, TableSchema.rowIDName, .int64))
        }
        return scope
    }

    func plan(_ query: Query, outer: OuterRow?) throws(SQLError) -> QueryPlan {
        try StackBudget.check(stackLimit, at: nil)
        var visible: [String: SubqueryScan.Shared] = [:]
        withQueries.append(visible)
        defer { withQueries.removeLast() }
        for (name, inner, token) in query.with {
            if visible[name] != nil { throw SQLError("42712", "WITH query name \"\(name)\" specified more than once", at: token) }
            let before = outer?.referenced ?? false
            let plan = try self.plan(inner, outer: outer)
            visible[name] = SubqueryScan.Shared(plan, correlated: !before && (outer?.referenced ?? false))
            withQueries[withQueries.count - 1] = visible
        }
        var plan = try body(query.body, outer: outer)
        if !query.orderBy.isEmpty || query.limit != nil || query.offset != nil {
            var root = plan.root
            if !query.orderBy.isEmpty {
                var keys: [(column: Int, order: OrderItem)] = []
                for item in query.orderBy {
                    guard let index = try Self.outputIndex(item.expression, names: plan.names, sources: []) else {
                        throw SQLError("0A000", "ORDER BY of a UNION, INTERSECT or EXCEPT must name an output column", at: item.expression.token,
                                       hint: "Order by the column's name or position, or wrap the query as a derived table.")
                    }
                    keys.append((index, item))
                }
                root = Sort(child: root, keys: keys)
            }
            root = try limit(root, query.limit, query.offset)
            plan = QueryPlan(root: root, names: plan.names)
        }
        return plan
    }

    private func body(_ body: QueryBody, outer: OuterRow?) throws(SQLError) -> QueryPlan {
        switch body {
        case .select(let select): return try self.select(select, outer: outer)
        case .set(let op, let all, let a, let b):
            let left = try self.body(a, outer: outer)
            let right = try self.body(b, outer: outer)
            guard left.width == right.width else {
                throw SQLError("42601", "each \(op.rawValue) query must have the same number of columns")
            }
            let node = SetOperation(op: op, all: all, left: left, right: right,
                                    scope: scope(left.names.map { (nil, $0, nil) }, outer: outer))
            return QueryPlan(root: node, names: left.names)
        }
    }

    // MARK: FROM

    private func from(_ item: FromItem, outer: OuterRow?) throws(SQLError) -> any PlanNode {
        switch item {
        case .table(let table):
            if let shared = withQuery(table.name) {
                return SubqueryScan(shared: shared, alias: table.label,
                                    scope: scope(shared.plan.names.map { (table.label, $0, nil) }, outer: outer), withQuery: true)
            }
            let schema = try executor.schema(table)
            return try TableScan(executor, table, schema: schema, scope: tableScope(schema, label: table.label, outer: outer), filter: nil)
        case .derived(let query, let alias, _):
            let plan = try self.plan(query, outer: outer)
            return SubqueryScan(shared: SubqueryScan.Shared(plan, correlated: true), alias: alias,
                                scope: scope(plan.names.map { (alias, $0, nil) }, outer: outer), withQuery: false)
        case .join(let a, let b, let kind, let condition, _):
            return try Join(try from(a, outer: outer), try from(b, outer: outer), kind, on: condition)
        case .joinUsing(let a, let b, let kind, let names, let token):
            let left = try from(a, outer: outer)
            let right = try from(b, outer: outer)
            // NATURAL: the names both sides have, in the left's order (none: a cross join).
            let visible = { (scope: Scope) in scope.columns.indices.filter { !scope.qualifiedOnly.contains($0) }.map { scope.columns[$0].name } }
            let common = names ?? visible(left.scope).filter(visible(right.scope).contains)
            if common.isEmpty { return try Join(left, right, names == nil && kind == .inner ? .cross : kind, on: nil) }
            return try usingJoin(left, right, kind, common, token)
        }
    }

    /// `JOIN ... USING (c, ...)`: the join on `l.c = r.c`, under a projection whose columns are the merged
    /// `c`s first (the left's, the right's for a right join, coalesce of both for a full one), then every
    /// input column; the inputs' `c`s are reached only by qualified names, as PostgreSQL's.
    private func usingJoin(_ left: any PlanNode, _ right: any PlanNode, _ kind: JoinKind, _ names: [String],
                           _ token: Token) throws(SQLError) -> any PlanNode {
        var terms: [Expression] = []
        var pairs: [(Int, Int)] = []
        for name in names {
            func side(_ scope: Scope, _ which: String) throws(SQLError) -> Int {
                do { return try scope.resolve(nil, name, token) } catch where error.code == "42703" {
                    throw SQLError("42703", "column \"\(name)\" specified in USING clause does not exist in \(which) table", at: token)
                }
            }
            let l = try side(left.scope, "left")
            let r = try side(right.scope, "right")
            pairs.append((l, left.scope.columns.count + r))
            terms.append(.binary(.equal, .column(table: left.scope.columns[l].table, name: name, token),
                                 .column(table: right.scope.columns[r].table, name: name, token), token))
        }
        let join = try Join(left, right, kind, on: terms.dropFirst().reduce(terms[0]) { .binary(.and, $0, $1, token) })
        var outputs: [(Evaluator, Token?)] = []
        var columns: [(table: String?, name: String, type: ColumnType?)] = []
        for (name, (l, r)) in zip(names, pairs) {
            let read = { (index: Int) -> Evaluator in { batch, row in batch.columns[index].value(at: row) } }
            let merged: Evaluator
            switch kind {
            case .right: merged = read(r)
            case .full: merged = { batch, row in
                let value = batch.columns[l].value(at: row)
                return value == .null ? batch.columns[r].value(at: row) : value
            }
            default: merged = read(l)
            }
            outputs.append((merged, token))
            columns.append((nil, name, nil))
        }
        for (index, column) in join.scope.columns.enumerated() {
            outputs.append(({ batch, row in batch.columns[index].value(at: row) }, token))
            columns.append((column.table, column.name, nil))
        }
        var scope = self.scope(columns, outer: join.scope.outer)
        scope.qualifiedOnly = Set(join.scope.qualifiedOnly.map { $0 + names.count })
            .union(pairs.flatMap { [$0.0 + names.count, $0.1 + names.count] })
        return Project(child: join, outputs: outputs, scope: scope)
    }

    private func withQuery(_ name: String) -> SubqueryScan.Shared? {
        for level in withQueries.reversed() { if let shared = level[name] { return shared } }
        return nil
    }

    // MARK: SELECT

    private func select(_ select: Select, outer: OuterRow?) throws(SQLError) -> QueryPlan {
        var node: any PlanNode
        var scan: TableScan?
        if case .table(let table)? = select.from, withQuery(table.name) == nil {
            let schema = try executor.schema(table)
            scan = try TableScan(executor, table, schema: schema, scope: tableScope(schema, label: table.label, outer: outer),
                                 filter: select.filter)
            node = scan!
            if let indexed = try IndexScan(scan!, filter: select.filter) { (node, scan) = (indexed, nil) }
        } else {
            node = try select.from.map { (item) throws(SQLError) in try from(item, outer: outer) } ?? OneRow(scope: scope([], outer: outer))
            if let filter = select.filter { node = try Filter(node, filter) }
        }

        // The select list, `*` expanded.
        var names: [String] = []
        var items: [Expression] = []
        for item in select.items {
            if let expression = item.expression {
                names.append(Self.name(item))
                items.append(expression)
                continue
            }
            guard !node.scope.columns.isEmpty else { throw SQLError("42601", "SELECT * with no tables specified is not valid") }
            let scope = node.scope
            let columns = scope.columns.indices.filter { item.table == nil ? !scope.qualifiedOnly.contains($0) : scope.columns[$0].table == item.table }
                .map { scope.columns[$0] }
            if columns.isEmpty, let table = item.table { throw SQLError("42P01", "missing FROM-clause entry for table \"\(table)\"") }
            for column in columns {
                names.append(column.name)
                items.append(.column(table: column.table, name: column.name, Token(kind: .end, line: 1, column: 1, text: "")))
            }
        }
        let aggregated = !select.groupBy.isEmpty || select.having != nil || items.contains(where: Evaluate.hasAggregate)
        if aggregated && select.items.contains(where: { $0.expression == nil }) {
            throw SQLError("42803", "SELECT * cannot be used with GROUP BY or aggregates")
        }

        // ORDER BY: an output column, or an expression over the input carried as a hidden column.
        var sortKeys: [(column: Int, order: OrderItem)] = []
        var hidden: [Expression] = []
        for item in select.orderBy {
            if let index = try Self.outputIndex(item.expression, names: names, sources: items) {
                sortKeys.append((index, item))
            } else {
                if select.distinct { throw SQLError("42P10", "for SELECT DISTINCT, ORDER BY expressions must appear in select list", at: item.expression.token) }
                sortKeys.append((items.count + hidden.count, item))
                hidden.append(item.expression)
            }
        }

        // DISTINCT ON: its expressions must lead ORDER BY (as PostgreSQL requires), so that the first row of
        // each run of equal keys after the sort is the row to keep.
        var distinctColumns: [Int] = []
        for (position, expression) in select.distinctOn.enumerated() {
            let column: Int
            if let index = try Self.outputIndex(expression, names: names, sources: items) {
                column = index
            } else if let index = hidden.firstIndex(of: expression) {
                column = items.count + index
            } else {
                column = items.count + hidden.count
                hidden.append(expression)
            }
            if position < sortKeys.count, sortKeys[position].column != column {
                throw SQLError("42P10", "SELECT DISTINCT ON expressions must match initial ORDER BY expressions", at: expression.token)
            }
            distinctColumns.append(column)
        }
        for column in distinctColumns.dropFirst(sortKeys.count) {
            sortKeys.append((column, OrderItem(expression: .literal(.null, Token(kind: .end, line: 1, column: 1, text: "")), descending: false)))
        }

        if aggregated, let scan, hidden.isEmpty, select.distinctOn.isEmpty, !items.contains(where: Self.hasWindow),
           let fast = try TimeBucketAggregate(select, scan) {
            return QueryPlan(root: try finish(fast, select, sortKeys), names: names)
        }

        var outputs = items + hidden
        if aggregated {
            var keys: [Expression] = []
            for key in select.groupBy {
                if let index = try Self.outputIndex(key, names: names, sources: items, allowSourceMatch: false) { keys.append(items[index]) }
                else { keys.append(key) }
            }
            var grouping = AggregatePlan(keys: keys)
            let input = node.scope
            grouping.labels = keys.map { key in
                guard case .column(let table, let name, let token) = key, let index = try? input.resolve(table, name, token) else { return nil }
                return (input.columns[index].table, name)
            }
            var rewritten: [Expression] = []
            for output in outputs { rewritten.append(try grouping.rewrite(output)) }
            let having = try select.having.map { (condition) throws(SQLError) in try grouping.rewrite(condition) }
            outputs = rewritten
            node = HashAggregate(child: node, plan: grouping, scope: scope(grouping.groupColumns, outer: outer))
            if let having { node = try Filter(node, having) }
        }

        var calls: [WindowCall] = []
        outputs = try outputs.map { (output) throws(SQLError) in try Self.extractWindows(output, &calls) }
        if !calls.isEmpty { node = try WindowAggregate(child: node, calls: calls) }

        var compiled: [(Evaluator, Token?)] = []
        for output in outputs { compiled.append((try Evaluate.compile(output, node.scope), output.token)) }
        node = Project(child: node, outputs: compiled,
                       scope: scope(names.map { (nil, $0, nil) } + hidden.map { _ in (nil, "?sort?", nil) }, outer: outer))
        if select.distinct { node = Distinct(child: node, width: names.count) }
        if !distinctColumns.isEmpty {
            let sorted = Sort(child: node, keys: sortKeys)
            return QueryPlan(root: try limit(FirstOfEach(child: sorted, columns: distinctColumns), select.limit, select.offset), names: names)
        }
        return QueryPlan(root: try finish(node, select, sortKeys), names: names)
    }

    /// ORDER BY, OFFSET and LIMIT over a select's output.
    private func finish(_ node: any PlanNode, _ select: Select, _ sortKeys: [(column: Int, order: OrderItem)]) throws(SQLError) -> any PlanNode {
        try limit(sortKeys.isEmpty ? node : Sort(child: node, keys: sortKeys), select.limit, select.offset)
    }

    private func limit(_ node: any PlanNode, _ limit: Expression?, _ offset: Expression?) throws(SQLError) -> any PlanNode {
        func count(_ expression: Expression?) throws(SQLError) -> Int? {
            guard let expression else { return nil }
            switch try executor.constant(expression) {
            case .int64(let value) where value >= 0: return Int(value)
            case .null: return nil
            default: throw SQLError("2201W", "LIMIT and OFFSET must be non-negative integers", at: expression.token)
            }
        }
        let rows = try count(limit)
        let skip = try count(offset) ?? 0
        if rows == nil && skip == 0 { return node }
        return Limit(child: node, offset: skip, limit: rows)
    }

    static func hasWindow(_ expression: Expression) -> Bool {
        var found = false
        _ = try? expression.transformed { (part) throws(SQLError) in
            if case .window = part { found = true }
            return nil
        }
        return found
    }

    /// `expression` with each window call replaced by a reference to its column (`#w.wN`), the calls
    /// collected in `calls`.
    static func extractWindows(_ expression: Expression, _ calls: inout [WindowCall]) throws(SQLError) -> Expression {
        var collected = calls
        let result = try expression.transformed { (part) throws(SQLError) in
            guard case .window(let call) = part else { return nil }
            for argument in call.arguments + call.partitionBy + call.orderBy.map(\.expression) where hasWindow(argument) {
                throw SQLError("42P20", "window function calls cannot be nested", at: call.token)
            }
            let index = collected.firstIndex(of: call) ?? { collected.append(call); return collected.count - 1 }()
            return .column(table: "#w", name: "w\(index)", call.token)
        }
        calls = collected
        return result
    }

    /// Output column names: the alias, a column's name, a function's name, or `?column?`.
    static func name(_ item: SelectItem) -> String {
        if let alias = item.alias { return alias }
        switch item.expression {
        case .column(_, let name, _)?: return name
        case .function(let name, _, _, _)?: return name
        case .aggregate(let call)?: return call.function
        case .window(let call)?: return call.function
        case .exists?: return "exists"
        default: return "?column?"
        }
    }

    /// The output column an ORDER BY or GROUP BY item names: a 1-based position, an alias, or (when
    /// `allowSourceMatch`) the same expression as an output.
    static func outputIndex(_ expression: Expression, names: [String], sources: [Expression], allowSourceMatch: Bool = true) throws(SQLError) -> Int? {
        if case .literal(.int64(let position), let token) = expression {
            guard position >= 1 && position <= names.count else {
                throw SQLError("42P10", "position \(position) is not in select list", at: token)
            }
            return Int(position) - 1
        }
        if case .column(nil, let name, _) = expression, let index = names.firstIndex(of: name) {
            if index >= sources.count { return index }
            if case .column(_, name, _) = sources[index] {} else { return index }
        }
        if allowSourceMatch, let index = sources.firstIndex(where: { $0 == expression }) { return index }
        return nil
    }
}

/// A subquery inside an expression: planned once; run once if it reads nothing of the outer row, else
/// once per outer row.
struct Subquery {
    final class Cache {
        var rows: [[Value]]?
        var values: (Set<Value>, sawNull: Bool)?
    }

    let plan: QueryPlan
    let outer: OuterRow
    let cache = Cache()

    init(_ query: Query, _ scope: Scope, _ token: Token, anyWidth: Bool = false) throws(SQLError) {
        guard let planner = scope.planner else { throw SQLError("0A000", "subqueries are not allowed here", at: token) }
        outer = OuterRow(scope)
        plan = try planner.plan(query, outer: outer)
        if !anyWidth && plan.width != 1 { throw SQLError("42601", "subquery must return only one column", at: token) }
    }

    func rows(_ batch: RowBatch, _ row: Int) throws(SQLError) -> [[Value]] {
        if let rows = cache.rows { return rows }
        outer.batch = batch
        outer.row = row
        let rows = try plan.rows()
        if !outer.referenced { cache.rows = rows }
        return rows
    }

    /// The first column's values (normalized as join keys are), and whether one was NULL: for IN.
    func valueSet(_ batch: RowBatch, _ row: Int) throws(SQLError) -> (Set<Value>, sawNull: Bool) {
        if let values = cache.values { return values }
        var set: Set<Value> = []
        var sawNull = false
        for row in try rows(batch, row) {
            if row[0] == .null { sawNull = true } else { set.insert(Join.normalized(row[0])) }
        }
        if !outer.referenced { cache.values = (set, sawNull) }
        return (set, sawNull)
    }
}

extension Expression {
    /// This expression rebuilt top-down: where `body` returns a replacement it stands, else the parts are
    /// transformed. Subqueries are left whole (their names are their own).
    func transformed(_ body: (Expression) throws(SQLError) -> Expression?) throws(SQLError) -> Expression {
        if let replacement = try body(self) { return replacement }
        func each(_ list: [Expression]) throws(SQLError) -> [Expression] {
            var out: [Expression] = []
            for item in list { out.append(try item.transformed(body)) }
            return out
        }
        switch self {
        case .literal, .parameter, .column, .subquery, .exists: return self
        case .unary(let op, let a, let token): return .unary(op, try a.transformed(body), token)
        case .binary(let op, let a, let b, let token): return .binary(op, try a.transformed(body), try b.transformed(body), token)
        case .between(let a, let b, let c, let negated):
            return .between(try a.transformed(body), try b.transformed(body), try c.transformed(body), negated: negated)
        case .inList(let a, let list, let negated): return .inList(try a.transformed(body), try each(list), negated: negated)
        case .isNull(let a, let negated): return .isNull(try a.transformed(body), negated: negated)
        case .function(let name, let arguments, let star, let token): return .function(name, try each(arguments), star: star, token)
        case .aggregate(var call):
            call.arguments = try each(call.arguments)
            call.filter = try call.filter.map { (filter) throws(SQLError) in try filter.transformed(body) }
            var order: [OrderItem] = []
            for item in call.orderBy {
                order.append(OrderItem(expression: try item.expression.transformed(body), descending: item.descending, nullsFirst: item.nullsFirst))
            }
            call.orderBy = order
            return .aggregate(call)
        case .inQuery(let a, let query, let negated, let token): return .inQuery(try a.transformed(body), query, negated: negated, token)
        case .quantified(let op, let a, let query, let all, let token): return .quantified(op, try a.transformed(body), query, all: all, token)
        case .window(var call):
            call.arguments = try each(call.arguments)
            call.partitionBy = try each(call.partitionBy)
            var order: [OrderItem] = []
            for item in call.orderBy { order.append(OrderItem(expression: try item.expression.transformed(body), descending: item.descending,
                                                  nullsFirst: item.nullsFirst)) }
            call.orderBy = order
            return .window(call)
        }
    }
}
