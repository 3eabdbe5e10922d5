/// The primary-key range a WHERE clause implies: its top-level AND terms of the form
/// `key op constant` (op one of = < <= > >=, either side) and `key BETWEEN a AND b` narrow `[from, to)`.
struct KeyRange {
    var from: Int64?
    var to: Int64?
    var isEmpty = false
    /// True when every term of the filter became part of the range, so no row needs the filter again.
    var coversFilter = true

    var isPoint: Bool { from != nil && to != nil && to! &- from! == 1 }

    init(_ filter: Expression?, schema: TableSchema, label: String, executor: Executor) throws(SQLError) {
        guard let filter else { return }
        // Rows stored by row id: no SQL term names the storage key.
        guard !schema.hasRowIDs else {
            coversFilter = false
            return
        }
        let key = schema.columns[schema.primaryKey]
        for term in Self.conjuncts(filter) where !narrow(by: term, key: key, label: label, executor: executor) {
            coversFilter = false
        }
        if let from, let to, from >= to { isEmpty = true }
    }

    static func conjuncts(_ expression: Expression) -> [Expression] {
        if case .binary(.and, let a, let b, _) = expression { return conjuncts(a) + conjuncts(b) }
        return [expression]
    }

    private func isKey(_ expression: Expression, _ key: Column, _ label: String) -> Bool {
        if case .column(let table, let name, _) = expression { return name == key.name && (table == nil || table == label) }
        return false
    }

    /// The key-typed value of a column-free expression, or nil when it is not one.
    private func constant(_ expression: Expression, _ key: Column, _ executor: Executor) -> Int64?? {
        guard let value = try? executor.constant(expression) else { return nil }
        switch value {
        case .null: return .some(nil)
        case .int64(let x), .timestamp(let x): return x
        case .text(let text) where key.type == .timestamp: return Timestamps.parse(text).map { .some($0) } ?? nil
        case .date(let days) where key.type == .timestamp: return Timestamps.midnight(days).map { .some($0) }
        default: return nil
        }
    }

    private mutating func lower(_ value: Int64) { from = max(from ?? value, value) }
    private mutating func upper(_ value: Int64) { to = min(to ?? value, value) }

    /// Narrows the range by `term`; false when the term is not a key bound.
    private mutating func narrow(by term: Expression, key: Column, label: String, executor: Executor) -> Bool {
        switch term {
        case .binary(let op, let a, let b, _) where op.isComparison && op != .notEqual:
            var op = op
            var other = b
            if isKey(b, key, label) && !isKey(a, key, label) {
                other = a
                op = op.flipped
            } else if !isKey(a, key, label) {
                return false
            }
            guard let bound = constant(other, key, executor) else { return false }
            guard let value = bound else {
                isEmpty = true
                return true
            }
            switch op {
            case .equal:
                lower(value)
                if value < .max { upper(value + 1) }
            case .less: upper(value)
            case .lessOrEqual: if value < .max { upper(value + 1) }
            case .greater: if value < .max { lower(value + 1) } else { isEmpty = true }
            default: lower(value)
            }
            return true
        case .between(let value, let low, let high, negated: false) where isKey(value, key, label):
            guard let lowBound = constant(low, key, executor), let highBound = constant(high, key, executor) else { return false }
            guard let a = lowBound, let b = highBound else {
                isEmpty = true
                return true
            }
            lower(a)
            if b < .max { upper(b + 1) }
            return true
        default:
            return false
        }
    }
}

/// A join of two inputs: by hashing the right side on an equality between the two sides' columns, else
/// by comparing every pair (CROSS JOIN and other conditions). Outer joins keep the rows of their outer
/// side(s) that no row of the other side matches under the whole ON condition, the other side NULL.
struct Join: PlanNode {
    let left: any PlanNode
    let right: any PlanNode
    let kind: JoinKind
    /// Column indices in the left and the right input of the hashed equality.
    let equality: (Int, Int)?
    /// The rest of the ON condition, over the joined row.
    let residual: Evaluator?
    let scope: Scope
    var title: String { (equality == nil ? "Nested Loop " : "Hash ") + (kind == .inner || kind == .cross ? "Join" : "\(kind.rawValue) Join") }
    var children: [any PlanNode] { [left, right] }

