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
        var trainer = Trainer()
        repeat {
            for (position, key) in keys.enumerated() { trainer.add(key, at: position) }
        } while trainer.endPass(count: keys.count)
        self = trainer.model!
    }

    public var byteCount: Int { 40 }

    @inlinable
    public func window(for key: UInt64) -> SearchWindow {
        error.window(around: function.position(of: key, limit: keyCount), limit: keyCount)
    }

    /// Learns a run in two passes over its sorted keys: the line, then its error at every lower-bound step.
    struct Trainer {
        private enum Phase {
            case fit(StreamingFit?)
            case measure(StepErrorMeter, previous: UInt64)
            case done(LinearModel)
        }

        private var phase = Phase.fit(nil)

        mutating func add(_ key: UInt64, at position: Int) {
            switch phase {
            case .fit(var fit):
                if fit == nil { fit = StreamingFit(origin: key) }
                fit!.add(key, at: position)
                phase = .fit(fit)
            case .measure(var meter, let previous):
                if position == 0 || key != previous { meter.measure(position == 0 ? 0 : previous &+ 1, key, position) }
                phase = .measure(meter, previous: key)
            case .done:
                break
            }
        }

        /// Ends a pass over all `count` keys (count > 0); true when the keys must be fed once more.
        mutating func endPass(count: Int) -> Bool {
            switch phase {
            case .fit(let fit):
                phase = .measure(StepErrorMeter(function: fit!.function, limit: count), previous: 0)
                return true
            case .measure(var meter, let previous):
                // Above the last key the lower bound is the key count, unless no key can be larger.
                if previous != .max { meter.measure(previous &+ 1, .max, count) }
                phase = .done(LinearModel(function: meter.function, error: meter.error, keyCount: count))
                return false
            case .done:
                return false
            }
        }

        var model: LinearModel? {
            if case .done(let model) = phase { return model }
            return nil
        }
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
