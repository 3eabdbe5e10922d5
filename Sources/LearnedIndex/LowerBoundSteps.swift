/// The lower-bound function of a sorted run as the steps it is made of.
///
/// For keys `k` at positions `0..<n`, `lowerBound(q)` is constant on each interval `(previous distinct key,
/// distinct key]` (the first starting at 0) and equals `n` above the last key. A model whose prediction is
/// monotone is within an error bound on a whole step as soon as it is within it at the step's two ends, so
/// checking both ends of every step bounds the error for every possible query, present or absent.
struct LowerBoundStep: Equatable, Sendable {
    /// The smallest query of the step.
    var first: UInt64
    /// The largest query of the step.
    var last: UInt64
    /// The lower bound of every query in `first...last`.
    var position: Int
}

/// Walks the steps of a sorted buffer in key order.
struct LowerBoundSteps: IteratorProtocol, Sequence {
    let keys: UnsafeBufferPointer<UInt64>
    var index = 0
    var nextFirst: UInt64 = 0
    var finished = false

    init(_ keys: UnsafeBufferPointer<UInt64>) {
        self.keys = keys
    }

    mutating func next() -> LowerBoundStep? {
        if finished { return nil }
        guard index < keys.count else {
            finished = true
            // Above the last key the lower bound is n, unless no key can be larger.
            if index > 0 && nextFirst == 0 { return nil }
            return LowerBoundStep(first: nextFirst, last: .max, position: index)
        }
        let key = keys[index]
        let step = LowerBoundStep(first: nextFirst, last: key, position: index)
        index &+= 1
        while index < keys.count && keys[index] == key { index &+= 1 }
        // Wraps to 0 only after UInt64.max, which then ends the walk above.
        nextFirst = key &+ 1
        return step
    }
}
