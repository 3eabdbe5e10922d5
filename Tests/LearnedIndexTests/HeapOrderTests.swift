import Datasets
import LearnedIndex
import Testing

/// A table's rows in heap order: each row's key and heap position (block × stride + place in block).
struct HeapRows: CustomTestStringConvertible, Sendable {
    let name: String
    let keys: [UInt64]
    let positions: [Int]
    var testDescription: String { "\(name) (\(keys.count) rows)" }

    /// `keys` placed in blocks of `stride` slots holding between `minimum` and `stride` rows each.
    init(_ name: String, _ keys: [UInt64], stride: Int = 200, minimum: Int = 200, seed: UInt64 = 1) {
        var random = SplitMix64(seed: seed)
        var positions: [Int] = []
        var block = 0
        var used = 0
        var capacity = minimum
        for _ in keys {
            if used == capacity {
                block += 1
                used = 0
                capacity = minimum + Int(random.next() % UInt64(stride - minimum + 1))
            }
            positions.append(block * stride + used)
            used += 1
        }
        self.name = name
        self.keys = keys
        self.positions = positions
    }
}

let heapRowSets: [HeapRows] = {
    var random = SplitMix64(seed: 41)
    let n = 30_000
    let series = (0..<n).map { UInt64(100_000_000 + $0 * 1_000) + random.next() % 999 }
    var late = series
    var lateRows: [Int] = []
    for i in stride(from: 500, to: n, by: 97) {
        late[i] = late[i] - 5_000_000
        lateRows.append(i)
    }
    var early = series
    early[100] = UInt64.max - 3
    early[20_000] = series[29_000]
    // Rows moved by updates: a tenth of the rows, at random, land at the heap's end in random order.
    var moved: [UInt64] = []
    var kept: [UInt64] = []
    for key in series { if random.next() % 10 == 0 { moved.append(key) } else { kept.append(key) } }
    moved.shuffle(using: &random)
    return [
        HeapRows("sorted, full blocks", series),
        HeapRows("sorted, blocks 120 to 200 rows", series, minimum: 120),
        HeapRows("late rows", late, minimum: 150),
        HeapRows("early rows", early),
        HeapRows("a tenth moved to the end", kept + moved, minimum: 180),
        HeapRows("repeated keys", (0..<n).map { UInt64($0 / 300) }, minimum: 160),
        HeapRows("one key", [UInt64](repeating: 5, count: 2_000)),
        HeapRows("random", (0..<5_000).map { _ in random.next() }),
        HeapRows("descending", (0..<3_000).map { UInt64(10_000 - $0) }),
        HeapRows("one row", [42]),
        HeapRows("extremes", [0, 0, 1, UInt64.max - 1, UInt64.max, UInt64.max], stride: 3, minimum: 2),
    ]
}()

@Suite struct HeapOrderTests {
    /// Feeds rows to a builder and collects its verdicts, drained, and its model (nil when none is covered).
    static func build(_ rows: HeapRows, epsilon: Int, lookahead: Int) throws -> (
        verdicts: [HeapOrderBuilder.Verdict], model: PiecewiseLinearModel?
    ) {
        var builder = try HeapOrderBuilder(epsilon: epsilon, lookahead: lookahead)
        var verdicts: [HeapOrderBuilder.Verdict] = []
        for (key, position) in zip(rows.keys, rows.positions) {
            if let verdict = try builder.add(key: key, position: position) { verdicts.append(verdict) }
        }
        while let verdict = try builder.drain() { verdicts.append(verdict) }
        let covered = builder.coveredCount
        do {
            return (verdicts, try builder.finish())
        } catch .emptyKeySet {
            #expect(covered == 0)
            return (verdicts, nil)
        }
    }

    @Test("every covered row of a key range lies in the model's window of the range", arguments: heapRowSets, [0, 4, 32])
    func windowsHoldCoveredRows(_ rows: HeapRows, _ epsilon: Int) throws {
        let (verdicts, model) = try Self.build(rows, epsilon: epsilon, lookahead: 16)
        // One verdict a row, in heap order.
        #expect(verdicts.map(\.key) == rows.keys)
        #expect(verdicts.map(\.position) == rows.positions)
        let covered = verdicts.filter { $0.covered }
        #expect(zip(covered, covered.dropFirst()).allSatisfy { $0.key <= $1.key && $0.position < $1.position })
        guard let model else {
            #expect(covered.isEmpty)
            return
        }
        #expect(model.keyCount == covered.last!.position + 1)
        Self.expectWindowsHold(covered, model, seed: UInt64(rows.keys.count))
    }

    /// Probes random key ranges: the model's window of each must hold every covered row of the range.
    static func expectWindowsHold(_ covered: [HeapOrderBuilder.Verdict], _ model: PiecewiseLinearModel, seed: UInt64) {
        let sortedKeys = covered.map(\.key)
        var random = SplitMix64(seed: seed)
        let points = probes(for: sortedKeys, random: 300)
        var failures: [String] = []
        for _ in 0..<3_000 {
            var a = points[Int(random.next() % UInt64(points.count))]
            var b = random.next() % 4 == 0 ? a : points[Int(random.next() % UInt64(points.count))]
            if a > b { swap(&a, &b) }
            let lo = model.window(for: a).lo
            let hi = b == .max ? model.keyCount : model.window(for: b + 1).hi
            let first = oracleLowerBound(sortedKeys, a)
            let end = b == .max ? sortedKeys.count : oracleLowerBound(sortedKeys, b + 1)
            if first < end && !(lo <= covered[first].position && covered[end - 1].position < hi) {
                failures.append("[\(a), \(b)]: window \(lo)..<\(hi), rows at \(covered[first].position)...\(covered[end - 1].position)")
            }
        }
        #expect(failures.isEmpty, "\(failures.count) failures, first: \(failures.prefix(3))")
    }

