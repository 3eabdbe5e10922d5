/// Learns where a table's rows live when the heap is in key order, or nearly (a time series, a table
/// loaded sorted): fed the rows in heap order, it keeps a model from key to heap position for the rows
/// that follow key order (the covered rows) and names every other row, which the caller keeps as an
/// explicit (key, position) entry. Positions are row ordinals in the heap (a block times the rows a block
/// holds, plus the row's place in it), so they leave gaps where other rows lie.
///
/// The model is an ordinary `PiecewiseLinearModel` over the covered rows' (key, position) pairs: the
/// window of any query holds the position of the first covered row whose key is not below it (or one
/// past the last). The covered rows of keys `[a, b]` so lie in positions `window(a).lo ..< window(b + 1).hi`
/// (to the end when `b` is the largest key), and a scan finds them by rechecking the rows there.
///
/// A row is covered when its position follows the last covered row's, its key is not below that row's,
/// and its key is not above at least half of the `lookahead` rows after it. So one late row (a key behind
/// its neighbours) is explicit alone, and one early row (a key far ahead) does not shut out every row
/// after it, as it would if rows were covered greedily.
public struct HeapOrderBuilder {
    public struct Verdict: Equatable, Sendable {
        public var key: UInt64
        public var position: Int
        public var covered: Bool
    }

    public let lookahead: Int
    private var keys: [UInt64]
    private var positions: [Int]
    /// The pending rows are ring slots `head`, `head + 1`, ... (`pending` of them), oldest first.
    private var head = 0
    private var pending = 0
    private var model: PiecewiseLinearModel.Builder
    private var lastKey: UInt64 = 0
    private var lastPosition = -1
    /// Rows covered so far (since the resumption, for a resumed model).
    public private(set) var coveredCount = 0

    /// The most rows a verdict waits for.
    public static let maximumLookahead = 1 << 10

    public init(epsilon: Int, lookahead: Int) throws(LearnedIndexError) {
        guard lookahead >= 0 && lookahead <= Self.maximumLookahead else { throw .invalidArgument }
        self.lookahead = lookahead
        self.model = try PiecewiseLinearModel.Builder(epsilon: epsilon)
        keys = Array(repeating: 0, count: lookahead + 1)
        positions = Array(repeating: 0, count: lookahead + 1)
    }

    /// Continues `model`, learned by a builder over rows up to its key count, the last of them with key
    /// `lastKey`: rows added from here on are judged and learned as if they had followed those rows, which
    /// need not be seen again (a heap layout so extends its model by the rows appended since). The model's
    /// windows for keys up to `lastKey` keep holding the rows it covered.
    public init(resuming model: PiecewiseLinearModel, lastKey: UInt64, lookahead: Int) throws(LearnedIndexError) {
        try self.init(epsilon: model.epsilon, lookahead: lookahead)
        self.model = try PiecewiseLinearModel.Builder(resuming: model, count: model.keyCount, lastKey: lastKey)
        self.lastKey = lastKey
        lastPosition = model.keyCount &- 1
    }

    /// The largest key covered so far (0 before any row is).
    public var lastCoveredKey: UInt64 { lastKey }

    /// Adds the next row in heap order (positions ascending, below `PiecewiseLinearModel.maximumKeyCount`
    /// to be covered); returns the verdict on the row `lookahead` rows back, once there is one.
    public mutating func add(key: UInt64, position: Int) throws(LearnedIndexError) -> Verdict? {
        let slot = (head &+ pending) % keys.count
        keys[slot] = key
        positions[slot] = position
        pending &+= 1
        return pending == keys.count ? try decide() : nil
    }

    /// The verdict on the oldest row still pending (after the last `add`), or nil when none is.
    public mutating func drain() throws(LearnedIndexError) -> Verdict? {
        pending > 0 ? try decide() : nil
    }

    /// The model of the covered rows; throws `emptyKeySet` when none was covered. Rows still pending are
    /// left out: drain them first.
    public consuming func finish() throws(LearnedIndexError) -> PiecewiseLinearModel {
        try model.finish()
    }

    /// Decides on the oldest pending row against the rows pending after it, and removes it.
    private mutating func decide() throws(LearnedIndexError) -> Verdict {
        let key = keys[head]
        let position = positions[head]
        var notBelow = 0
        var slot = head
        for _ in 1..<pending {
            slot = slot &+ 1 == keys.count ? 0 : slot &+ 1
            if keys[slot] >= key { notBelow &+= 1 }
        }
        let covered = position > lastPosition && position < PiecewiseLinearModel.maximumKeyCount
            && (lastPosition < 0 || key >= lastKey) && 2 &* notBelow >= pending &- 1
        if covered {
            try model.add(key, at: position)
            lastKey = key
            lastPosition = position
            coveredCount &+= 1
        }
        head = head &+ 1 == keys.count ? 0 : head &+ 1
        pending &-= 1
        return Verdict(key: key, position: position, covered: covered)
    }
}
