/// Which model to learn, with its parameter.
public enum ModelKind: Equatable, Sendable {
    /// A PGM-style piecewise-linear model with maximum error `epsilon`.
    case piecewiseLinear(epsilon: Int)
    /// A two-stage RMI with `leaves` second-stage models.
    case recursive(leaves: Int)
    /// One line over the whole run.
    case linear
}

/// Any of the learned models, behind one window query.
public enum LearnedModel: Equatable, Sendable {
    case piecewiseLinear(PiecewiseLinearModel)
    case recursive(RecursiveModelIndex)
    case linear(LinearModel)

    /// Learns sorted `keys` with the model `kind` names.
    public init(kind: ModelKind, keys: UnsafeBufferPointer<UInt64>) throws(LearnedIndexError) {
        var builder = try ModelBuilder(kind: kind)
        try builder.add(keys)
        self = try builder.finish()
    }

    public var kind: ModelKind {
        switch self {
        case .piecewiseLinear(let model): .piecewiseLinear(epsilon: model.epsilon)
        case .recursive(let model): .recursive(leaves: model.leafCount)
        case .linear: .linear
        }
    }

    public var keyCount: Int {
        switch self {
        case .piecewiseLinear(let model): model.keyCount
        case .recursive(let model): model.keyCount
        case .linear(let model): model.keyCount
        }
    }

    /// Bytes of model state.
    public var byteCount: Int {
        switch self {
        case .piecewiseLinear(let model): model.byteCount
        case .recursive(let model): model.byteCount
        case .linear(let model): model.byteCount
        }
    }

    /// The widest window the model can return.
    public var maximumWindow: Int {
        switch self {
        case .piecewiseLinear(let model): min(2 * model.epsilon + 1, model.keyCount + 1)
        case .recursive(let model): model.maximumWindow
        case .linear(let model): min(model.error.below + model.error.above + 1, model.keyCount + 1)
        }
    }

    /// A window of positions that contains the lower bound of `key`.
    @inlinable
    public func window(for key: UInt64) -> SearchWindow {
        switch self {
        case .piecewiseLinear(let model): model.window(for: key)
        case .recursive(let model): model.window(for: key)
        case .linear(let model): model.window(for: key)
        }
    }

    /// The lower bound of `key` in the sorted `keys` this model was learned on.
    @inlinable
    public func lowerBound(of key: UInt64, in keys: UnsafeBufferPointer<UInt64>) -> Int {
        BoundedSearch.lowerBound(of: key, in: keys, window: window(for: key))
    }
}

/// Learns any model from keys fed in sorted chunks. The piecewise-linear model learns as keys arrive; the
/// others need every key (their root spans the whole run), so they keep them until `finish`.
public struct ModelBuilder {
    private enum State {
        case piecewiseLinear(PiecewiseLinearModel.Builder)
        case collecting([UInt64])
    }

    public let kind: ModelKind
    private var state: State
    private var count = 0
    private var lastKey: UInt64 = 0

    public init(kind: ModelKind) throws(LearnedIndexError) {
        self.kind = kind
        switch kind {
        case .piecewiseLinear(let epsilon):
            state = .piecewiseLinear(try PiecewiseLinearModel.Builder(epsilon: epsilon))
        case .recursive(let leaves):
            guard leaves >= 1 && leaves <= RecursiveModelIndex.maximumLeaves else { throw .invalidArgument }
            state = .collecting([])
        case .linear:
            state = .collecting([])
        }
    }

    /// Continues a piecewise-linear `model` after its first `count` keys, the last being `lastKey` (see
    /// `PiecewiseLinearModel.Builder(resuming:count:lastKey:)`). The other models span the whole run with
    /// their root, so they cannot be continued: `.invalidArgument`.
    public init(resuming model: LearnedModel, count: Int, lastKey: UInt64) throws(LearnedIndexError) {
        guard case .piecewiseLinear(let pgm) = model else { throw .invalidArgument }
        kind = model.kind
        state = .piecewiseLinear(try PiecewiseLinearModel.Builder(resuming: pgm, count: count, lastKey: lastKey))
        self.count = count
        self.lastKey = lastKey
    }

    /// Keys added so far.
    public var keyCount: Int { count }

    /// Adds the next keys; they must continue the ascending order of everything added before.
    public mutating func add(_ keys: UnsafeBufferPointer<UInt64>) throws(LearnedIndexError) {
        guard !keys.isEmpty else { return }
        if count > 0 && keys[0] < lastKey { throw .unsortedKeys(position: count) }
        switch state {
        case .piecewiseLinear(var builder):
            state = .collecting([])
            defer { state = .piecewiseLinear(builder) }
            try builder.add(keys)
        case .collecting(var collected):
            state = .collecting([])
            defer { state = .collecting(collected) }
            var previous = count > 0 ? lastKey : keys[0]
            for (offset, key) in keys.enumerated() {
                if key < previous { throw .unsortedKeys(position: count + offset) }
                previous = key
            }
            collected.append(contentsOf: keys)
        }
        count += keys.count
        lastKey = keys[keys.count - 1]
    }

    /// Builds the model from everything added.
    public consuming func finish() throws(LearnedIndexError) -> LearnedModel {
        switch (state, kind) {
        case (.piecewiseLinear(let builder), _):
            return .piecewiseLinear(try builder.finish())
        case (.collecting(let keys), .recursive(let leaves)):
            return try keys.withUnsafeBufferPointer { (buffer) throws(LearnedIndexError) in
                .recursive(try RecursiveModelIndex(keys: buffer, leafCount: leaves))
            }
        case (.collecting(let keys), _):
            return try keys.withUnsafeBufferPointer { (buffer) throws(LearnedIndexError) in
                .linear(try LinearModel(keys: buffer))
            }
        }
    }
}
