import Datasets
import LearnedIndex
import Testing

@Suite struct ModelTests {
    @Test("every window holds the lower bound, and the search finds it", arguments: keySets, modelKinds)
    func windowsContainLowerBound(_ set: KeySet, _ kind: ModelKind) throws {
        let model = try set.keys.withUnsafeBufferPointer { try LearnedModel(kind: kind, keys: $0) }
        #expect(model.keyCount == set.keys.count)
        #expect(model.kind == kind)
        var widest = 0
        var failures: [String] = []
        set.keys.withUnsafeBufferPointer { buffer in
            for key in probes(for: set.keys) {
                let expected = oracleLowerBound(set.keys, key)
                let window = model.window(for: key)
                let found = model.lowerBound(of: key, in: buffer)
                if !(0 <= window.lo && window.lo <= expected && expected <= window.hi && window.hi <= set.keys.count)
                    || found != expected {
                    failures.append("key \(key): window \(window), found \(found), expected \(expected)")
                }
                widest = max(widest, window.width)
            }
        }
        #expect(failures.isEmpty, "\(failures.count) failures, first: \(failures.prefix(3))")
        #expect(widest <= model.maximumWindow)
        if case .piecewiseLinear(let epsilon) = kind {
            #expect(model.maximumWindow <= 2 * epsilon + 2)
        }
    }

    /// How far a piecewise-linear prediction may miss: ε above the lower bound, ε + 1 below it (a query
    /// in a step fitted at its last end only).
    static func withinBound(predicted: Int, expected: Int, epsilon: Int) -> Bool {
        predicted - expected <= epsilon && expected - predicted <= epsilon + 1
    }

    @Test("the piecewise-linear error never exceeds epsilon", arguments: keySets, [0, 1, 8, 32])
    func piecewiseLinearErrorIsBounded(_ set: KeySet, _ epsilon: Int) throws {
        let model = try set.keys.withUnsafeBufferPointer { try PiecewiseLinearModel(keys: $0, epsilon: epsilon) }
        let misses = probes(for: set.keys).filter {
            !Self.withinBound(predicted: model.window(for: $0).predicted, expected: oracleLowerBound(set.keys, $0), epsilon: epsilon)
        }
        #expect(misses.isEmpty, "first: \(misses.prefix(3))")
        // Keys present in the run are fitted points: their error is within ε on both sides.
        let worstPresent = set.keys.map { abs(model.window(for: $0).predicted - oracleLowerBound(set.keys, $0)) }.max()
        #expect(worstPresent ?? 0 <= epsilon)
        #expect(model.segmentCount >= 1 && model.levelCount >= 1)
    }

