import Testing
@testable import OmenEngine

/// The column-at-a-time filter and aggregate paths against the row evaluator, on random data with NULLs,
/// NaN and ±0.0, for random predicates and groupings.
@Suite struct VectorizedTests {
    static var scope: Scope { Scope(columns: [("t", "i", .int64), ("t", "d", .double), ("t", "s", .text), ("t", "b", .bool), ("t", "ts", .timestamp)]) }

    static func batch(_ random: inout SeededRandom, rows: Int) -> RowBatch {
        var batch = RowBatch(columns: scope.columns.map { ColumnVector(type: $0.type!) })
        let doubles: [Double] = [-1.5, -0.0, 0.0, 2.25, .nan, .infinity, -.infinity, 7]
        for _ in 0..<rows {
            let null = { (random: inout SeededRandom) in Int.random(in: 0..<6, using: &random) == 0 }
            batch.append([
                null(&random) ? .null : .int64(Int64.random(in: -5...5, using: &random)),
                null(&random) ? .null : .double(doubles.randomElement(using: &random)!),
                null(&random) ? .null : .text(["a", "b", "ab", ""].randomElement(using: &random)!),
                null(&random) ? .null : .bool(Bool.random(using: &random)),
                null(&random) ? .null : .timestamp(Int64.random(in: -3...3, using: &random) * 1_000_000),
            ])
        }
        return batch
    }

    static func predicate(_ random: inout SeededRandom, depth: Int) -> Expression {
        let token = Token(kind: .end, line: 1, column: 1, text: "")
        if depth > 0 && Bool.random(using: &random) {
            switch Int.random(in: 0..<3, using: &random) {
            case 0: return .binary(.and, predicate(&random, depth: depth - 1), predicate(&random, depth: depth - 1), token)
            case 1: return .binary(.or, predicate(&random, depth: depth - 1), predicate(&random, depth: depth - 1), token)
            default: return .unary(.not, predicate(&random, depth: depth - 1), token)
            }
        }
        let column = Int.random(in: 0..<5, using: &random)
        let name = scope.columns[column].name
        if Int.random(in: 0..<5, using: &random) == 0 {
            return .isNull(.column(table: nil, name: name, token), negated: Bool.random(using: &random))
        }
        let constants: [[Value]] = [
            [.int64(0), .int64(3), .int64(-5), .null],
            [.double(0), .double(-0.0), .double(.nan), .double(2.25), .int64(7), .null],
            [.text("a"), .text(""), .text("b")],
            [.bool(true), .bool(false)],
            [.timestamp(0), .int64(1_000_000), .text("2000-01-01 00:00:01")],
        ]
        let op = [BinaryOperator.equal, .notEqual, .less, .lessOrEqual, .greater, .greaterOrEqual].randomElement(using: &random)!
        let constant = Expression.literal(constants[column].randomElement(using: &random)!, token)
        let columnExpression = Expression.column(table: nil, name: name, token)
        return Bool.random(using: &random) ? .binary(op, columnExpression, constant, token) : .binary(op, constant, columnExpression, token)
    }

    @Test func vectorFilterMatchesRowEvaluation() throws {
        var random = SeededRandom(state: 5)
        var checked = 0
        for _ in 0..<400 {
            let batch = Self.batch(&random, rows: 64)
            let expression = Self.predicate(&random, depth: 3)
            guard let vector = VectorPredicate.compile(expression, Self.scope, { expression in
                if case .literal(let value, _) = expression { return value }
                return nil
            }) else { continue }
            checked += 1
            let row = try Evaluate.compile(expression, Self.scope)
            let (truth, unknown) = vector.evaluate(batch)
            for index in 0..<batch.count {
                let expected = try row(batch, index)
                #expect(truth[index] == (expected == .bool(true)), "\(expression) row \(batch.row(index))")
                #expect(unknown[index] == (expected == .null), "\(expression) row \(batch.row(index))")
            }
        }
        #expect(checked > 100)
    }

    @Test func vectorAggregateMatchesRowAggregation() throws {
        var random = SeededRandom(state: 6)
        let token = Token(kind: .end, line: 1, column: 1, text: "")
        var checked = 0
        for _ in 0..<300 {
            let batches = (0..<Int.random(in: 1...3, using: &random)).map { _ in Self.batch(&random, rows: Int.random(in: 0...50, using: &random)) }
            let key = [nil, "i", "s", "b", "ts"].randomElement(using: &random)!
            var plan = AggregatePlan(keys: key.map { [.column(table: nil, name: $0, token)] } ?? [])
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                let function = ["count", "min", "max", "sum", "avg"].randomElement(using: &random)!
                let argument = ["i", "d", "s", "ts", nil].randomElement(using: &random)!
                let call: Expression = argument.map { .function(function, [.column(table: nil, name: $0, token)], star: false, token) }
                    ?? .function("count", [], star: true, token)
                _ = try? plan.rewrite(call)
            }
            guard let vector = VectorAggregate(plan, Self.scope) else { continue }
            let expected: [[Value]]
            do { expected = try plan.groups(batches, scope: Self.scope) } catch { continue }
            let got = vector.run(batches)
            // Group order is first appearance in both.
            #expect(got.count == expected.count)
            for (a, b) in zip(got, expected) {
                #expect(a.count == b.count)
                for (x, y) in zip(a, b) {
                    #expect(Evaluate.compare(x, y) == 0 || (x.isNaNDouble && y.isNaNDouble), "\(a) != \(b)")
                }
            }
            checked += 1
        }
        #expect(checked > 50)
    }
}

extension Value {
    var isNaNDouble: Bool {
        if case .double(let x) = self { return x.isNaN }
        return false
    }
}

/// GROUP BY and DISTINCT group as PostgreSQL does: every NaN in one group, -0.0 with 0.0, on the row
/// evaluator's and the vectorized aggregate's paths alike.
@Suite struct GroupingTests {
    @Test func nansFormOneGroup() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let database = try Database.open(directory.path)
        defer { database.close() }
        try database.createTable(try TableSchema(name: "m", columns: [Column("id", .int64), Column("v", .double)],
                                                 primaryKey: "id"))
        let values: [Double] = [.nan, -.nan, Double(nan: 7, signaling: false), 0.0, -0.0, 1.5, .nan]
        try database.transaction { txn throws(EngineError) in
            for (id, value) in values.enumerated() { try txn.insert("m", [.int64(Int64(id)), .double(value)]) }
        }
        let session = SQLSession(database: database)
        for sql in ["SELECT v, count(*) FROM m GROUP BY v", "SELECT v, count(*), sum(id) FROM m WHERE id >= 0 GROUP BY v"] {
            let rows = try session.execute(sql).last!.rows
            #expect(rows.count == 3, "\(sql): \(rows)")
            let nan = rows.first { if case .double(let x) = $0[0] { x.isNaN } else { false } }
            #expect(nan?[1] == .int64(4), "\(sql): \(rows)")
            #expect(rows.contains { $0[0] == .double(0) && $0[1] == .int64(2) }, "\(sql): \(rows)")
        }
        #expect(try session.execute("SELECT DISTINCT v FROM m").last!.rows.count == 3)
    }
}
