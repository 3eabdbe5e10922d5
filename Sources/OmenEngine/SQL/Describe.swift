/// What a statement returns, known before it runs: what the extended query protocol's Describe answers.
public struct ResultDescription: Equatable, Sendable {
    public var names: [String]
    /// nil where nothing tells before the statement runs.
    public var types: [ColumnType?]
}

extension SQLSession {
    /// The type of each `$n` of `statement` (index n-1) as where it stands implies, or as the client
    /// declared it (`declared`, nil: unspecified), which wins; nil where nothing tells. `sql` is the
    /// statement's text, whose highest `$n` is the count.
    public func parameterTypes(_ statement: Statement, sql: String, declared: [ColumnType?] = []) -> [ColumnType?] {
        let count = (try? Lexer.tokenize(sql))?.reduce(0) { count, token in
            if case .parameter(let number) = token.kind { return max(count, number) } else { return count }
        } ?? 0
        var inference = ParameterInference(count: max(count, declared.count), schema: { [database] name in try? database.schema(name) })
        inference.visit(statement)
        var types = inference.types
        for (index, type) in declared.enumerated() where type != nil { types[index] = type }
        return types
    }

    /// The columns `statement` returns, without running it; nil for a statement that returns no rows. A
    /// query is planned (with NULL parameters), not run, in the open transaction or one of its own.
    public func describe(_ statement: Statement, parameterCount: Int) throws(SQLError) -> ResultDescription? {
        switch statement {
        case .query(let query):
            let plan = try plan(query, parameters: Array(repeating: .null, count: parameterCount))
            var inference = ParameterInference(count: parameterCount, schema: { [database] name in try? database.schema(name) })
            inference.visit(statement)
            var types = plan.root.scope.columns.prefix(plan.width).map(\.type)
            if let inferred = inference.resultTypes(query.body), inferred.count == types.count {
                types = zip(types, inferred).map { $0 ?? $1 }
            }
            return ResultDescription(names: plan.names, types: types)
        case .explain:
            return ResultDescription(names: ["QUERY PLAN"], types: [.text])
        case .insert(let table, _, _, _, let returning), .update(let table, _, _, let returning), .delete(let table, _, let returning):
            guard !returning.isEmpty else { return nil }
            let schema = try? database.schema(table.name)
            var description = ResultDescription(names: [], types: [])
            for item in returning {
                if let expression = item.expression {
                    description.names.append(Planner.name(item))
                    if case .column(_, let name, _) = expression, let schema, let column = schema.columnIndex(name) {
                        description.types.append(schema.columns[column].type)
                    } else {
                        description.types.append(nil)
                    }
                } else if let schema {
                    description.names += schema.visibleColumns.map(\.name)
                    description.types += schema.visibleColumns.map(\.type)
                }
            }
            return description
        default:
            return nil
        }
    }

    /// The plannerless form of `SELECT columns FROM t WHERE key = $n` (columns plain or `*`): nil for any
    /// other statement. `readRow` runs it.
    public func pointRead(_ statement: Statement) -> PointRead? {
        guard isPointRead(statement), case .query(let query) = statement, case .select(let select) = query.body,
              case .table(let table)? = select.from, let filter = select.filter,
              let schema = try? database.schema(table.name) else { return nil }
        let key = schema.columns[schema.primaryKey]
        func isKey(_ expression: Expression) -> Bool {
            if case .column(let label, let name, _) = expression { return name == key.name && (label == nil || label == table.label) }
            return false
        }
        guard case .binary(.equal, let left, let right, _) = filter else { return nil }
        let parameter: Int
        if isKey(left), case .parameter(let n, _) = right { parameter = n - 1 }
        else if isKey(right), case .parameter(let n, _) = left { parameter = n - 1 }
        else { return nil }
        var columns: [Int] = []
        for item in select.items {
            switch item.expression {
            case nil where item.table == nil || item.table == table.label:
                columns += schema.visibleColumns.indices
            case .column(let label, let name, _)? where label == nil || label == table.label:
                guard let index = schema.columnIndex(name) else { return nil }
                columns.append(index)
            default:
                return nil
            }
        }
        return PointRead(schema: schema, parameter: parameter, keyType: key.type, columns: columns)
    }