    @Test("recursive routing levels keep every window around the lower bound", arguments: keySets, [0, 16])
    func routingLevelsHoldTheBound(_ set: KeySet, _ epsilon: Int) throws {
        // A direct-search limit of 1 stacks levels until one segment remains (the default stops far sooner).
        let model = try set.keys.withUnsafeBufferPointer {
            try PiecewiseLinearModel(keys: $0, epsilon: epsilon, directSearchLimit: 1)
        }
        if model.segmentCount > 32 { #expect(model.levelCount > 1) }
        let flat = try set.keys.withUnsafeBufferPointer { try PiecewiseLinearModel(keys: $0, epsilon: epsilon) }
        #expect(flat.segmentCount == model.segmentCount)
        var failures: [String] = []
        set.keys.withUnsafeBufferPointer { buffer in
            for key in probes(for: set.keys) {
                let expected = oracleLowerBound(set.keys, key)
                let window = model.window(for: key)
                if !(window.lo <= expected && expected <= window.hi)
                    || !Self.withinBound(predicted: window.predicted, expected: expected, epsilon: epsilon)
                    || window != flat.window(for: key)
                    || BoundedSearch.lowerBound(of: key, in: buffer, window: window) != expected {
                    failures.append("key \(key): window \(window), expected \(expected)")
                }
            }
        }
        #expect(failures.isEmpty, "\(failures.count) failures, first: \(failures.prefix(3))")
    }

    @Test("a builder copied mid-build learns each copy's keys as a one-shot build does")
    func copiedBuilderKeepsItsOwnSegment() throws {
        let keys = Distribution.books.keys(count: 40_000, seed: 3)
        let half = keys.count / 2
        // The copy's own tail: consecutive keys right above the shared prefix, a far steeper line.
        let other = Array(keys[..<half]) + (1...UInt64(keys.count - half)).map { keys[half - 1] &+ $0 }
        for epsilon in [4, 64] {
            let kind = ModelKind.piecewiseLinear(epsilon: epsilon)
            var builder = try ModelBuilder(kind: kind)
            try keys[..<half].withUnsafeBufferPointer { try builder.add($0) }
            var copy = builder
            try keys[half...].withUnsafeBufferPointer { try builder.add($0) }
            try other[half...].withUnsafeBufferPointer { try copy.add($0) }
            #expect(try builder.finish() == keys.withUnsafeBufferPointer { try LearnedModel(kind: kind, keys: $0) })
            #expect(try copy.finish() == other.withUnsafeBufferPointer { try LearnedModel(kind: kind, keys: $0) })
        }
    }

    @Test func chunkedBuildEqualsOneShotBuild() throws {
        let keys = Distribution.books.keys(count: 50_000, seed: 9)
        for kind in [ModelKind.piecewiseLinear(epsilon: 32), .recursive(leaves: 256), .linear] {
            let whole = try keys.withUnsafeBufferPointer { try LearnedModel(kind: kind, keys: $0) }
            var builder = try ModelBuilder(kind: kind)
            var random = SplitMix64(seed: 5)
            var passes = 0
            repeat {
                var start = 0
                while start < keys.count {
                    let end = min(keys.count, start + Int(random.next() % 3_000))
                    try keys[start..<end].withUnsafeBufferPointer { try builder.add($0) }
                    start = end
                }
                #expect(builder.keyCount == keys.count)
                passes += 1
            } while try builder.nextPass()
            #expect(passes == (kind == .linear ? 2 : kind == .recursive(leaves: 256) ? 3 : 1))
            #expect(try builder.finish() == whole)
        }
    }

    @Test("a multi-pass build refuses a pass over other keys, and a finish before its last pass", arguments: [
        ModelKind.recursive(leaves: 8), .linear,
    ])
    func multiPassBuildChecksItsPasses(_ kind: ModelKind) throws {
        let keys: [UInt64] = [1, 5, 9, 12]
        var builder = try ModelBuilder(kind: kind)
        try keys.withUnsafeBufferPointer { try builder.add($0) }
        #expect(try builder.nextPass())
        try keys.dropLast().withUnsafeBufferPointer { try builder.add($0) }
        #expect(throws: LearnedIndexError.invalidArgument) { _ = try builder.nextPass() }
        var early = try ModelBuilder(kind: kind)
        try keys.withUnsafeBufferPointer { try early.add($0) }
        #expect(throws: LearnedIndexError.invalidArgument) { _ = try early.finish() }
    }

    @Test("a resumed model keeps a prefix's segments and learns a new tail exactly", arguments: keySets, [0, 16, 64])
    func resumedModelHoldsTheBound(_ set: KeySet, _ epsilon: Int) throws {
        let base = set.keys
        guard base.count > 1 else { return }
        let model = try base.withUnsafeBufferPointer { try LearnedModel(kind: .piecewiseLinear(epsilon: epsilon), keys: $0) }
        var random = SplitMix64(seed: UInt64(base.count) &+ UInt64(epsilon))
        // Cut points: the very end (an append), the start, and random ones; the tail is replaced by keys
        // at or above the cut's last key: the old tail with a random step added, or duplicates of it.
        var cuts = [base.count, 1]
        for _ in 0..<6 { cuts.append(1 + Int(random.next() % UInt64(base.count))) }
        var failures: [String] = []
        for cut in cuts {
            let lastKey = base[cut - 1]
            let shift = random.next() % 1_000_000
            var tail = base[cut...].map { $0 &+ shift < $0 ? $0 : $0 &+ shift }
            tail += (0..<Int(random.next() % 3_000)).map { _ in
                let key = lastKey &+ random.next() % 5_000_000
                return key < lastKey ? lastKey : key
            }
            if random.next() % 4 == 0 { tail += Array(repeating: lastKey, count: 50) }
            tail.sort()
            let keys = Array(base[..<cut]) + tail
            var builder = try ModelBuilder(resuming: model, count: cut, lastKey: lastKey)
            try tail.withUnsafeBufferPointer { try builder.add($0) }
            let resumed = try builder.finish()
            #expect(resumed.keyCount == keys.count)
            for key in probes(for: keys) + tail.prefix(200) {
                let expected = oracleLowerBound(keys, key)
                let window = resumed.window(for: key)
                if !(window.lo <= expected && expected <= window.hi && window.hi <= keys.count) || window.width > 2 * epsilon + 2 {
                    failures.append("cut \(cut) key \(key): window \(window), expected \(expected)")
                }
            }
        }
        #expect(failures.isEmpty, "\(failures.count) failures, first: \(failures.prefix(3))")
        #expect(throws: LearnedIndexError.invalidArgument) { try ModelBuilder(resuming: model, count: 0, lastKey: 0) }
        let rmi = try base.withUnsafeBufferPointer { try LearnedModel(kind: .recursive(leaves: 4), keys: $0) }
        #expect(throws: LearnedIndexError.invalidArgument) { try ModelBuilder(resuming: rmi, count: 1, lastKey: base[0]) }
    }

    @Test("an empty key set is refused", arguments: modelKinds)
    func emptyKeySetIsRefused(_ kind: ModelKind) {
        #expect(throws: LearnedIndexError.emptyKeySet) {
            try [UInt64]().withUnsafeBufferPointer { try LearnedModel(kind: kind, keys: $0) }
        }
    }