    init(_ left: any PlanNode, _ right: any PlanNode, _ kind: JoinKind, on condition: Expression?) throws(SQLError) {
        self.left = left
        self.right = right
        self.kind = kind
        var scope = left.scope
        scope.columns += right.scope.columns
        let leftWidth = left.scope.columns.count
        scope.qualifiedOnly.formUnion(right.scope.qualifiedOnly.map { $0 + leftWidth })
        self.scope = scope
        var equality: (Int, Int)?
        var rest: [Expression] = []
        for term in condition.map(KeyRange.conjuncts) ?? [] {
            if equality == nil, case .binary(.equal, .column(let t1, let n1, let k1), .column(let t2, let n2, let k2), _) = term,
               let a = try? scope.resolve(t1, n1, k1), let b = try? scope.resolve(t2, n2, k2) {
                if a < leftWidth && b >= leftWidth { equality = (a, b - leftWidth); continue }
                if b < leftWidth && a >= leftWidth { equality = (b, a - leftWidth); continue }
            }
            rest.append(term)
        }
        self.equality = equality
        if let condition, let first = rest.first {
            residual = try Evaluate.compile(rest.dropFirst().reduce(first) { .binary(.and, $0, $1, condition.token!) }, scope)
        } else {
            residual = nil
        }
    }

    func run() throws(SQLError) -> [RowBatch] {
        let outer = try left.runConcatenated()
        let inner = try right.runConcatenated()
        var out = RowBatch(columns: outer.columns.map { ColumnVector(type: $0.type) } + inner.columns.map { ColumnVector(type: $0.type) })
        let leftWidth = outer.columns.count
        var innerMatched = [Bool](repeating: false, count: inner.count)
        var table: [Value: [Int]] = [:]
        if let (_, rightKey) = equality {
            for row in 0..<inner.count {
                let key = inner.columns[rightKey].value(at: row)
                if key != .null { table[Self.normalized(key), default: []].append(row) }
            }
        }
        let everyRow = Array(0..<inner.count)
        for row in 0..<outer.count {
            if row % 1024 == 0 { try checkCancelled() }
            let candidates: [Int]
            if let (leftKey, _) = equality {
                let key = outer.columns[leftKey].value(at: row)
                candidates = key == .null ? [] : table[Self.normalized(key)] ?? []
            } else {
                candidates = everyRow
            }
            var matched = false
            for match in candidates {
                for column in 0..<leftWidth { out.columns[column].append(from: outer.columns[column], at: row) }
                for column in inner.columns.indices { out.columns[leftWidth + column].append(from: inner.columns[column], at: match) }
                if let residual, try residual(out, out.count - 1) != .bool(true) {
                    for column in out.columns.indices { out.columns[column].removeLast() }
                    continue
                }
                matched = true
                innerMatched[match] = true
            }
            if !matched && (kind == .left || kind == .full) {
                for column in 0..<leftWidth { out.columns[column].append(from: outer.columns[column], at: row) }
                for column in inner.columns.indices { out.columns[leftWidth + column].append(.null) }
            }
        }
        if kind == .right || kind == .full {
            for row in 0..<inner.count where !innerMatched[row] {
                for column in 0..<leftWidth { out.columns[column].append(.null) }
                for column in inner.columns.indices { out.columns[leftWidth + column].append(from: inner.columns[column], at: row) }
            }
        }
        return [out]
    }

    /// Integers and timestamps, and integral doubles, hash alike so that cross-type keys meet.
    static func normalized(_ value: Value) -> Value {
        switch value {
        case .timestamp(let x): return .int64(x)
        case .double(let x) where x == x.rounded() && Swift.abs(x) < 9e18: return .int64(Int64(x))
        default: return value
        }
    }
}

/// `GROUP BY time_bucket(width, key)` over the primary key with plain aggregates: the scan delivers keys
/// in order, so each bucket is a run found by binary search, and each aggregate is a tight loop over a
/// slice of one column.
struct TimeBucketAggregate: PlanNode {
    let child: TableScan
    let width: Int64
    let keyColumn: Int
    let timestampKey: Bool
    let origin: Int64
    /// Per output column: nil for the bucket, else the aggregate and its column (nil for count(*)).
    let outputs: [(AggregatePlan.Function, Int?)?]
    let scope: Scope
    var title: String { "Time Bucket Aggregate (ordered runs)" }
    var children: [any PlanNode] { [child] }

