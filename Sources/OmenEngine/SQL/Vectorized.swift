/// WHERE clauses evaluated a column at a time: comparisons of a column with a constant and IS [NOT]
/// NULL, combined by AND, OR and NOT under SQL's three-valued logic. Each yields, per row, whether the
/// predicate is true and whether it is unknown (NULL). Anything else is left to the row evaluator.
indirect enum VectorPredicate {
    case compare(column: Int, op: BinaryOperator, constant: Value)
    case isNull(column: Int, negated: Bool)
    case and(VectorPredicate, VectorPredicate)
    case or(VectorPredicate, VectorPredicate)
    case not(VectorPredicate)

    /// The vector form of `expression`, or nil when some part of it needs the row evaluator.
    static func compile(_ expression: Expression, _ scope: Scope, _ constant: (Expression) -> Value?) -> VectorPredicate? {
        switch expression {
        case .binary(.and, let a, let b, _):
            guard let x = compile(a, scope, constant), let y = compile(b, scope, constant) else { return nil }
            return .and(x, y)
        case .binary(.or, let a, let b, _):
            guard let x = compile(a, scope, constant), let y = compile(b, scope, constant) else { return nil }
            return .or(x, y)
        case .unary(.not, let a, _):
            return compile(a, scope, constant).map { .not($0) }
        case .isNull(.column(let table, let name, let token), let negated):
            guard let index = try? scope.resolve(table, name, token) else { return nil }
            return .isNull(column: index, negated: negated)
        case .binary(let op, let a, let b, _) where op.isComparison:
            var op = op
            var columnSide = a
            var other = b
            if case .column = b, !isColumn(a) {
                columnSide = b
                other = a
                op = op.flipped
            }
            guard case .column(let table, let name, let token) = columnSide, !isColumn(other),
                  let index = try? scope.resolve(table, name, token), let value = constant(other),
                  let type = scope.columns[index].type, let typed = typedConstant(value, for: type) else { return nil }
            return .compare(column: index, op: op, constant: typed)
        default:
            return nil
        }
    }

    private static func isColumn(_ expression: Expression) -> Bool {
        if case .column = expression { return true }
        return false
    }

    /// The constant in the column's own representation, or nil when the comparison mixes types the
    /// vector loops do not handle.
    private static func typedConstant(_ value: Value, for type: ColumnType) -> Value? {
        switch (type, value) {
        case (_, .null): return .null
        case (.int64, .int64(let x)), (.timestamp, .timestamp(let x)), (.timestamp, .int64(let x)), (.int64, .timestamp(let x)):
            return .int64(x)
        case (.timestamp, .text(let text)): return Timestamps.parse(text).map { .int64($0) }
        case (.date, .date(let x)): return .int64(x)
        case (.date, .text(let text)): return Timestamps.parseDate(text).map { .int64($0) }
        case (.double, .double): return value
        case (.double, .int64(let x)) where Swift.abs(x) < 1 << 53: return .double(Double(x))
        case (.text, .text), (.bool, .bool): return value
        default: return nil
        }
    }

    /// Per row: true, and unknown.
    func evaluate(_ batch: RowBatch) -> (truth: [Bool], unknown: [Bool]) {
        let count = batch.count
        switch self {
        case .isNull(let column, let negated):
            return (batch.columns[column].nulls.map { $0 != negated }, [Bool](repeating: false, count: count))
        case .compare(let column, let op, let constant):
            let vector = batch.columns[column]
            if constant == .null {
                return ([Bool](repeating: false, count: count), [Bool](repeating: true, count: count))
            }
            var truth = [Bool](repeating: false, count: count)
            let test: (Int) -> Bool = { order in op.holds(order) }
            switch constant {
            case .int64(let c):
                vector.integers.withUnsafeBufferPointer { values in
                    for row in 0..<count { truth[row] = test(values[row] < c ? -1 : values[row] == c ? 0 : 1) }
                }
            case .double(let c):
                vector.doubles.withUnsafeBufferPointer { values in
                    for row in 0..<count { truth[row] = test(Self.order(values[row], c)) }
                }
            case .text(let c):
                for row in 0..<count { truth[row] = test(vector.texts[row] < c ? -1 : vector.texts[row] == c ? 0 : 1) }
            case .bool(let c):
                for row in 0..<count { truth[row] = test(vector.bools[row] == c ? 0 : (!vector.bools[row] ? -1 : 1)) }
            default: break
            }
            let unknown = vector.nulls
            for row in 0..<count where unknown[row] { truth[row] = false }
            return (truth, unknown)
        case .and(let a, let b):
            let (t1, u1) = a.evaluate(batch)
            let (t2, u2) = b.evaluate(batch)
            var truth = t1
            var unknown = u1
            for row in 0..<count {
                let false1 = !t1[row] && !u1[row]
                let false2 = !t2[row] && !u2[row]
                truth[row] = t1[row] && t2[row]
                unknown[row] = !false1 && !false2 && (u1[row] || u2[row])
            }
            return (truth, unknown)
        case .or(let a, let b):
            let (t1, u1) = a.evaluate(batch)
            let (t2, u2) = b.evaluate(batch)
            var truth = t1
            var unknown = u1
            for row in 0..<count {
                truth[row] = t1[row] || t2[row]
                unknown[row] = !truth[row] && (u1[row] || u2[row])
            }
            return (truth, unknown)
        case .not(let a):
            let (t, u) = a.evaluate(batch)
            return ((0..<count).map { !t[$0] && !u[$0] }, u)
        }
    }

    /// Doubles in PostgreSQL's order: NaN equal to itself and above everything.
    static func order(_ x: Double, _ y: Double) -> Int {
        if x.isNaN || y.isNaN { return x.isNaN && y.isNaN ? 0 : (x.isNaN ? 1 : -1) }
        return x < y ? -1 : x == y ? 0 : 1
    }
}