    /// The rows of a point read with these parameters, in the open transaction or an autocommit one, as
    /// `run` would return them but for the column names (the caller has them from `run`'s first answer);
    /// nil, for `run` to take, when the parameter is not a value of the key's type or the table is no
    /// longer the one the read was made for.
    public func readRow(_ read: PointRead, parameters: [Value]) throws(SQLError) -> [[Value]]? {
        guard read.parameter < parameters.count, parameters[read.parameter].type == read.keyType,
              (try? database.schema(read.table)) == read.schema else { return nil }
        if transactionFailed { throw SQLError("25P02", "current transaction is aborted, commands ignored until end of transaction block") }
        let row: [Value]?
        if let open = openTransaction {
            row = try engine { () throws(EngineError) in try open.get(read.table, primaryKey: parameters[read.parameter]) }
        } else {
            let snapshot = try engine { () throws(EngineError) in try database.begin() }
            defer { snapshot.rollback() }
            row = try engine { () throws(EngineError) in try snapshot.get(read.table, primaryKey: parameters[read.parameter]) }
        }
        return row.map { row in [read.columns.map { row[$0] }] } ?? []
    }

    /// Whether `statement` writes a few rows and computes nothing costly: BEGIN, COMMIT, ROLLBACK, or
    /// `INSERT ... VALUES` of at most 64 rows of values, parameters and casts, with no ON CONFLICT DO
    /// UPDATE and no RETURNING. Its work takes microseconds; a commit's wait for the disk is
    /// `run(_:whenDurable:)`'s.
    public func isQuickWrite(_ statement: Statement) -> Bool {
        func isValue(_ expression: Expression) -> Bool {
            switch expression {
            case .literal, .parameter: return true
            case .unary(_, let operand, _): return isValue(operand)
            case .function("cast", let arguments, _, _): return arguments.count == 2 && isValue(arguments[0])
            default: return false
            }
        }
        switch statement {
        case .begin, .commit, .rollback: return true
        case .insert(_, _, .values(let rows), let onConflict, let returning):
            return rows.count <= 64 && (onConflict?.assignments.isEmpty ?? true) && returning.isEmpty && rows.allSatisfy { $0.allSatisfy(isValue) }
        default: return false
        }
    }

    /// Whether `statement` reads at most one row by its table's primary key and computes nothing costly:
    /// `SELECT columns FROM t WHERE key = value [AND comparisons]`, of columns, values and casts only. Such
    /// a statement takes a few microseconds, so a server may run it without handing it to another thread.
    public func isPointRead(_ statement: Statement) -> Bool {
        guard case .query(let query) = statement, query.with.isEmpty, query.orderBy.isEmpty, query.limit == nil, query.offset == nil,
              case .select(let select) = query.body, !select.distinct, select.distinctOn.isEmpty, case .table(let table)? = select.from,
              select.groupBy.isEmpty, select.having == nil, select.limit == nil, select.offset == nil, let filter = select.filter,
              let schema = try? database.schema(table.name), !schema.hasRowIDs else { return false }
        let key = schema.columns[schema.primaryKey].name
        func isKey(_ expression: Expression) -> Bool {
            if case .column(let label, let name, _) = expression { return name == key && (label == nil || label == table.label) }
            return false
        }
        func isValue(_ expression: Expression) -> Bool {
            switch expression {
            case .literal, .parameter: return true
            default: return false
            }
        }
        func isPlain(_ expression: Expression) -> Bool {
            switch expression {
            case .literal, .parameter, .column: return true
            case .function("cast", let arguments, _, _): return arguments.count == 2 && isPlain(arguments[0])
            case .binary(let op, let left, let right, _): return op.isComparison && isPlain(left) && isPlain(right)
            case .isNull(let value, _): return isPlain(value)
            default: return false
            }
        }
        let terms = KeyRange.conjuncts(filter)
        guard terms.allSatisfy(isPlain), select.items.allSatisfy({ $0.expression.map(isPlain) ?? true }) else { return false }
        return terms.contains { term in
            guard case .binary(.equal, let left, let right, _) = term else { return false }
            return isKey(left) && isValue(right) || isKey(right) && isValue(left)
        }
    }

    /// `query` planned with these parameter values, in the open transaction or a read-only one.
    private func plan(_ query: Query, parameters: [Value]) throws(SQLError) -> QueryPlan {
        if let open = openTransaction {
            return try Planner(Executor(session: self, transaction: open, parameters: parameters)).plan(query, outer: nil)
        }
        let transaction = try engine { () throws(EngineError) in try database.begin() }
        defer { transaction.rollback() }
        return try Planner(Executor(session: self, transaction: transaction, parameters: parameters)).plan(query, outer: nil)
    }
}