    @Test("a resumed builder extends a model over the rows after it", arguments: heapRowSets, [1, 3])
    func resumedModelsHoldCoveredRows(_ rows: HeapRows, _ tenths: Int) throws {
        let cut = max(1, rows.keys.count * tenths / 10)
        var builder = try HeapOrderBuilder(epsilon: 4, lookahead: 16)
        var verdicts: [HeapOrderBuilder.Verdict] = []
        for i in 0..<cut {
            if let verdict = try builder.add(key: rows.keys[i], position: rows.positions[i]) { verdicts.append(verdict) }
        }
        while let verdict = try builder.drain() { verdicts.append(verdict) }
        let lastKey = builder.lastCoveredKey
        let covered = builder.coveredCount
        guard covered > 0 else { return }
        let first = try builder.finish()
        var resumed = try HeapOrderBuilder(resuming: first, lastKey: lastKey, lookahead: 16)
        for i in cut..<rows.keys.count {
            if let verdict = try resumed.add(key: rows.keys[i], position: rows.positions[i]) { verdicts.append(verdict) }
        }
        while let verdict = try resumed.drain() { verdicts.append(verdict) }
        let all = verdicts.filter { $0.covered }
        #expect(covered + resumed.coveredCount == all.count)
        #expect(zip(all, all.dropFirst()).allSatisfy { $0.key <= $1.key && $0.position < $1.position })
        let model = try resumed.finish()
        #expect(model.keyCount == all.last!.position + 1)
        Self.expectWindowsHold(all, model, seed: UInt64(cut))
        // Rows in key order after the cut are covered as if the builder had never stopped.
        if rows.name == heapRowSets[0].name { #expect(all.count == rows.keys.count) }
    }

    @Test("rows in key order are all covered, and the model stays small")
    func sortedRowsAreCovered() throws {
        let rows = heapRowSets[0]
        let (verdicts, model) = try Self.build(rows, epsilon: 4, lookahead: 16)
        #expect(verdicts.allSatisfy { $0.covered })
        #expect(try #require(model).segmentCount <= 4)
    }

    @Test("a late row or an early row is explicit alone")
    func outOfOrderRowsAreExplicit() throws {
        let late = heapRowSets[2]
        let lateVerdicts = try Self.build(late, epsilon: 4, lookahead: 16).verdicts
        let lateRows = Set(stride(from: 500, to: late.keys.count, by: 97))
        #expect(lateVerdicts.indices.filter { !lateVerdicts[$0].covered } == lateRows.sorted())

        let early = try Self.build(heapRowSets[3], epsilon: 4, lookahead: 16).verdicts
        #expect(early.indices.filter { !early[$0].covered } == [100, 20_000])
        // Without a lookahead the early row is covered and shuts out every row after it.
        let greedy = try Self.build(heapRowSets[3], epsilon: 4, lookahead: 0).verdicts
        #expect(greedy.filter { $0.covered }.count == 101)
    }

    @Test("moved rows are explicit, the rows left in place covered")
    func movedRowsAreExplicit() throws {
        let rows = heapRowSets[4]
        let verdicts = try Self.build(rows, epsilon: 4, lookahead: 16).verdicts
        let movedStart = rows.keys.count - rows.keys.count / 10 - 200
        let stayed = verdicts.prefix(movedStart)
        #expect(stayed.allSatisfy { $0.covered })
        #expect(verdicts.suffix(from: rows.keys.count - 1_000).filter { $0.covered }.count < 100)
    }

    @Test("bad arguments are refused with a typed error")
    func badArguments() throws {
        #expect(throws: LearnedIndexError.invalidArgument) { try HeapOrderBuilder(epsilon: 4, lookahead: -1) }
        #expect(throws: LearnedIndexError.invalidArgument) { try HeapOrderBuilder(epsilon: -1, lookahead: 4) }
        var builder = try PiecewiseLinearModel.Builder(epsilon: 4)
        try builder.add(10, at: 5)
        #expect(throws: LearnedIndexError.invalidArgument) { try builder.add(11, at: 5) }
        #expect(throws: LearnedIndexError.unsortedKeys(position: 9)) { try builder.add(9, at: 9) }
        // A row past the largest position is never covered.
        var heap = try HeapOrderBuilder(epsilon: 4, lookahead: 0)
        let verdict = try heap.add(key: 1, position: PiecewiseLinearModel.maximumKeyCount)
        #expect(verdict?.covered == false)
        // A resumed model goes on only past its last row and key.
        let model = try [UInt64]([1, 2, 3]).withUnsafeBufferPointer { try PiecewiseLinearModel(keys: $0, epsilon: 4) }
        var resumed = try HeapOrderBuilder(resuming: model, lastKey: 3, lookahead: 0)
        #expect(try resumed.add(key: 4, position: 2)?.covered == false)
        #expect(try resumed.add(key: 2, position: 3)?.covered == false)
        #expect(try resumed.add(key: 3, position: 3)?.covered == true)
        #expect(throws: LearnedIndexError.invalidArgument) {
            try HeapOrderBuilder(resuming: model, lastKey: 3, lookahead: -1)
        }
    }
}
