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
        repeat { try builder.add(keys) } while try builder.nextPass()
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
        case .piecewiseLinear(let model): min(2 * model.epsilon + 2, model.keyCount + 1)
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

/// Learns any model from keys fed in sorted chunks. The piecewise-linear model learns as keys arrive, in
/// one pass; the others span the whole run with one line, so they learn in passes over the same keys (two
/// for the linear model, three for the RMI), each fed in chunks, holding only their lines: `nextPass` ends
/// a pass and says whether the keys must be fed again.
public struct ModelBuilder {
    private enum State {
        case piecewiseLinear(PiecewiseLinearModel.Builder)
        case linear(LinearModel.Trainer)
        case recursive(RecursiveModelIndex.Trainer)
    }

    public let kind: ModelKind
    private var state: State
    private var count = 0
    private var lastKey: UInt64 = 0
    /// The keys of the first pass, which every later pass must repeat.
    private var passKeys: Int?
    private var passesDone = false

    public init(kind: ModelKind) throws(LearnedIndexError) {
        self.kind = kind
        switch kind {
        case .piecewiseLinear(let epsilon):
            state = .piecewiseLinear(try PiecewiseLinearModel.Builder(epsilon: epsilon))
        case .recursive(let leaves):
            state = .recursive(try RecursiveModelIndex.Trainer(leafCount: leaves))
        case .linear:
            state = .linear(LinearModel.Trainer())
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

    /// Keys added so far in this pass.
    public var keyCount: Int { count }

    /// Adds the next keys; they must continue the ascending order of everything added before in this pass.
    public mutating func add(_ keys: UnsafeBufferPointer<UInt64>) throws(LearnedIndexError) {
        guard !keys.isEmpty else { return }
        if count > 0 && keys[0] < lastKey { throw .unsortedKeys(position: count) }
        switch state {
        case .piecewiseLinear(var builder):
            state = .linear(LinearModel.Trainer())
            defer { state = .piecewiseLinear(builder) }
            try builder.add(keys)
        case .linear, .recursive:
            guard !passesDone, passKeys.map({ count + keys.count <= $0 }) ?? true else { throw .invalidArgument }
            var previous = count > 0 ? lastKey : keys[0]
            for (offset, key) in keys.enumerated() {
                if key < previous { throw .unsortedKeys(position: count + offset) }
                previous = key
            }
            // The trainer is taken out of `state` while it learns, so that its leaves are never copied.
            let base = count
            switch state {
            case .linear(var trainer):
                state = .linear(LinearModel.Trainer())
                for (offset, key) in keys.enumerated() { trainer.add(key, at: base + offset) }
                state = .linear(trainer)
            case .recursive(var trainer):
                state = .linear(LinearModel.Trainer())
                for (offset, key) in keys.enumerated() { trainer.add(key, at: base + offset) }
                state = .recursive(trainer)
            case .piecewiseLinear:
                break
            }
        }
        count += keys.count
        lastKey = keys[keys.count - 1]
    }

    /// Ends a pass over the keys; true when the same keys, from the first, must be added once more.
    public mutating func nextPass() throws(LearnedIndexError) -> Bool {
        let more: Bool
        switch state {
        case .piecewiseLinear:
            return false
        case .linear, .recursive:
            guard !passesDone else { return false }
            guard count > 0 else { throw .emptyKeySet }
            guard passKeys.map({ $0 == count }) ?? true else { throw .invalidArgument }
            passKeys = count
            switch state {
            case .linear(var trainer):
                state = .linear(LinearModel.Trainer())
                more = trainer.endPass(count: count)
                state = .linear(trainer)
            case .recursive(var trainer):
                state = .linear(LinearModel.Trainer())
                more = try trainer.endPass(count: count)
                state = .recursive(trainer)
            case .piecewiseLinear:
                more = false
            }
        }
        passesDone = !more
        count = 0
        lastKey = 0
        return more
    }

    /// Builds the model from everything added; the multi-pass models need every pass done first.
    public consuming func finish() throws(LearnedIndexError) -> LearnedModel {
        switch state {
        case .piecewiseLinear(let builder):
            return .piecewiseLinear(try builder.finish())
        case .linear(let trainer):
            guard let model = trainer.model else { throw passKeys == nil && count == 0 ? .emptyKeySet : .invalidArgument }
            return .linear(model)
        case .recursive(let trainer):
            guard let model = trainer.model else { throw passKeys == nil && count == 0 ? .emptyKeySet : .invalidArgument }
            return .recursive(model)
        }
    }
}