/// Infers `$n`'s types from where they stand: beside a column or a typed value in a comparison, arithmetic,
/// BETWEEN or IN; in INSERT's VALUES and UPDATE's SET; as a CAST's operand; in LIMIT and OFFSET.
struct ParameterInference {
    var types: [ColumnType?]
    /// The columns of the tables the statement names, by column name (the first table's on a clash).
    private var columns: [String: ColumnType] = [:]
    private let schema: (String) -> TableSchema?

    init(count: Int, schema: @escaping (String) -> TableSchema?) {
        types = Array(repeating: nil, count: count)
        self.schema = schema
    }

    mutating func visit(_ statement: Statement) {
        switch statement {
        case .query(let query): visit(query)
        case .explain(let inner): visit(inner)
        case .insert(let table, let names, let source, let onConflict, let returning):
            guard let schema = schema(table.name) else { return }
            add(schema)
            let targets = names ?? schema.visibleColumns.map(\.name)
            switch source {
            case .values(let rows):
                for row in rows {
                    for (expression, name) in zip(row, targets) { assign(expression, schema.columnIndex(name).map { schema.columns[$0].type }) }
                    row.forEach { visit($0) }
                }
            case .query(let query): visit(query)
            }
            for assignment in onConflict?.assignments ?? [] { assign(assignment.value, column(assignment.column)); visit(assignment.value) }
            if let filter = onConflict?.filter { visit(filter) }
            returning.compactMap(\.expression).forEach { visit($0) }
        case .update(let table, let assignments, let filter, let returning):
            if let schema = schema(table.name) { add(schema) }
            for assignment in assignments { assign(assignment.value, column(assignment.column)); visit(assignment.value) }
            if let filter { visit(filter) }
            returning.compactMap(\.expression).forEach { visit($0) }
        case .delete(let table, let filter, let returning):
            if let schema = schema(table.name) { add(schema) }
            if let filter { visit(filter) }
            returning.compactMap(\.expression).forEach { visit($0) }
        default: break
        }
    }

    private mutating func add(_ schema: TableSchema) {
        for column in schema.visibleColumns where columns[column.name] == nil { columns[column.name] = column.type }
    }

    private func column(_ name: String) -> ColumnType? { columns[name] }

    private mutating func visit(_ query: Query) {
        for item in query.with { visit(item.query) }
        visit(query.body)
        for item in query.orderBy { visit(item.expression) }
        limit(query.limit)
        limit(query.offset)
    }

    private mutating func limit(_ expression: Expression?) {
        guard let expression else { return }
        assign(expression, .int64)
        visit(expression)
    }

    private mutating func visit(_ body: QueryBody) {
        switch body {
        case .set(_, _, let left, let right):
            visit(left)
            visit(right)
        case .select(let select):
            if let from = select.from { visit(from) }
            for item in select.items { if let expression = item.expression { visit(expression) } }
            if let filter = select.filter { visit(filter) }
            select.groupBy.forEach { visit($0) }
            if let having = select.having { visit(having) }
            for item in select.orderBy { visit(item.expression) }
            limit(select.limit)
            limit(select.offset)
        }
    }

    private mutating func visit(_ item: FromItem) {
        switch item {
        case .table(let table): if let schema = schema(table.name) { add(schema) }
        case .derived(let query, _, _): visit(query)
        case .join(let left, let right, _, let on, _):
            visit(left)
            visit(right)
            if let on { visit(on) }
        case .joinUsing(let left, let right, _, _, _):
            visit(left)
            visit(right)
        }
    }

    /// The types of a query's output columns where they are plain (nil for one that is not), or nil
    /// where the select list cannot be followed (`*` over a derived table).
    func resultTypes(_ body: QueryBody) -> [ColumnType?]? {
        switch body {
        case .set(_, _, let left, _): return resultTypes(left)
        case .select(let select):
            var types: [ColumnType?] = []
            for item in select.items {
                if let expression = item.expression {
                    types.append(type(of: expression))
                    continue
                }
                guard let from = select.from, let tables = tables(from) else { return nil }
                for (label, schema) in tables where item.table == nil || item.table == label {
                    types += schema.visibleColumns.map(\.type)
                }
            }
            return types
        }
    }

    /// The tables a FROM item joins, in order, with their labels; nil past a derived table or USING join.
    private func tables(_ item: FromItem) -> [(String, TableSchema)]? {
        switch item {
        case .table(let table): schema(table.name).map { [(table.label, $0)] }
        case .join(let left, let right, _, _, _):
            tables(left).flatMap { left in tables(right).map { left + $0 } }
        case .derived, .joinUsing: nil
        }
    }

