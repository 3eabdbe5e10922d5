/// Grouping and aggregation: select items, HAVING and ORDER BY are rewritten over a "group row" whose
/// columns are the group keys then the aggregate results, and evaluated once per group.
struct AggregatePlan {
    enum Function: String { case count, sum, avg, min, max, stringAgg = "string_agg" }

    struct Call: Equatable {
        var function: Function
        /// nil for `count(*)`.
        var argument: Expression?
        /// `count(DISTINCT x)`: each value once.
        var distinct = false
        /// string_agg's delimiter.
        var separator: Expression?
        /// `ORDER BY` inside the call: the values are taken in this order.
        var orderBy: [OrderItem] = []
        /// `FILTER (WHERE ...)`: only the rows where it holds.
        var filter: Expression?
        var token: Token

        /// Whether the typed loops (vector, time-bucket runs) can compute it.
        var isPlain: Bool { !distinct && orderBy.isEmpty && filter == nil && function != .stringAgg }
    }

    var keys: [Expression]
    var calls: [Call] = []
    /// Per key, the input column it is (its table label and name), so that a correlated subquery over the
    /// group row still finds `s.region`; nil for a key that is an expression.
    var labels: [(table: String?, name: String)?] = []

    /// The rewritten expression over the group row (`#.gN`, `#.aN`).
    mutating func rewrite(_ expression: Expression) throws(SQLError) -> Expression {
        let keys = self.keys
        let columns = groupColumns
        return try expression.transformed { (part) throws(SQLError) in
            if let index = keys.firstIndex(of: part) { return .column(table: columns[index].table, name: columns[index].name, part.token!) }
            switch part {
            case .function(let name, let arguments, let star, let token) where Evaluate.aggregateNames.contains(name):
                return try self.call(AggregateCall(function: name, arguments: arguments, star: star, distinct: false, orderBy: [],
                                                   filter: nil, token: token))
            case .aggregate(let call):
                return try self.call(call)
            case .column(_, let name, let token):
                throw SQLError("42803", "column \"\(name)\" must appear in the GROUP BY clause or be used in an aggregate function", at: token)
            default:
                return nil
            }
        }
    }

    /// The group-row column of `parsed`, added if new.
    private mutating func call(_ parsed: AggregateCall) throws(SQLError) -> Expression {
        let name = parsed.function
        let token = parsed.token
        if parsed.star && name != "count" { throw .syntax("\(name)(*) is not allowed", at: token) }
        let arity = name == "string_agg" ? 2 : 1
        guard parsed.star || parsed.arguments.count == arity else {
            throw SQLError("42883", "function \(name) takes \(arity) argument\(arity == 1 ? "" : "s")", at: token)
        }
        let parts = parsed.arguments + parsed.orderBy.map(\.expression) + (parsed.filter.map { [$0] } ?? [])
        if parts.contains(where: Evaluate.hasAggregate) {
            throw SQLError("42803", "aggregate function calls cannot be nested", at: token)
        }
        let call = Call(function: Function(rawValue: name)!, argument: parsed.arguments.first, distinct: parsed.distinct,
                        separator: parsed.arguments.count > 1 ? parsed.arguments[1] : nil, orderBy: parsed.orderBy,
                        filter: parsed.filter, token: token)
        let index = calls.firstIndex(of: call) ?? { calls.append(call); return calls.count - 1 }()
        return .column(table: "#", name: "a\(index)", call.token)
    }

    /// The columns of the group row.
    var groupColumns: [(table: String?, name: String, type: ColumnType?)] {
        keys.indices.map { index in
            let label = index < labels.count ? labels[index] : nil
            return (label?.table ?? "#", label?.name ?? "g\(index)", nil)
        } + calls.indices.map { ("#", "a\($0)", nil) }
    }

