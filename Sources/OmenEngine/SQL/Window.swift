/// Window functions: the child's rows with one column per call (`#w.wN`). Per call, rows are split by
/// PARTITION BY and sorted stably by ORDER BY; ranking and offset functions read positions, aggregates
/// their frame, as PostgreSQL defines them.
struct WindowAggregate: PlanNode {
    struct Compiled {
        let call: WindowCall
        let arguments: [Evaluator]
        let partition: [Evaluator]
        let order: [(Evaluator, OrderItem)]
    }

    static let rankingNames: Set<String> = ["row_number", "rank", "dense_rank", "lag", "lead", "first_value", "last_value", "ntile"]

    let child: any PlanNode
    let calls: [Compiled]
    let scope: Scope
    var title: String { "WindowAgg" }
    var children: [any PlanNode] { [child] }

    init(child: any PlanNode, calls: [WindowCall]) throws(SQLError) {
        self.child = child
        var compiled: [Compiled] = []
        for call in calls {
            guard Self.rankingNames.contains(call.function) || (Evaluate.aggregateNames.contains(call.function) && call.function != "string_agg") else {
                throw SQLError("42883", "window function \(call.function) does not exist", at: call.token,
                               hint: "Window functions: row_number, rank, dense_rank, ntile, lag, lead, first_value, last_value, and count, sum, avg, min, max.")
            }
            if call.star && call.function != "count" { throw .syntax("\(call.function)(*) is not allowed", at: call.token) }
            let arity: ClosedRange<Int>
            switch call.function {
            case "row_number", "rank", "dense_rank": arity = 0...0
            case "lag", "lead": arity = 1...3
            case "count": arity = call.star ? 0...0 : 1...1
            default: arity = 1...1
            }
            guard arity.contains(call.arguments.count) else {
                throw SQLError("42883", "function \(call.function) takes \(arity.lowerBound == arity.upperBound ? "\(arity.lowerBound)" : "\(arity.lowerBound) to \(arity.upperBound)") argument(s)", at: call.token)
            }
            var arguments: [Evaluator] = []
            for argument in call.arguments { arguments.append(try Evaluate.compile(argument, child.scope)) }
            var partition: [Evaluator] = []
            for key in call.partitionBy { partition.append(try Evaluate.compile(key, child.scope)) }
            var order: [(Evaluator, OrderItem)] = []
            for item in call.orderBy { order.append((try Evaluate.compile(item.expression, child.scope), item)) }
            compiled.append(Compiled(call: call, arguments: arguments, partition: partition, order: order))
        }
        self.calls = compiled
        var scope = child.scope
        scope.columns += calls.indices.map { ("#w", "w\($0)", nil) }
        self.scope = scope
    }

    func run() throws(SQLError) -> [RowBatch] {
        var batch = try child.runConcatenated()
        var added: [ColumnVector] = []
        for call in calls {
            try checkCancelled()
            added.append(try ColumnVector.unified(try values(call, batch), call.call.token))
        }
        batch = RowBatch(columns: batch.columns + added)
        return [batch]
    }

    /// The call's value for each row of `batch`, in the batch's order.
    private func values(_ compiled: Compiled, _ batch: RowBatch) throws(SQLError) -> [Value] {
        var partitions: [[Value]: [Int]] = [:]
        var partitionOrder: [[Value]] = []
        var orderKeys: [[Value]] = []
        for row in 0..<batch.count {
            var key: [Value] = []
            for evaluate in compiled.partition { key.append(try evaluate(batch, row)) }
            if partitions[key] == nil { partitionOrder.append(key) }
            partitions[key, default: []].append(row)
            var sortKey: [Value] = []
            for (evaluate, _) in compiled.order { sortKey.append(try evaluate(batch, row)) }
            orderKeys.append(sortKey)
        }
        var out = [Value](repeating: .null, count: batch.count)
        for key in partitionOrder {
            let members = partitions[key]!
            let order = Executor.sortOrder(count: members.count) { a, b in
                compare(orderKeys[members[a]], orderKeys[members[b]], compiled.order) < 0
            }
            let rows = order.map { members[$0] }
            try fill(&out, compiled, rows, batch) { a, b in compare(orderKeys[a], orderKeys[b], compiled.order) == 0 }
        }
        return out
    }

    private func compare(_ a: [Value], _ b: [Value], _ order: [(Evaluator, OrderItem)]) -> Int {
        for index in order.indices {
            let result = Executor.orderCompare(a[index], b[index], descending: order[index].1.descending, nullsFirst: order[index].1.nullsFirst)
            if result != 0 { return result }
        }
        return 0
    }