    /// The type `expression` has without running it, where it is plain.
    private func type(of expression: Expression) -> ColumnType? {
        switch expression {
        case .aggregate(let call):
            switch call.function {
            case "count": return .int64
            case "avg": return .double
            case "string_agg": return .text
            case "sum", "min", "max": return call.arguments.first.flatMap { type(of: $0) }
            default: return nil
            }
        case .isNull, .exists, .inQuery, .inList, .between: return .bool
        case .unary(.not, _, _): return .bool
        case .binary(let op, _, _, _) where op.isComparison || [.and, .or, .distinctFrom, .notDistinctFrom].contains(op): return .bool
        case .binary(.concatenate, _, _, _): return .text
        case .function("count", _, _, _): return .int64
        case .literal(let value, _): return value.type
        case .column(_, let name, _): return columns[name]
        case .parameter(let number, _): return types[number - 1]
        case .unary(.negate, let operand, _): return type(of: operand)
        case .function("cast", let arguments, _, _):
            guard arguments.count == 2, case .literal(.text(let name), _) = arguments[1] else { return nil }
            return ColumnType(sqlTypeName: name)
        case .binary(let op, let left, let right, _) where [.plus, .minus, .times, .divide, .modulo].contains(op):
            return type(of: left) ?? type(of: right)
        default: return nil
        }
    }

    /// Gives `expression`, if it is a parameter with no type yet, the type `type`.
    private mutating func assign(_ expression: Expression, _ type: ColumnType?) {
        if case .parameter(let number, _) = expression, let type, types[number - 1] == nil { types[number - 1] = type }
    }

    private mutating func visit(_ expression: Expression) {
        switch expression {
        case .literal, .column, .parameter: break
        case .unary(_, let operand, _): visit(operand)
        case .binary(let op, let left, let right, _):
            if op != .and && op != .or && op != .concatenate {
                assign(left, type(of: right))
                assign(right, type(of: left))
            }
            visit(left)
            visit(right)
        case .between(let value, let low, let high, _):
            assign(value, type(of: low) ?? type(of: high))
            assign(low, type(of: value))
            assign(high, type(of: value))
            [value, low, high].forEach { visit($0) }
        case .inList(let value, let list, _):
            for item in list { assign(item, type(of: value)) }
            visit(value)
            list.forEach { visit($0) }
        case .isNull(let value, _): visit(value)
        case .function(let name, let arguments, _, _):
            if name == "cast", arguments.count == 2, case .literal(.text(let target), _) = arguments[1] {
                assign(arguments[0], ColumnType(sqlTypeName: target))
            }
            arguments.forEach { visit($0) }
        case .aggregate(let call):
            call.arguments.forEach { visit($0) }
            if let filter = call.filter { visit(filter) }
        case .subquery(let query, _), .exists(let query, _): visit(query)
        case .inQuery(let value, let query, _, _), .quantified(_, let value, let query, _, _):
            visit(value)
            visit(query)
        case .window(let call):
            call.arguments.forEach { visit($0) }
            call.partitionBy.forEach { visit($0) }
        }
    }
}

extension ColumnType {
    /// The type a SQL type name (as CAST takes it) stands for.
    public init?(sqlTypeName name: String) {
        switch name.lowercased() {
        case "bigint", "int8", "integer", "int", "int4", "smallint", "int2": self = .int64
        case "double precision", "float8", "float", "real", "float4", "numeric", "decimal": self = .double
        case "text", "varchar", "char", "character": self = .text
        case "boolean", "bool": self = .bool
        case "timestamp", "timestamptz": self = .timestamp
        case "date": self = .date
        case "interval": self = .interval
        case "uuid": self = .uuid
        default: return nil
        }
    }
}

extension Value {
    /// The value as PostgreSQL's text output shows it (NULL as the empty string).
    public var text: String { Evaluate.text(self) }

    /// `text` read as a value of `type`, as a CAST from text reads it (22P02 and friends when it does not
    /// parse).
    public init(parsing text: String, as type: ColumnType) throws(SQLError) {
        self = try Evaluate.cast(.text(text), to: type.sqlName, nil)
    }
}

/// A prepared `SELECT columns FROM t WHERE key = $n`, run without planning (`SQLSession.readRow`).
public struct PointRead: Sendable, Equatable {
    /// The table as it was when the statement was prepared.
    let schema: TableSchema
    var table: String { schema.name }
    /// The parameter's index (from 0).
    let parameter: Int
    let keyType: ColumnType
    /// The stored columns the result shows, in order.
    let columns: [Int]
}
