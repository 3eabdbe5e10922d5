/// Grouping and aggregation: select items, HAVING and ORDER BY are rewritten over a "group row" whose
/// columns are the group keys then the aggregate results, and evaluated once per group.
struct AggregatePlan {
    enum Function: String { case count, sum, avg, min, max }

    struct Call: Equatable {
        var function: Function
        /// nil for `count(*)`.
        var argument: Expression?
        var token: Token
    }

    var keys: [Expression]
    var calls: [Call] = []

    /// The rewritten expression over the group row (`#.gN`, `#.aN`).
    mutating func rewrite(_ expression: Expression) throws(SQLError) -> Expression {
        if let index = keys.firstIndex(of: expression) {
            return .column(table: "#", name: "g\(index)", expression.token!)
        }
        switch expression {
        case .function(let name, let arguments, let star, let token) where Evaluate.aggregateNames.contains(name):
            let function = Function(rawValue: name)!
            if star && function != .count { throw .syntax("\(name)(*) is not allowed", at: token) }
            guard star || arguments.count == 1 else {
                throw SQLError("42883", "function \(name) takes one argument", at: token)
            }
            if let argument = arguments.first, Evaluate.hasAggregate(argument) {
                throw SQLError("42803", "aggregate function calls cannot be nested", at: token)
            }
            let call = Call(function: function, argument: arguments.first, token: token)
            let index = calls.firstIndex(of: call) ?? { calls.append(call); return calls.count - 1 }()
            return .column(table: "#", name: "a\(index)", token)
        case .column(_, let name, let token):
            throw SQLError("42803", "column \"\(name)\" must appear in the GROUP BY clause or be used in an aggregate function", at: token)
        case .literal, .interval: return expression
        case .unary(let op, let value, let token): return .unary(op, try rewrite(value), token)
        case .binary(let op, let a, let b, let token): return .binary(op, try rewrite(a), try rewrite(b), token)
        case .between(let a, let b, let c, let negated):
            return .between(try rewrite(a), try rewrite(b), try rewrite(c), negated: negated)
        case .inList(let a, let list, let negated):
            var items: [Expression] = []
            for item in list { items.append(try rewrite(item)) }
            return .inList(try rewrite(a), items, negated: negated)
        case .isNull(let a, let negated): return .isNull(try rewrite(a), negated: negated)
        case .function(let name, let arguments, let star, let token):
            var items: [Expression] = []
            for item in arguments { items.append(try rewrite(item)) }
            return .function(name, items, star: star, token)
        }
    }

    /// The scope of the group row.
    var groupScope: Scope {
        Scope(columns: keys.indices.map { ("#", "g\($0)", .int64) } + calls.indices.map { ("#", "a\($0)", .int64) })
    }

    /// One accumulator's running state.
    struct State {
        var count: Int64 = 0
        var integerSum: Int64 = 0
        var doubleSum = 0.0
        var sawDouble = false
        var extreme: Value = .null
    }

    /// Groups the rows of `batches` (laid out as `scope`) and returns one group row per group, keys first.
    func run(_ batches: [RowBatch], scope: Scope) throws(SQLError) -> [[Value]] {
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
        state.count += 1
        switch call.function {
        case .count: break
        case .sum, .avg:
            switch value {
            case .int64(let x):
                let (sum, overflow) = state.integerSum.addingReportingOverflow(x)
                if overflow && call.function == .sum { throw SQLError("22003", "bigint out of range", at: call.token) }
                state.integerSum = overflow ? state.integerSum : sum
                state.doubleSum += Double(x)
            case .double(let x):
                state.sawDouble = true
                state.doubleSum += x
            default:
                throw SQLError("42883", "function \(call.function.rawValue)(\(Evaluate.typeName(value))) does not exist", at: call.token)
            }
        case .min:
            if state.extreme == .null || Evaluate.compare(value, state.extreme) < 0 { state.extreme = value }
        case .max:
            if state.extreme == .null || Evaluate.compare(value, state.extreme) > 0 { state.extreme = value }
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
