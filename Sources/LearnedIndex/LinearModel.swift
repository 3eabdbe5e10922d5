/// One least-squares line over the whole run, with its exact error over every possible query.
public struct LinearModel: Equatable, Sendable {
    public let function: LinearFunction
    public let error: ErrorBound
    public let keyCount: Int

    init(function: LinearFunction, error: ErrorBound, keyCount: Int) {
        self.function = function
        self.error = error
        self.keyCount = keyCount
    }

    /// Learns sorted `keys`; throws on an empty or unsorted buffer.
    public init(keys: UnsafeBufferPointer<UInt64>) throws(LearnedIndexError) {
        try KeyValidation.requireSortedNonEmpty(keys)
        let function = LinearFunction.leastSquares(keys, range: 0..<keys.count, origin: keys[0])
        var error = ErrorBound()
        for step in LowerBoundSteps(keys) {
            error.include(predicted: function.position(of: step.first, limit: keys.count), position: step.position)
            error.include(predicted: function.position(of: step.last, limit: keys.count), position: step.position)
        }
        self.init(function: function, error: error, keyCount: keys.count)
    }

    public var byteCount: Int { 40 }

    @inlinable
    public func window(for key: UInt64) -> SearchWindow {
        error.window(around: function.position(of: key, limit: keyCount), limit: keyCount)
    }
}

enum KeyValidation {
    /// Throws unless `keys` is non-empty and ascending (equal neighbours allowed).
    static func requireSortedNonEmpty(_ keys: UnsafeBufferPointer<UInt64>) throws(LearnedIndexError) {
        guard !keys.isEmpty else { throw .emptyKeySet }
        var previous = keys[0]
        for index in keys.indices.dropFirst() {
            let key = keys[index]
            if key < previous { throw .unsortedKeys(position: index) }
            previous = key
        }
    }
}
