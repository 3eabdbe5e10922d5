/// A two-stage recursive model index: a linear root picks one of `leafCount` linear leaves, and each leaf
/// carries its exact error, measured at build over every query the root can send it.
///
/// Why the per-leaf bound covers absent keys: the root is monotone, so leaf `l` receives exactly the keys
/// at positions `s..<e` and only queries whose lower bound lies in `s...e`. Its error is measured at both
/// ends of each lower-bound step meeting that range (the last one ending at the next leaf's first key);
/// monotone evaluation bounds every query in between.
public struct RecursiveModelIndex: Equatable, Sendable {
    @frozen
    public struct Leaf: Equatable, Sendable {
        public var slope: Double
        public var intercept: Double
        public var below: UInt32
        public var above: UInt32
    }

    public let keyCount: Int
    /// Predicts a leaf index directly (already scaled to `0..<leafCount`).
    public let root: LinearFunction
    /// The origin of every leaf's line.
    public let firstKey: UInt64
    @usableFromInline let leaves: [Leaf]

    public static let maximumLeaves = 1 << 24

    init(keyCount: Int, root: LinearFunction, firstKey: UInt64, leaves: [Leaf]) {
        self.keyCount = keyCount
        self.root = root
        self.firstKey = firstKey
        self.leaves = leaves
    }

    /// Learns sorted `keys` with `leafCount` leaves; throws on an empty or unsorted buffer, a leaf count
    /// outside `1...maximumLeaves`, or more keys than 32-bit errors can describe.
    public init(keys: UnsafeBufferPointer<UInt64>, leafCount: Int) throws(LearnedIndexError) {
        guard leafCount >= 1 && leafCount <= Self.maximumLeaves && keys.count <= Int(UInt32.max) else {
            throw .invalidArgument
        }
        try KeyValidation.requireSortedNonEmpty(keys)
        let n = keys.count
        let firstKey = keys[0]
        let fit = LinearFunction.leastSquares(keys, range: 0..<n, origin: firstKey)
        let scale = Double(leafCount) / Double(n)
        let root = LinearFunction(origin: firstKey, slope: fit.slope * scale, intercept: fit.intercept * scale)

        // leafStart[l] is the first position the root sends to leaf l or later (routing is monotone).
        var leafStart = [Int](repeating: n, count: leafCount + 1)
        var nextLeaf = 0
        for index in 0..<n {
            let leaf = root.position(of: keys[index], limit: leafCount - 1)
            while nextLeaf <= leaf {
                leafStart[nextLeaf] = index
                nextLeaf += 1
            }
        }

        var leaves: [Leaf] = []
        leaves.reserveCapacity(leafCount)
        for leaf in 0..<leafCount {
            let range = leafStart[leaf]..<leafStart[leaf + 1]
            guard !range.isEmpty else {
                // Every query routed here has lower bound exactly `range.lowerBound`.
                leaves.append(Leaf(slope: 0, intercept: Double(range.lowerBound), below: 0, above: 0))
                continue
            }
            let function = LinearFunction.leastSquares(keys, range: range, origin: firstKey)
            var error = ErrorBound()
            func measure(_ first: UInt64, _ last: UInt64, _ position: Int) {
                error.include(predicted: function.position(of: first, limit: n), position: position)
                error.include(predicted: function.position(of: last, limit: n), position: position)
            }
            var index = range.lowerBound
            while index < range.upperBound {
                let key = keys[index]
                measure(index == 0 ? 0 : keys[index - 1] &+ 1, key, index)
                index += 1
                while index < range.upperBound && keys[index] == key { index += 1 }
            }
            let lastKey = keys[range.upperBound - 1]
            if lastKey != .max {
                measure(lastKey &+ 1, range.upperBound < n ? keys[range.upperBound] : .max, range.upperBound)
            }
            leaves.append(Leaf(
                slope: function.slope, intercept: function.intercept,
                below: UInt32(error.below), above: UInt32(error.above)))
        }
        self.init(keyCount: n, root: root, firstKey: firstKey, leaves: leaves)
    }

    public var leafCount: Int { leaves.count }

    /// Leaf `index`'s line (for inspection and plotting).
    public func leaf(_ index: Int) -> LinearFunction? {
        guard index >= 0 && index < leaves.count else { return nil }
        return LinearFunction(origin: firstKey, slope: leaves[index].slope, intercept: leaves[index].intercept)
    }

    public var byteCount: Int { leaves.count * MemoryLayout<Leaf>.stride + 40 }

    /// The largest window any leaf can return.
    public var maximumWindow: Int {
        leaves.reduce(0) { max($0, Int($1.below) + Int($1.above) + 1) }
    }

    @inlinable
    public func window(for key: UInt64) -> SearchWindow {
        leaves.withUnsafeBufferPointer { leaves in
            let leaf = leaves[root.position(of: key, limit: leaves.count &- 1)]
            let predicted = LinearFunction(origin: firstKey, slope: leaf.slope, intercept: leaf.intercept)
                .position(of: key, limit: keyCount)
            return SearchWindow(
                lo: max(0, predicted &- Int(leaf.below)), hi: min(keyCount, predicted &+ Int(leaf.above)),
                predicted: predicted)
        }
    }
}