    @Test("unsorted keys are refused with their position", arguments: modelKinds)
    func unsortedKeysAreRefused(_ kind: ModelKind) throws {
        let keys: [UInt64] = [1, 2, 3, 3, 2, 9]
        #expect(throws: LearnedIndexError.unsortedKeys(position: 4)) {
            try keys.withUnsafeBufferPointer { try LearnedModel(kind: kind, keys: $0) }
        }
        var builder = try ModelBuilder(kind: kind)
        try [UInt64]([5, 6]).withUnsafeBufferPointer { try builder.add($0) }
        #expect(throws: LearnedIndexError.unsortedKeys(position: 2)) {
            try [UInt64]([4]).withUnsafeBufferPointer { try builder.add($0) }
        }
    }

    @Test func parametersOutOfRangeAreRefused() {
        #expect(throws: LearnedIndexError.invalidArgument) { try ModelBuilder(kind: .piecewiseLinear(epsilon: -1)) }
        #expect(throws: LearnedIndexError.invalidArgument) {
            try ModelBuilder(kind: .piecewiseLinear(epsilon: PiecewiseLinearModel.maximumEpsilon + 1))
        }
        #expect(throws: LearnedIndexError.invalidArgument) { try ModelBuilder(kind: .recursive(leaves: 0)) }
        #expect(throws: LearnedIndexError.invalidArgument) {
            try ModelBuilder(kind: .recursive(leaves: RecursiveModelIndex.maximumLeaves + 1))
        }
    }

    @Test func piecewiseLinearModelStaysSmall() throws {
        // The benchmark's bar at test scale: at epsilon 64 the model is far below 1% of the key bytes.
        for distribution in Distribution.allCases {
            let keys = distribution.keys(count: 200_000)
            let model = try keys.withUnsafeBufferPointer { try PiecewiseLinearModel(keys: $0, epsilon: 64) }
            #expect(model.byteCount * 100 < keys.count * 8, "\(distribution): \(model.byteCount) bytes")
        }
    }

    @Test func segmentsDescribeTheModel() throws {
        let keys = Distribution.seq.keys(count: 10_000)
        let model = try keys.withUnsafeBufferPointer { try PiecewiseLinearModel(keys: $0, epsilon: 8) }
        var previous: UInt64?
        for index in 0..<model.segmentCount {
            let segment = try #require(model.segment(index))
            if let previous { #expect(segment.firstKey > previous) } else { #expect(segment.firstKey == 0) }
            #expect(segment.line.slope >= 0)
            previous = segment.firstKey
        }
        #expect(model.segment(model.segmentCount) == nil)
        #expect(model.segment(-1) == nil)
    }
}

