import Datasets
import Testing
import LearnedIndex

/// The plain answer every learned structure must match: the first index whose key is not below `key`.
func oracleLowerBound(_ keys: [UInt64], _ key: UInt64) -> Int {
    var low = 0
    var high = keys.count
    while low < high {
        let middle = (low + high) / 2
        if keys[middle] < key { low = middle + 1 } else { high = middle }
    }
    return low
}

/// A named sorted key set for the property tests.
struct KeySet: CustomTestStringConvertible, Sendable {
    let name: String
    let keys: [UInt64]
    var testDescription: String { "\(name) (\(keys.count) keys)" }
}

/// Every shape the models must handle: the benchmark distributions at test size, and the edge cases.
let keySets: [KeySet] = {
    var sets = Distribution.allCases.map { KeySet(name: $0.rawValue, keys: $0.keys(count: 20_000, seed: 3)) }
    sets.append(KeySet(name: "all-equal", keys: [UInt64](repeating: 77, count: 5_000)))
    sets.append(KeySet(name: "one", keys: [12_345]))
    sets.append(KeySet(name: "two", keys: [10, 1 << 40]))
    sets.append(KeySet(name: "two-equal", keys: [9, 9]))
    sets.append(KeySet(name: "extremes", keys: [0, 0, 1, 2, UInt64.max / 2, UInt64.max - 1, UInt64.max, UInt64.max]))
    sets.append(KeySet(name: "zero-and-max", keys: [0, UInt64.max]))
    var random = SplitMix64(seed: 11)
    let runs = (0..<200).flatMap { index in
        repeatElement(UInt64(index) * 1_000 + random.next() % 500, count: 1 + Int(random.next() % 1_000))
    }
    sets.append(KeySet(name: "runs-1-to-1000", keys: runs))
    let wide = (0..<3_000).map { _ in random.next() >> (random.next() % 64) }.sorted()
    sets.append(KeySet(name: "mixed-magnitudes", keys: wide))
    return sets
}()

/// Queries for a key set: every distinct key, its neighbours, the ends of the key space and random keys.
func probes(for keys: [UInt64], random count: Int = 2_000) -> [UInt64] {
    var result: [UInt64] = [0, 1, UInt64.max, UInt64.max - 1, 1 << 63]
    var previous: UInt64?
    for key in keys where key != previous {
        result.append(key)
        result.append(key &- 1)
        result.append(key &+ 1)
        previous = key
    }
    var random = SplitMix64(seed: UInt64(keys.count))
    for _ in 0..<count { result.append(random.next()) }
    if let first = keys.first, let last = keys.last, last > first {
        for _ in 0..<count { result.append(first + random.next() % (last - first)) }
    }
    return result
}

/// The model kinds the property tests cover.
let modelKinds: [ModelKind] = [
    .piecewiseLinear(epsilon: 0), .piecewiseLinear(epsilon: 1), .piecewiseLinear(epsilon: 4),
    .piecewiseLinear(epsilon: 16), .piecewiseLinear(epsilon: 64), .piecewiseLinear(epsilon: 128),
    .recursive(leaves: 1), .recursive(leaves: 64), .recursive(leaves: 4_096), .linear,
]