    /// One accumulator's running state. Its methods are the one implementation of the aggregates'
    /// arithmetic and order (NaN above every number, as PostgreSQL sorts it), whichever loop feeds them:
    /// the row path, the typed group loops, the time-bucket runs and window frames.
    struct State {
        var count: Int64 = 0
        var integerSum: Int64 = 0
        var doubleSum = 0.0
        var sawDouble = false
        var extreme: Value = .null
        /// The values seen, for an aggregate over distinct values.
        var seen: Set<Value> = []
        /// string_agg's text so far.
        var text: String?
        /// For a call with ORDER BY: each row's sort keys, value and delimiter, taken in order at the end.
        var ordered: [(keys: [Value], value: Value, separator: Value)] = []

        /// Takes `value` as the new minimum or maximum if it is one.
        mutating func offer(_ value: Value, _ function: Function) {
            guard function == .min || function == .max else { return }
            if extreme == .null {
                extreme = value
                return
            }
            let order: Int
            if case .double(let x) = value, case .double(let y) = extreme { order = VectorPredicate.order(x, y) }
            else { order = Evaluate.compare(value, extreme) }
            if function == .min ? order < 0 : order > 0 { extreme = value }
        }

        mutating func add(double x: Double, _ function: Function) {
            count += 1
            doubleSum += x
            sawDouble = true
            offer(.double(x), function)
        }

        /// False when an integer sum leaves bigint's range (avg goes on in doubles).
        mutating func add(integer x: Int64, _ function: Function) -> Bool {
            count += 1
            doubleSum += Double(x)
            offer(.int64(x), function)
            let (sum, overflow) = integerSum.addingReportingOverflow(x)
            if !overflow { integerSum = sum }
            return !overflow
        }

        /// A run of doubles, summarised by a typed loop: their count and sum, their least number (or NaN
        /// if all are NaN) and greatest (NaN if any is).
        mutating func add(count: Int64, sum: Double, least: Double, greatest: Double, _ function: Function) {
            guard count > 0 else { return }
            self.count += count
            doubleSum += sum
            sawDouble = true
            offer(.double(function == .min ? least : greatest), function)
        }

        /// Row `row` of a column (not null).
        mutating func add(_ column: ColumnVector, at row: Int, _ function: Function) -> Bool {
            switch column.type {
            case .double: add(double: column.doubles[row], function)
            case .int64: return add(integer: column.integers[row], function)
            default:
                count += 1
                offer(column.value(at: row), function)
            }
            return true
        }
    }

    /// Groups the rows of `batches` (laid out as `scope`) and returns one group row per group, keys first.
    func groups(_ batches: [RowBatch], scope: Scope) throws(SQLError) -> [[Value]] {
        var keyEvaluators: [Evaluator] = []
        for key in keys { keyEvaluators.append(try Evaluate.compile(key, scope)) }
        func compile(_ expression: Expression?) throws(SQLError) -> Evaluator? {
            try expression.map { (expression) throws(SQLError) in try Evaluate.compile(expression, scope) }
        }
        var argumentEvaluators: [Evaluator?] = []
        var separators: [Evaluator?] = []
        var filters: [Evaluator?] = []
        var orders: [[Evaluator]] = []
        for call in calls {
            argumentEvaluators.append(try compile(call.argument))
            separators.append(try compile(call.separator))
            filters.append(try compile(call.filter))
            var order: [Evaluator] = []
            for item in call.orderBy { order.append(try Evaluate.compile(item.expression, scope)) }
            orders.append(order)
        }
        var groups: [[Value]: Int] = [:]
        var groupKeys: [[Value]] = []
        var states: [[State]] = []
        if keys.isEmpty {
            groupKeys.append([])
            states.append(Array(repeating: State(), count: calls.count))
        }
        var key = [Value](repeating: .null, count: keys.count)
        for batch in batches {
            try scope.cancellation?.check()
            for row in 0..<batch.count {
                var group = 0
                if !keys.isEmpty {
                    for index in keyEvaluators.indices { key[index] = try keyEvaluators[index](batch, row) }
                    if let found = groups[key] {
                        group = found
                    } else {
                        group = groupKeys.count
                        groups[key] = group
                        groupKeys.append(key)
                        states.append(Array(repeating: State(), count: calls.count))
                    }
                }
                for (index, call) in calls.enumerated() {
                    if let filter = filters[index], try filter(batch, row) != .bool(true) { continue }
                    let value = try argumentEvaluators[index].map { (evaluate) throws(SQLError) in try evaluate(batch, row) } ?? .bool(true)
                    let separator = try separators[index].map { (evaluate) throws(SQLError) in try evaluate(batch, row) } ?? .null
                    if call.orderBy.isEmpty {
                        try Self.accumulate(&states[group][index], call, value, separator: separator)
                    } else {
                        var keys: [Value] = []
                        for evaluate in orders[index] { keys.append(try evaluate(batch, row)) }
                        states[group][index].ordered.append((keys, value, separator))
                    }
                }
            }
        }
        var rows: [[Value]] = []
        rows.reserveCapacity(groupKeys.count)
        for (group, key) in groupKeys.enumerated() {
            var row = key
            for (index, call) in calls.enumerated() {
                var state = states[group][index]
                if !call.orderBy.isEmpty {
                    let pending = state.ordered
                    let order = Executor.sortOrder(count: pending.count) { a, b in
                        for (position, item) in call.orderBy.enumerated() {
                            let result = Executor.orderCompare(pending[a].keys[position], pending[b].keys[position],
                                                               descending: item.descending, nullsFirst: item.nullsFirst)
                            if result != 0 { return result < 0 }
                        }
                        return false
                    }
                    state = State()
                    for position in order { try Self.accumulate(&state, call, pending[position].value, separator: pending[position].separator) }
                }
                row.append(Self.result(state, call.function))
            }
            rows.append(row)
        }
        return rows
    }