@Suite struct SearchTests {
    @Test("range iteration over [a, b) matches the oracle", arguments: keySets)
    func rangesMatchOracle(_ set: KeySet) throws {
        let run = try ColdRun(keys: set.keys, payloads: set.keys.indices.map { UInt64($0) },
                              kind: .piecewiseLinear(epsilon: 16))
        let points = probes(for: set.keys, random: 200)
        var random = SplitMix64(seed: 4)
        for _ in 0..<3_000 {
            let a = points[Int(random.next() % UInt64(points.count))]
            let b = points[Int(random.next() % UInt64(points.count))]
            let expected = a < b ? oracleLowerBound(set.keys, a)..<oracleLowerBound(set.keys, b) : 0..<0
            let found = run.positions(from: a, to: b)
            if found.count != expected.count || !(found.isEmpty || found == expected)
                || !found.allSatisfy({ a <= run.keys[$0] && run.keys[$0] < b }) {
                Issue.record("[\(a), \(b)): found \(found), expected \(expected)")
            }
        }
    }

    @Test("halving, sampled and upper-bound searches equal the oracle over every sub-range")
    func searchesEqualOracleOverEveryRange() {
        let keys = keysWithRepeats(count: 60, seed: 21)
        let firstKey = keys[0]
        let lastKey = keys[keys.count - 1]
        keys.withUnsafeBufferPointer { buffer in
            for key in firstKey...(lastKey + 1) {
                for lo in 0...keys.count {
                    for hi in lo...keys.count {
                        let lower = (lo..<hi).first { keys[$0] >= key } ?? hi
                        let upper = (lo..<hi).first { keys[$0] > key } ?? hi
                        if BoundedSearch.lowerBound(of: key, in: buffer, lo: lo, hi: hi) != lower
                            || BoundedSearch.sampledLowerBound(of: key, in: buffer, lo: lo, hi: hi) != lower
                            || BoundedSearch.upperBound(of: key, in: buffer, lo: lo, hi: hi) != upper {
                            Issue.record("key \(key) in \(lo)..<\(hi)")
                        }
                    }
                }
            }
        }
    }

    @Test("wider windows (coarse samples, then fine) find the lower bound over random sub-ranges")
    func widerWindowsSampleToTheLowerBound() {
        let keys = keysWithRepeats(count: 5_000, seed: 24)
        var random = SplitMix64(seed: 25)
        keys.withUnsafeBufferPointer { buffer in
            for _ in 0..<20_000 {
                let key = keys[0] + random.next() % (keys[keys.count - 1] - keys[0] + 2)
                let lo = Int(random.next() % UInt64(keys.count + 1))
                let hi = lo + Int(random.next() % UInt64(min(keys.count - lo, BoundedSearch.coarseSamplingLimit) + 1))
                let lower = (lo..<hi).first { keys[$0] >= key } ?? hi
                if BoundedSearch.sampledLowerBound(of: key, in: buffer, lo: lo, hi: hi) != lower {
                    Issue.record("key \(key) in \(lo)..<\(hi)")
                }
            }
        }
    }