    /// Computes the call over one partition, `rows` in window order; `peers` says whether two rows tie on
    /// ORDER BY.
    private func fill(_ out: inout [Value], _ compiled: Compiled, _ rows: [Int], _ batch: RowBatch,
                      peers: (Int, Int) -> Bool) throws(SQLError) {
        let call = compiled.call
        let token = call.token
        func argument(_ index: Int, _ row: Int) throws(SQLError) -> Value { try compiled.arguments[index](batch, row) }
        // Each position's peer group: its first and last position.
        var groupStart = [Int](repeating: 0, count: rows.count)
        var groupEnd = [Int](repeating: 0, count: rows.count)
        var start = 0
        while start < rows.count {
            var end = start
            while end + 1 < rows.count && peers(rows[start], rows[end + 1]) { end += 1 }
            for position in start...end { groupStart[position] = start; groupEnd[position] = end }
            start = end + 1
        }
        switch call.function {
        case "row_number":
            for (position, row) in rows.enumerated() { out[row] = .int64(Int64(position + 1)) }
        case "rank":
            for (position, row) in rows.enumerated() { out[row] = .int64(Int64(groupStart[position] + 1)) }
        case "dense_rank":
            var rank: Int64 = 0
            for (position, row) in rows.enumerated() {
                if groupStart[position] == position { rank += 1 }
                out[row] = .int64(rank)
            }
        case "ntile":
            for (position, row) in rows.enumerated() {
                guard case .int64(let buckets) = try argument(0, row), buckets > 0 else {
                    throw SQLError("22014", "argument of ntile must be greater than zero", at: token)
                }
                // PostgreSQL's split: the first count % buckets tiles get one row more.
                let count = Int64(rows.count)
                let small = count / buckets
                let large = small + 1
                let bigTiles = count % buckets
                let p = Int64(position)
                out[row] = .int64(p < bigTiles * large ? p / large + 1 : bigTiles + (p - bigTiles * large) / max(small, 1) + 1)
            }
        case "lag", "lead":
            for (position, row) in rows.enumerated() {
                var offset: Int64 = 1
                if compiled.arguments.count > 1 {
                    switch try argument(1, row) {
                    case .int64(let value): offset = value
                    case .null:
                        out[row] = .null
                        continue
                    default: throw .datatype("\(call.function)'s offset must be an integer", at: token)
                    }
                }
                let (target, overflow) = call.function == "lag" ? Int64(position).subtractingReportingOverflow(offset)
                    : Int64(position).addingReportingOverflow(offset)
                if !overflow && target >= 0 && target < Int64(rows.count) {
                    out[row] = try argument(0, rows[Int(target)])
                } else {
                    out[row] = compiled.arguments.count > 2 ? try argument(2, row) : .null
                }
            }
        default:
            try frameAggregate(&out, compiled, rows, batch, groupStart: groupStart, groupEnd: groupEnd)
        }
    }

    /// first_value, last_value and the aggregates over each row's frame.
    private func frameAggregate(_ out: inout [Value], _ compiled: Compiled, _ rows: [Int], _ batch: RowBatch,
                                groupStart: [Int], groupEnd: [Int]) throws(SQLError) {
        let call = compiled.call
        let ordered = !call.orderBy.isEmpty
        let frame = call.frame ?? WindowFrame(rows: false, start: .unboundedPreceding, end: ordered ? .currentRow : .unboundedFollowing)
        let last = rows.count - 1
        func bound(_ bound: WindowFrame.Bound, _ position: Int, start: Bool) -> Int {
            switch bound {
            case .unboundedPreceding: return 0
            case .unboundedFollowing: return last
            case .currentRow: return frame.rows ? position : (start ? groupStart[position] : groupEnd[position])
            case .preceding(let count): return position - min(count, position + 1)
            case .following(let count): return position + min(count, rows.count)
            }
        }
        let function = AggregatePlan.Function(rawValue: call.function)
        let aggregate = function.map { AggregatePlan.Call(function: $0, argument: call.arguments.first, token: call.token) }
        // With the frame's start fixed at the partition's, each frame extends the previous one.
        var running = AggregatePlan.State()
        var runningEnd = -1
        for (position, row) in rows.enumerated() {
            let low = max(0, bound(frame.start, position, start: true))
            let high = min(last, bound(frame.end, position, start: false))
            guard low <= high else {
                out[row] = function == .count ? .int64(0) : .null
                continue
            }
            switch call.function {
            case "first_value": out[row] = try compiled.arguments[0](batch, rows[low])
            case "last_value": out[row] = try compiled.arguments[0](batch, rows[high])
            default:
                let aggregate = aggregate!
                var state = AggregatePlan.State()
                var from = low
                if low == 0 && high >= runningEnd {
                    state = running
                    from = runningEnd + 1
                }
                if from <= high {
                    for index in from...high {
                        let value = call.star ? Value.bool(true) : try compiled.arguments[0](batch, rows[index])
                        try AggregatePlan.accumulate(&state, aggregate, value)
                    }
                }
                if low == 0 {
                    running = state
                    runningEnd = high
                }
                out[row] = AggregatePlan.result(state, aggregate.function)
            }
        }
    }
}