    static func accumulate(_ state: inout State, _ call: Call, _ value: Value, separator: Value = .null) throws(SQLError) {
        if value == .null { return }
        if call.distinct && !state.seen.insert(Join.normalized(value)).inserted { return }
        if call.function == .stringAgg {
            guard case .text(let piece) = value else {
                throw SQLError("42883", "function string_agg(\(Evaluate.typeName(value)), text) does not exist", at: call.token,
                               hint: "Cast the value to text: string_agg(x::text, ',').")
            }
            state.count += 1
            state.text = state.text.map { $0 + (separator == .null ? "" : Evaluate.text(separator)) + piece } ?? piece
            return
        }
        switch value {
        case .double(let x): state.add(double: x, call.function)
        case .int64(let x):
            if !state.add(integer: x, call.function) && call.function == .sum { throw SQLError("22003", "bigint out of range", at: call.token) }
        default:
            if call.function == .sum || call.function == .avg {
                throw SQLError("42883", "function \(call.function.rawValue)(\(Evaluate.typeName(value))) does not exist", at: call.token)
            }
            state.count += 1
            state.offer(value, call.function)
        }
    }

    static func result(_ state: State, _ function: Function) -> Value {
        switch function {
        case .count: return .int64(state.count)
        case .sum:
            if state.count == 0 { return .null }
            return state.sawDouble ? .double(state.doubleSum) : .int64(state.integerSum)
        case .avg: return state.count == 0 ? .null : .double(state.doubleSum / Double(state.count))
        case .min, .max: return state.extreme
        case .stringAgg: return state.text.map(Value.text) ?? .null
        }
    }
}

/// Grouping by hashing the keys; typed loops where the keys and arguments allow (`VectorAggregate`).
struct HashAggregate: PlanNode {
    let child: any PlanNode
    let plan: AggregatePlan
    let scope: Scope
    var title: String { plan.keys.isEmpty ? "Aggregate" : "Hash Aggregate" }
    var children: [any PlanNode] { [child] }

    func run() throws(SQLError) -> [RowBatch] {
        let batches = try child.run()
        try checkCancelled()
        let rows: [[Value]]
        if let vector = VectorAggregate(plan, child.scope) { rows = vector.run(batches) }
        else { rows = try plan.groups(batches, scope: child.scope) }
        var columns: [ColumnVector] = []
        for column in scope.columns.indices { columns.append(try ColumnVector.unified(rows.map { $0[column] })) }
        return [RowBatch(columns: columns)]
    }
}