    @Test("the widest windows (galloping) find the lower bound from any prediction")
    func wideWindowsGallopToTheLowerBound() {
        let keys = keysWithRepeats(count: 3 * BoundedSearch.coarseSamplingLimit, seed: 22)
        var random = SplitMix64(seed: 23)
        keys.withUnsafeBufferPointer { buffer in
            for _ in 0..<20_000 {
                let key = keys[0] + random.next() % (keys[keys.count - 1] - keys[0] + 2)
                let expected = oracleLowerBound(keys, key)
                // Wider than the sampled windows, and holding the lower bound.
                let limit = BoundedSearch.coarseSamplingLimit
                let lo = Int(random.next() % UInt64(min(expected, keys.count - limit - 1) + 1))
                let extra = Int(random.next() % 5_000)
                let hi = max(expected, min(keys.count, lo + limit + 1 + extra))
                let predicted = lo + Int(random.next() % UInt64(hi - lo + 1))
                let window = SearchWindow(lo: lo, hi: hi, predicted: predicted)
                if hi - lo <= BoundedSearch.coarseSamplingLimit
                    || BoundedSearch.lowerBound(of: key, in: buffer, window: window) != expected {
                    Issue.record("key \(key) in \(window)")
                }
            }
        }
    }

    @Test("the quaternary upper bound (segment routing) equals the oracle's in any range")
    func quaternaryUpperBoundEqualsOracle() {
        let keys = keysWithRepeats(count: 700, seed: 31)
        keys.withUnsafeBufferPointer { buffer in
            for key in UInt64(0)...keys[keys.count - 1] + 1 {
                // The keys are sorted, so the answer in lo..<hi is the whole run's, clamped.
                let whole = keys.filter { $0 <= key }.count
                for lo in stride(from: 0, through: keys.count, by: 23) {
                    // Long ranges, and every short one (the last steps' range, up to 15 keys, and just past it).
                    let ends = Array(stride(from: lo, through: keys.count, by: 19)) + Array(lo...min(lo + 17, keys.count))
                    for hi in ends {
                        let expected = min(max(whole, lo), hi)
                        if BoundedSearch.quaternaryUpperBound(of: key, in: buffer, lo: lo, hi: hi) != expected {
                            Issue.record("key \(key) in \(lo)..<\(hi)")
                        }
                    }
                }
            }
        }
    }

    @Test func boundedSearchEqualsOracleInsideAnyContainingWindow() {
        let keys: [UInt64] = [1, 3, 3, 3, 7, 9, 9, 12, 40, 41, 41, 41, 41, 90]
        keys.withUnsafeBufferPointer { buffer in
            for key in UInt64(0)...100 {
                let expected = oracleLowerBound(keys, key)
                for lo in 0...expected {
                    for hi in expected...keys.count {
                        for predicted in lo...hi {
                            let window = SearchWindow(lo: lo, hi: hi, predicted: predicted)
                            if BoundedSearch.lowerBound(of: key, in: buffer, window: window) != expected {
                                Issue.record("key \(key) in \(window)")
                            }
                        }
                    }
                }
                #expect(BoundedSearch.lowerBound(of: key, in: buffer) == expected)
            }
        }
    }
}

/// About `count` small sorted keys with gaps of 0 to 3 and repeats of 1 to 3.
func keysWithRepeats(count: Int, seed: UInt64) -> [UInt64] {
    var random = SplitMix64(seed: seed)
    var keys: [UInt64] = []
    while keys.count < count {
        let key = (keys.last ?? 0) + random.next() % 4
        keys.append(contentsOf: repeatElement(key, count: 1 + Int(random.next() % 3)))
    }
    return keys
}
