#if canImport(Glibc)
import Glibc
#endif
import Datasets
import LearnedIndex
import Testing

@Suite struct HotColdTests {
    /// Runs random inserts, deletes, point lookups and ranges against a sorted-array oracle, with merges
    /// in between; `OMEN_TEST_OPERATIONS` scales it (100,000 by default).
    @Test("a randomized model-based run agrees with a sorted array", arguments: [
        ModelKind.piecewiseLinear(epsilon: 8), .recursive(leaves: 64), .linear,
    ])
    func modelBasedRun(_ kind: ModelKind) throws {
        let operations = testScale("OMEN_TEST_OPERATIONS", default: 100_000)
        var index = HotColdIndex(kind: kind)
        var oracle: [Entry] = []
        var random = SplitMix64(seed: 99)
        var nextPayload: UInt64 = 0
        var merges = 0
        // A small key space forces duplicates and deletes that hit.
        func randomKey() -> UInt64 {
            switch random.next() % 10 {
            case 0: return [0, 1, UInt64.max, UInt64.max - 1][Int(random.next() % 4)]
            case 1...3: return random.next()
            default: return random.next() % 2_000
            }
        }
        for step in 0..<operations {
            switch random.next() % 100 {
            case 0..<45:
                let entry = Entry(key: randomKey(), payload: nextPayload)
                nextPayload += 1
                index.insert(entry)
                oracle.insert(entry, at: oracle.partitionIndex { !($0 < entry) })
            case 45..<65:
                let entry: Entry
                if !oracle.isEmpty && random.next() % 4 != 0 {
                    entry = oracle[Int(random.next() % UInt64(oracle.count))]
                } else {
                    entry = Entry(key: randomKey(), payload: random.next() % (nextPayload + 1))
                }
                let inOracle = oracle.firstIndex(of: entry)
                let deleted = index.delete(entry)
                #expect(deleted == (inOracle != nil), "delete \(entry) at step \(step)")
                if let inOracle { oracle.remove(at: inOracle) }
            case 65..<85:
                let key = randomKey()
                let expected = oracle.filter { $0.key == key }.map(\.payload)
                let found = index.lookup(key)
                #expect(found == expected, "lookup \(key) at step \(step)")
            case 85..<99:
                let a = randomKey()
                let b = random.next() % 3 == 0 ? a &+ random.next() % 5_000 : randomKey()
                let low = oracle.partitionIndex { $0.key >= a }
                let high = oracle.partitionIndex { $0.key >= b }
                let expected = a < b ? Array(oracle[low..<max(low, high)]) : []
                let found = index.range(from: a, to: b)
                #expect(found == expected, "range [\(a), \(b)) at step \(step)")
            default:
                try index.merge()
                merges += 1
                #expect(index.hot.count == 0)
                #expect(index.cold.count == oracle.count, "merge drops exactly the deleted entries")
            }
        }
        try index.merge()
        #expect(index.cold.keys == oracle.map(\.key))
        #expect(index.cold.payloads == oracle.map(\.payload))
        #expect(merges > 0)
    }

    @Test func mergeDropsDeadEntriesAndKeepsOrder() throws {
        var run = try ColdRun(sorted: [Entry(key: 1, payload: 1), Entry(key: 5, payload: 2), Entry(key: 5, payload: 3)],
                              kind: .linear)
        let first = run.markDead(at: 1)
        let again = run.markDead(at: 1)
        let outside = run.markDead(at: 3)
        #expect(first && !again && !outside)
        #expect(run.liveCount == 2)
        let merged = try run.merging([Entry(key: 0, payload: 9), Entry(key: 5, payload: 2), Entry(key: 7, payload: 4)],
                                     kind: .piecewiseLinear(epsilon: 2))
        #expect(merged.keys == [0, 1, 5, 5, 7])
        #expect(merged.payloads == [9, 1, 2, 3, 4])
        #expect(merged.liveCount == 5)
    }

    @Test func unsortedEntriesAreRefused() {
        #expect(throws: LearnedIndexError.unsortedKeys(position: 1)) {
            try ColdRun(sorted: [Entry(key: 2, payload: 0), Entry(key: 1, payload: 0)], kind: .linear)
        }
        #expect(throws: LearnedIndexError.invalidArgument) { try ColdRun(keys: [1], payloads: [], kind: .linear) }
    }

    @Test func hotBufferSortsOnDemand() {
        var hot = HotBuffer()
        for key: UInt64 in [5, 3, 9, 3] { hot.append(Entry(key: key, payload: key * 10)) }
        let sorted = hot.sortedEntries().map(\.key)
        #expect(sorted == [3, 3, 5, 9])
        let removed = hot.remove(Entry(key: 3, payload: 30))
        let missing = hot.remove(Entry(key: 4, payload: 0))
        #expect(removed && !missing)
        let after = hot.sortedEntries().map(\.key)
        #expect(after == [3, 5, 9])
    }
}

extension Array {
    /// The first index whose element satisfies `predicate` (false, then true, along the array).
    func partitionIndex(where predicate: (Element) -> Bool) -> Int {
        var low = 0
        var high = count
        while low < high {
            let middle = (low + high) / 2
            if predicate(self[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }
}

/// A test size from the environment (CI keeps the default; `make stress` raises it).
func testScale(_ name: String, default value: Int) -> Int {
    guard let text = getenv(name).map({ String(cString: $0) }), let parsed = Int(text), parsed > 0 else { return value }
    return parsed
}