    /// Nil unless `select` groups `child`'s rows by time_bucket of its primary key, with plain aggregates.
    init?(_ select: Select, _ child: TableScan) throws(SQLError) {
        guard select.having == nil, select.groupBy.count == 1, !select.distinct else { return nil }
        let scope = child.scope
        let orderedColumn = child.schema.storageKey
        var key = select.groupBy[0]
        if case .column(nil, let name, _) = key, let item = select.items.first(where: { $0.alias == name }), let expression = item.expression {
            key = expression
        }
        if case .literal(.int64(let position), _) = key, position >= 1, Int(position) <= select.items.count,
           let expression = select.items[Int(position) - 1].expression {
            key = expression
        }
        guard case .function("time_bucket", let arguments, false, let token) = key, arguments.count == 2,
              case .column(let table, let name, let columnToken) = arguments[1] else { return nil }
        let width: Int64?
        switch arguments[0] {
        case .literal(let value, _):
            if case .micros(let micros)? = try Evaluate.bucketWidth(value, token) { width = micros } else { width = nil }
        default: width = nil
        }
        guard let width else { return nil }
        let column = try scope.resolve(table, name, columnToken)
        guard column == orderedColumn else { return nil }
        var outputs: [(AggregatePlan.Function, Int?)?] = []
        var names: [String] = []
        for item in select.items {
            guard let expression = item.expression else { return nil }
            names.append(Planner.name(item))
            if expression == key {
                outputs.append(nil)
                continue
            }
            guard case .function(let function, let arguments, let star, _) = expression,
                  let aggregate = AggregatePlan.Function(rawValue: function), aggregate != .stringAgg else { return nil }
            if star {
                guard aggregate == .count else { return nil }
                outputs.append((aggregate, nil))
                continue
            }
            guard arguments.count == 1, case .column(let t, let n, let k) = arguments[0] else { return nil }
            let index = try scope.resolve(t, n, k)
            guard scope.columns[index].type == .double || scope.columns[index].type == .int64 else { return nil }
            if aggregate == .sum && scope.columns[index].type == .int64 { return nil }  // overflow checks: generic path
            outputs.append((aggregate, index))
        }
        self.child = child
        self.width = width
        self.keyColumn = column
        self.timestampKey = scope.columns[column].type == .timestamp
        // Integer keys bucket from 0, timestamps from TimescaleDB's origin (as the row path does).
        self.origin = timestampKey ? Timestamps.bucketOrigin : 0
        self.outputs = outputs
        self.scope = Scope(columns: names.map { (nil, $0, nil) }, template: scope)
    }

    /// Runs over the scan's batches, which come in key order.
    func run() throws(SQLError) -> [RowBatch] {
        let batches = try child.run()
        var rows: [[Value]] = []
        var states: [AggregatePlan.State] = []
        var current: Int64?
        func emit() {
            guard let bucket = current else { return }
            var row: [Value] = []
            var index = 0
            for output in outputs {
                if let (function, _) = output {
                    row.append(AggregatePlan.result(states[index], function))
                    index += 1
                } else {
                    row.append(timestampKey ? .timestamp(bucket) : .int64(bucket))
                }
            }
            rows.append(row)
        }
        let aggregates = outputs.compactMap { $0 }
        for batch in batches {
            let keys = batch.columns[keyColumn].integers
            var start = 0
            while start < keys.count {
                guard let bucket = keys[start].bucketStart(width: width, origin: origin) else {
                    throw SQLError("22008", "time_bucket's bucket starts before the earliest timestamp", at: nil)
                }
                let (next, overflow) = bucket.addingReportingOverflow(width)
                var end = keys.count
                if !overflow {
                    var low = start
                    while low < end {
                        let middle = low + (end - low) / 2
                        if keys[middle] >= next { end = middle } else { low = middle + 1 }
                    }
                }
                if bucket != current {
                    emit()
                    current = bucket
                    states = Array(repeating: AggregatePlan.State(), count: aggregates.count)
                }
                for (index, (function, column)) in aggregates.enumerated() {
                    Self.accumulate(&states[index], function, column.map { batch.columns[$0] }, start..<end)
                }
                start = end
            }
        }
        emit()
        var columns: [ColumnVector] = []
        for column in outputs.indices { columns.append(try ColumnVector.unified(rows.map { $0[column] })) }
        return [RowBatch(columns: columns)]
    }

    private static func accumulate(_ state: inout AggregatePlan.State, _ function: AggregatePlan.Function,
                                   _ column: ColumnVector?, _ range: Range<Int>) {
        guard let column else {
            state.count += Int64(range.count)
            return
        }
        let hasNulls = column.nulls[range].contains(true)
        guard column.type == .double else {
            for index in range where !column.nulls[index] { _ = state.add(column, at: index, function) }
            return
        }
        column.doubles.withUnsafeBufferPointer { values in
            column.nulls.withUnsafeBufferPointer { nulls in
                var sum = 0.0
                var count: Int64 = 0
                var numbers: Int64 = 0
                var low = Double.infinity
                var high = -Double.infinity
                for index in range where !hasNulls || !nulls[index] {
                    let value = values[index]
                    sum += value
                    count += 1
                    // min and max skip NaN here; the summary below puts it back in its place.
                    if !value.isNaN { numbers += 1 }
                    low = Swift.min(low, value)
                    high = Swift.max(high, value)
                }
                state.add(count: count, sum: sum, least: numbers > 0 ? low : .nan, greatest: numbers < count ? .nan : high, function)
            }
        }
    }
}
