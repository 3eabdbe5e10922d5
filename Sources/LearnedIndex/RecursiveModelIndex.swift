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
        try KeyValidation.requireSortedNonEmpty(keys)
        var trainer = try Trainer(leafCount: leafCount)
        repeat {
            for (position, key) in keys.enumerated() { trainer.add(key, at: position) }
        } while try trainer.endPass(count: keys.count)
        self = trainer.model!
    }

    /// Learns a run in three passes over its sorted keys, holding only the leaves: the root's line; then,
    /// routing each key by the root, every leaf's line; then every leaf's error at the lower-bound steps
    /// its keys make, the last one ending at the next leaf's first key.
    struct Trainer {
        private enum Phase {
            case root(StreamingFit?)
            case leafLines(root: LinearFunction, current: Int, fit: StreamingFit?)
            case leafErrors(root: LinearFunction, current: Int, meter: StepErrorMeter?, previous: UInt64)
            case done(RecursiveModelIndex)
        }

        let leafCount: Int
        private var phase = Phase.root(nil)
        private var firstKey: UInt64 = 0
        private var keyCount = 0
        private var leaves: [Leaf] = []

        init(leafCount: Int) throws(LearnedIndexError) {
            guard leafCount >= 1 && leafCount <= RecursiveModelIndex.maximumLeaves else { throw .invalidArgument }
            self.leafCount = leafCount
        }

        /// A leaf no key routes to: every query it receives has lower bound `start`.
        private static func emptyLeaf(start: Int) -> Leaf {
            Leaf(slope: 0, intercept: Double(start), below: 0, above: 0)
        }

        /// Appends leaf `current`'s line (or nothing, before the first key), then empty leaves up to `next`.
        private mutating func closeLines(_ current: Int, _ fit: StreamingFit?, upTo next: Int, start: Int) {
            if let fit { leaves.append(Leaf(slope: fit.function.slope, intercept: fit.function.intercept, below: 0, above: 0)) }
            while leaves.count < next { leaves.append(Self.emptyLeaf(start: start)) }
        }

        mutating func add(_ key: UInt64, at position: Int) {
            switch phase {
            case .root(var fit):
                if fit == nil {
                    fit = StreamingFit(origin: key)
                    firstKey = key
                }
                fit!.add(key, at: position)
                phase = .root(fit)
            case .leafLines(let root, let current, var fit):
                let leaf = root.position(of: key, limit: leafCount - 1)
                if fit == nil || leaf != current {
                    closeLines(current, fit, upTo: leaf, start: position)
                    fit = StreamingFit(origin: firstKey)
                }
                fit!.add(key, at: position)
                phase = .leafLines(root: root, current: leaf, fit: fit)
            case .leafErrors(let root, let current, var meter, let previous):
                let leaf = root.position(of: key, limit: leafCount - 1)
                if meter == nil || leaf != current {
                    if var closing = meter {
                        closing.measure(previous &+ 1, key, position)
                        record(closing.error, leaf: current)
                    }
                    let line = leaves[leaf]
                    meter = StepErrorMeter(
                        function: LinearFunction(origin: firstKey, slope: line.slope, intercept: line.intercept),
                        limit: keyCount)
                }
                if position == 0 || key != previous { meter!.measure(position == 0 ? 0 : previous &+ 1, key, position) }
                phase = .leafErrors(root: root, current: leaf, meter: meter, previous: key)
            case .done:
                break
            }
        }

        private mutating func record(_ error: ErrorBound, leaf: Int) {
            leaves[leaf].below = UInt32(error.below)
            leaves[leaf].above = UInt32(error.above)
        }

        /// Ends a pass over all `count` keys (count > 0); true when the keys must be fed once more.
        mutating func endPass(count: Int) throws(LearnedIndexError) -> Bool {
            switch phase {
            case .root(let fit):
                guard count <= Int(UInt32.max) else { throw .invalidArgument }
                keyCount = count
                let line = fit!.function
                let scale = Double(leafCount) / Double(count)
                let root = LinearFunction(origin: firstKey, slope: line.slope * scale, intercept: line.intercept * scale)
                leaves.reserveCapacity(leafCount)
                phase = .leafLines(root: root, current: 0, fit: nil)
                return true
            case .leafLines(let root, let current, let fit):
                closeLines(current, fit, upTo: leafCount, start: count)
                phase = .leafErrors(root: root, current: 0, meter: nil, previous: 0)
                return true
            case .leafErrors(let root, let current, let meter, let previous):
                if var closing = meter {
                    if previous != .max { closing.measure(previous &+ 1, .max, count) }
                    record(closing.error, leaf: current)
                }
                phase = .done(RecursiveModelIndex(keyCount: count, root: root, firstKey: firstKey, leaves: leaves))
                return false
            case .done:
                return false
            }
        }

        var model: RecursiveModelIndex? {
            if case .done(let model) = phase { return model }
            return nil
        }
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
