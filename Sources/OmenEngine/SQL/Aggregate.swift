/// Grouping and aggregation: select items, HAVING and ORDER BY are rewritten over a "group row" whose
/// columns are the group keys then the aggregate results, and evaluated once per group.
struct AggregatePlan {
    enum Function: String { case count, sum, avg, min, max }

    struct Call: Equatable {
        var function: Function
        /// nil for `count(*)`.
        var argument: Expression?
        /// `count(DISTINCT x)`: each value once.
        var distinct = false
        var token: Token
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
                if star && name != "count" { throw .syntax("\(name)(*) is not allowed", at: token) }
                guard star || arguments.count == 1 else { throw SQLError("42883", "function \(name) takes one argument", at: token) }
                return try self.call(Call(function: Function(rawValue: name)!, argument: arguments.first, token: token))
            case .distinctAggregate(let name, let argument, let token):
                return try self.call(Call(function: Function(rawValue: name)!, argument: argument, distinct: true, token: token))
            case .column(_, let name, let token):
                throw SQLError("42803", "column \"\(name)\" must appear in the GROUP BY clause or be used in an aggregate function", at: token)
            default:
                return nil
            }
        }
    }

    /// The group-row column of `call`, added if new.
    private mutating func call(_ call: Call) throws(SQLError) -> Expression {
        if let argument = call.argument, Evaluate.hasAggregate(argument) {
            throw SQLError("42803", "aggregate function calls cannot be nested", at: call.token)
        }
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
        var argumentEvaluators: [Evaluator?] = []
        for call in calls { argumentEvaluators.append(try call.argument.map { (argument) throws(SQLError) in try Evaluate.compile(argument, scope) }) }
        var groups: [[Value]: Int] = [:]
        var groupKeys: [[Value]] = []
        var states: [[State]] = []
        if keys.isEmpty {
            groupKeys.append([])
            states.append(Array(repeating: State(), count: calls.count))
        }
        var key = [Value](repeating: .null, count: keys.count)
        for batch in batches {
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
                    let value = try argumentEvaluators[index].map { (evaluate) throws(SQLError) in try evaluate(batch, row) } ?? .bool(true)
                    try Self.accumulate(&states[group][index], call, value)
                }
            }
        }
        var rows: [[Value]] = []
        rows.reserveCapacity(groupKeys.count)
        for (group, key) in groupKeys.enumerated() {
            var row = key
            for (index, call) in calls.enumerated() { row.append(Self.result(states[group][index], call.function)) }
            rows.append(row)
        }
        return rows
    }

    static func accumulate(_ state: inout State, _ call: Call, _ value: Value) throws(SQLError) {
        if value == .null { return }
        if call.distinct && !state.seen.insert(Join.normalized(value)).inserted { return }
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
        let rows: [[Value]]
        if let vector = VectorAggregate(plan, child.scope) { rows = vector.run(batches) }
        else { rows = try plan.groups(batches, scope: child.scope) }
        var columns: [ColumnVector] = []
        for column in scope.columns.indices { columns.append(try ColumnVector.unified(rows.map { $0[column] })) }
        return [RowBatch(columns: columns)]
    }
}