extension ColumnVector {
    /// Appends the rows at `indices` of `other`, one typed loop per array.
    mutating func append(from other: ColumnVector, indices: [Int]) {
        nulls.reserveCapacity(nulls.count + indices.count)
        for index in indices { nulls.append(other.nulls[index]) }
        switch type {
        case .int64, .timestamp, .date: for index in indices { integers.append(other.integers[index]) }
        case .double: for index in indices { doubles.append(other.doubles[index]) }
        case .text: for index in indices { texts.append(other.texts[index]) }
        case .bool: for index in indices { bools.append(other.bools[index]) }
        case .interval: for index in indices { intervals.append(other.intervals[index]) }
        case .uuid: for index in indices { uuids.append(other.uuids[index]) }
        }
    }
}

extension RowBatch {
    /// The rows at `indices` (ascending, as a filter keeps them), column by column.
    func gathering(_ indices: [Int]) -> RowBatch {
        if indices.count == count { return self }
        return reordered(indices)
    }

    /// The rows at `indices`, in that order.
    func reordered(_ indices: [Int]) -> RowBatch {
        var out = RowBatch(columns: columns.map { ColumnVector(type: $0.type) })
        for column in columns.indices { out.columns[column].append(from: columns[column], indices: indices) }
        return out
    }
}

/// Grouping by at most one plain column with aggregates of plain columns (or `count(*)`), in typed loops:
/// a group number per row, then one pass per aggregate over its column.
struct VectorAggregate {
    let key: Int?
    let calls: [(AggregatePlan.Function, Int?)]

    init?(_ plan: AggregatePlan, _ scope: Scope) {
        guard plan.keys.count <= 1, plan.calls.allSatisfy(\.isPlain) else { return nil }
        if let first = plan.keys.first {
            guard case .column(let table, let name, let token) = first, let index = try? scope.resolve(table, name, token),
                  let type = scope.columns[index].type, type != .double else { return nil }
            key = index
        } else {
            key = nil
        }
        var calls: [(AggregatePlan.Function, Int?)] = []
        for call in plan.calls {
            guard let argument = call.argument else {
                calls.append((call.function, nil))
                continue
            }
            guard case .column(let table, let name, let token) = argument, let index = try? scope.resolve(table, name, token),
                  let type = scope.columns[index].type else { return nil }
            // Integer sums keep the row path's exact overflow check; min/max of text and the rest are fine.
            if (call.function == .sum || call.function == .avg) && type != .double { return nil }
            if call.function != .count && type == .bool { return nil }
            calls.append((call.function, index))
        }
        self.calls = calls
    }

    func run(_ batches: [RowBatch]) -> [[Value]] {
        var groupOf: [Value: Int] = [:]
        var integerGroups: [Int64: Int] = [:]
        var keys: [Value] = []
        var states: [[AggregatePlan.State]] = Array(repeating: [], count: calls.count)
        if key == nil {
            keys.append(.null)
            for index in calls.indices { states[index].append(AggregatePlan.State()) }
        }
        for batch in batches {
            var groups = [Int](repeating: 0, count: batch.count)
            if let key {
                let column = batch.columns[key]
                for row in 0..<batch.count {
                    let group: Int?
                    if !column.nulls[row] && (column.type == .int64 || column.type == .timestamp) {
                        group = integerGroups[column.integers[row]]
                    } else {
                        group = groupOf[column.value(at: row)]
                    }
                    if let group {
                        groups[row] = group
                        continue
                    }
                    let value = column.value(at: row)
                    let new = keys.count
                    keys.append(value)
                    if !column.nulls[row] && (column.type == .int64 || column.type == .timestamp) {
                        integerGroups[column.integers[row]] = new
                    } else {
                        groupOf[value] = new
                    }
                    for index in calls.indices { states[index].append(AggregatePlan.State()) }
                    groups[row] = new
                }
            }
            for (index, (function, argument)) in calls.enumerated() {
                guard let argument else {
                    for row in 0..<batch.count { states[index][groups[row]].count += 1 }
                    continue
                }
                let column = batch.columns[argument]
                for row in 0..<batch.count where !column.nulls[row] {
                    _ = states[index][groups[row]].add(column, at: row, function)
                }
            }
        }
        return keys.indices.map { group in
            (key == nil ? [] : [keys[group]]) + calls.indices.map { AggregatePlan.result(states[$0][group], calls[$0].0) }
        }
    }
}
