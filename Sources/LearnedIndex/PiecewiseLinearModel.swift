/// The line of one segment, stored as PGM-index stores it: a single-precision slope and an integer
/// intercept (the prediction at the segment's first key, which is stored beside it), 8 bytes. The fitter
/// rounds its line to these before verifying it, so the error bound holds for what is stored.
@frozen
public struct SegmentLine: Equatable, Sendable {
    public var slope: Float
    public var intercept: Int32

    @inlinable
    public init(slope: Float, intercept: Int32) {
        self.slope = slope
        self.intercept = intercept
    }

    /// The stored line of `function`, when its slope and intercept are representable exactly.
    init?(exactly function: LinearFunction) {
        guard let slope = Float(exactly: function.slope), let intercept = Int32(exactly: function.intercept) else {
            return nil
        }
        self.init(slope: slope, intercept: intercept)
    }

    /// The line as lookups evaluate it, from the segment's first key.
    @inlinable
    public func function(origin: UInt64) -> LinearFunction {
        LinearFunction(origin: origin, slope: Double(slope), intercept: Double(intercept))
    }
}

/// A PGM-style learned index: an optimal piecewise-linear model of the lower-bound function whose error
/// is at most `epsilon` for every query, present in the keys or not, with recursive levels that route a
/// query to its segment the same way (error `internalEpsilon` over the level below's first keys). Levels
/// are added only while the top one has more than `directSearchLimit` segments: a branch-free search
/// over the cached first keys that keeps a quarter of them a step (three independent loads) routes
/// faster than a level's prediction and search, and adds no bytes.
///
/// Guarantee by construction: a segment boundary always falls on a step boundary; each segment is fitted
/// to the last end of every lower-bound step it covers, and to the first end too of a step that follows a
/// repeated key (and of the model's first step); each finished segment is checked exactly, with the stored
/// line and the lookup-time arithmetic, at every point it was fitted to (a failing segment is split).
/// Monotone evaluation carries the bound to every query between the points: a query in a step whose first
/// end was not fitted lies above the previous step's last end, one position below, so its window reaches
/// one position higher (`2ε + 2` positions in all). A segment that begins with such a step starts at that
/// step's key, as PGM-index's do; the queries below it, routed to the segment before, are predicted no
/// higher than it predicts for its first key, which is within ε of their lower bound.
public struct PiecewiseLinearModel: Equatable, Sendable {
    public let epsilon: Int
    public let internalEpsilon: Int
    public let keyCount: Int
    /// First keys of every level's segments, level 0 (over the data) first.
    @usableFromInline let starts: [UInt64]
    @usableFromInline let lines: [SegmentLine]
    /// Level `l` occupies `levelOffsets[l]..<levelOffsets[l + 1]` of `starts` and `lines`.
    @usableFromInline let levelOffsets: [Int]

    /// The largest ε accepted; larger windows make no sense next to a plain binary search.
    public static let maximumEpsilon = 1 << 20
    /// The ε of the routing levels: small, so routing costs a couple of cache lines per level.
    public static let defaultInternalEpsilon = 16
    /// The most segments the top level holds: their first keys (256 KiB) stay in a core's L2 cache.
    public static let defaultDirectSearchLimit = 1 << 15

    @usableFromInline
    init(epsilon: Int, internalEpsilon: Int, keyCount: Int, starts: [UInt64], lines: [SegmentLine], levelOffsets: [Int]) {
        self.epsilon = epsilon
        self.internalEpsilon = internalEpsilon
        self.keyCount = keyCount
        self.starts = starts
        self.lines = lines
        self.levelOffsets = levelOffsets
    }

    /// Learns sorted `keys`; throws on an empty or unsorted buffer, an out-of-range ε or a limit below 1.
    public init(
        keys: UnsafeBufferPointer<UInt64>, epsilon: Int, directSearchLimit: Int = defaultDirectSearchLimit
    ) throws(LearnedIndexError) {
        var builder = try Builder(epsilon: epsilon, directSearchLimit: directSearchLimit)
        try builder.add(keys)
        self = try builder.finish()
    }

    /// The number of segments over the data (level 0).
    public var segmentCount: Int { levelOffsets[1] }

    /// The number of levels, the data level included.
    public var levelCount: Int { levelOffsets.count - 1 }

    /// Bytes of model state: segment keys and lines of every level.
    public var byteCount: Int {
        starts.count * MemoryLayout<UInt64>.size + lines.count * MemoryLayout<SegmentLine>.size + levelOffsets.count * 8
    }

    /// The most keys a model learns: intercepts are 32-bit positions.
    public static let maximumKeyCount = Int(Int32.max) - 2 * maximumEpsilon - 2

    /// The first key, slope and intercept of data segment `index` (for inspection and plotting).
    public func segment(_ index: Int) -> (firstKey: UInt64, line: SegmentLine)? {
        guard index >= 0 && index < segmentCount else { return nil }
        return (starts[index], lines[index])
    }

    /// A window of at most `2ε + 2` positions containing the lower bound of `key`.
    @inlinable
    public func window(for key: UInt64) -> SearchWindow {
        starts.withUnsafeBufferPointer { starts in
            lines.withUnsafeBufferPointer { lines in
                levelOffsets.withUnsafeBufferPointer { offsets in
                    let top = offsets.count &- 2
                    // The top level is small (or the only one): search its first keys directly.
                    var segment = Self.route(key, starts, lo: offsets[top], hi: offsets[top &+ 1])
                    var level = top
                    while level > 0 {
                        let lo = offsets[level &- 1]
                        let hi = offsets[level]
                        let predicted = Self.predict(
                            key, segment: segment, levelEnd: offsets[level &+ 1], starts, lines, limit: hi &- lo)
                        let wlo = max(0, predicted &- internalEpsilon)
                        // The level's window holds the key's lower bound among its first keys; the upper
                        // bound, one further when the key is a first key itself, may be one past it.
                        let whi = min(hi &- lo, predicted &+ internalEpsilon &+ 2)
                        // The default ε gives windows of at most 34 keys, searched without a branch.
                        let next = whi &- wlo < 64
                            ? BoundedSearch.shortUpperBound(of: key, in: starts, lo: lo &+ wlo, hi: lo &+ whi, firstStep: 32)
                            : BoundedSearch.upperBound(of: key, in: starts, lo: lo &+ wlo, hi: lo &+ whi)
                        segment = max(lo, next &- 1)
                        level &-= 1
                    }
                    let predicted = Self.predict(key, segment: segment, levelEnd: offsets[1], starts, lines, limit: keyCount)
                    return SearchWindow(
                        lo: max(0, predicted &- epsilon), hi: min(keyCount, predicted &+ epsilon &+ 1), predicted: predicted)
                }
            }
        }
    }

    /// The segment of level `lo..<hi` whose range holds `key`: the last whose first key is not above it
    /// (the level's first key is 0, so one always exists).
    @inlinable
    static func route(_ key: UInt64, _ starts: UnsafeBufferPointer<UInt64>, lo: Int, hi: Int) -> Int {
        max(lo, BoundedSearch.quaternaryUpperBound(of: key, in: starts, lo: lo, hi: hi) &- 1)
    }

    /// The prediction of segment `segment` (of a level ending at `levelEnd`), no higher than the next
    /// segment's prediction at its own first key: a query between a segment's last fitted key and the
    /// next segment's first key (a step the next segment begins at its last end) takes the lower of the two.
    @inlinable
    static func predict(
        _ key: UInt64, segment: Int, levelEnd: Int, _ starts: UnsafeBufferPointer<UInt64>,
        _ lines: UnsafeBufferPointer<SegmentLine>, limit: Int
    ) -> Int {
        let predicted = lines[segment].function(origin: starts[segment]).position(of: key, limit: limit)
        guard segment &+ 1 < levelEnd else { return predicted }
        return min(predicted, max(0, Int(lines[segment &+ 1].intercept)))
    }
}

extension PiecewiseLinearModel {
    /// Learns keys fed in sorted chunks, in O(1) amortised work per key and memory bounded by the longest
    /// segment (capped), so a caller can stop between chunks.
    public struct Builder {
        public let epsilon: Int
        /// Levels are added while the top one has more segments than this.
        public let directSearchLimit: Int
        private var segmenter: Segmenter
        private var count = 0
        private var lastKey: UInt64 = 0

        public init(
            epsilon: Int, directSearchLimit: Int = PiecewiseLinearModel.defaultDirectSearchLimit
        ) throws(LearnedIndexError) {
            guard epsilon >= 0 && epsilon <= PiecewiseLinearModel.maximumEpsilon && directSearchLimit >= 1 else {
                throw .invalidArgument
            }
            self.epsilon = epsilon
            self.directSearchLimit = directSearchLimit
            self.segmenter = Segmenter(epsilon: epsilon)
        }

        /// Continues `model` after its first `count` keys, the last of which is `lastKey`: the data
        /// segments that start at or below `lastKey` are kept (their windows for keys up to `lastKey` stay
        /// exact, as those keys keep their positions), and keys added from here on get new segments from
        /// position `count`. A learned run can so be extended, or its tail replaced, without relearning the
        /// keys before it. Throws when `count` is outside `1...model.keyCount`.
        public init(resuming model: PiecewiseLinearModel, count: Int, lastKey: UInt64) throws(LearnedIndexError) {
            guard count >= 1 && count <= model.keyCount else { throw .invalidArgument }
            try self.init(epsilon: model.epsilon)
            let kept = model.starts.withUnsafeBufferPointer {
                BoundedSearch.upperBound(of: lastKey, in: $0, lo: 0, hi: model.segmentCount)
            }
            segmenter = Segmenter(
                epsilon: model.epsilon, starts: Array(model.starts[0..<kept]), lines: Array(model.lines[0..<kept]))
            self.count = count
            self.lastKey = lastKey
        }

        /// Keys seen so far.
        public var keyCount: Int { count }

        /// Adds the next keys; they must continue the ascending order of everything added before, and
        /// stay within `maximumKeyCount` in all.
        public mutating func add(_ keys: UnsafeBufferPointer<UInt64>) throws(LearnedIndexError) {
            guard keys.count <= PiecewiseLinearModel.maximumKeyCount &- count else { throw .invalidArgument }
            for key in keys {
                if count > 0 {
                    if key < lastKey { throw .unsortedKeys(position: count) }
                    if key == lastKey {
                        count += 1
                        continue
                    }
                }
                // A new distinct key ends the step that began after the previous one.
                let first: UInt64 = count == 0 ? 0 : lastKey &+ 1
                segmenter.add(LowerBoundStep(first: first, last: key, position: count))
                lastKey = key
                count += 1
            }
        }

        /// Adds the next key at `position`, which may skip positions (a heap position model: the row
        /// ordinals of the rows a key maps to leave gaps where other rows live). Keys must not descend and
        /// positions must ascend (a repeated key keeps its first position, the lower bound); the window of
        /// any query then holds the position of the first key not below it, or one past the last.
        public mutating func add(_ key: UInt64, at position: Int) throws(LearnedIndexError) {
            guard position >= count && position < PiecewiseLinearModel.maximumKeyCount else { throw .invalidArgument }
            if count > 0 {
                if key < lastKey { throw .unsortedKeys(position: position) }
                if key == lastKey {
                    count = position &+ 1
                    return
                }
            }
            let first: UInt64 = count == 0 ? 0 : lastKey &+ 1
            segmenter.add(LowerBoundStep(first: first, last: key, position: position))
            lastKey = key
            count = position &+ 1
        }

        /// Closes the last step and builds the routing levels.
        public consuming func finish() throws(LearnedIndexError) -> PiecewiseLinearModel {
            guard count > 0 else { throw .emptyKeySet }
            if lastKey != .max {
                segmenter.add(LowerBoundStep(first: lastKey &+ 1, last: .max, position: count))
            }
            var (starts, lines) = segmenter.finish()
            var offsets = [0, starts.count]
            var levelStart = 0
            while starts.count &- levelStart > directSearchLimit {
                let below = Array(starts[levelStart...])
                var upper = Segmenter(epsilon: PiecewiseLinearModel.defaultInternalEpsilon)
                below.withUnsafeBufferPointer { for step in LowerBoundSteps($0) { upper.add(step) } }
                let (levelStarts, levelLines) = upper.finish()
                // Each level must shrink; a level that cannot is searched directly instead.
                guard levelStarts.count * 2 <= below.count else { break }
                levelStart = starts.count
                starts += levelStarts
                lines += levelLines
                offsets.append(starts.count)
            }
            return PiecewiseLinearModel(
                epsilon: epsilon, internalEpsilon: PiecewiseLinearModel.defaultInternalEpsilon, keyCount: count,
                starts: starts, lines: lines, levelOffsets: offsets)
        }
    }
}

/// Cuts a stream of lower-bound steps into verified segments of error at most ε.
struct Segmenter {
    let epsilon: Int
    private var fitter: SegmentFitter
    /// A step of the open segment: its last end and position. Its first end follows the previous
    /// step's last end (or is `segmentFirst`), so it need not be kept.
    private struct Point {
        var last: UInt64
        var position: Int
    }

    /// The steps of the open segment, kept to verify it when it closes.
    private var pending: [Point] = []
    /// The first key of the open segment: its first step's first end when that was fitted, else its key.
    private var segmentFirst: UInt64 = 0
    /// The step added last, in this segment or the one before.
    private var previous: Point?
    private(set) var starts: [UInt64] = []
    private(set) var lines: [SegmentLine] = []
    /// Bounds the memory of a build (16 MiB of pending steps): a segment longer than this is closed and
    /// the next one continues.
    static let maximumPendingSteps = 1 << 20

    init(epsilon: Int, starts: [UInt64] = [], lines: [SegmentLine] = []) {
        self.epsilon = epsilon
        self.fitter = SegmentFitter(epsilon: epsilon)
        self.starts = starts
        self.lines = lines
    }

    mutating func add(_ step: LowerBoundStep) {
        if pending.count == Self.maximumPendingSteps { close() }
        // Only a step one position above the previous one can leave its first end to monotonicity (and,
        // beginning a segment, to the clamp of the segment before: see `predict`).
        let lastEndOnly = previous.map { step.position &- $0.position == 1 } ?? false
        let fitted = lastEndOnly ? LowerBoundStep(first: step.last, last: step.last, position: step.position) : step
        let point = Point(last: step.last, position: step.position)
        previous = point
        if !pending.isEmpty {
            if Self.fit(fitted, into: &fitter) {
                pending.append(point)
                return
            }
            close()
        }
        // A lone step always fits: both its ends share one position.
        segmentFirst = fitted.first
        _ = Self.fit(fitted, into: &fitter)
        pending.append(point)
    }

    consuming func finish() -> (starts: [UInt64], lines: [SegmentLine]) {
        close()
        return (starts, lines)
    }

    /// Feeds both ends of `step`; false when the fitter refused either (it may then hold the first end,
    /// which only narrows the line it offers).
    private static func fit(_ step: LowerBoundStep, into fitter: inout SegmentFitter) -> Bool {
        guard fitter.add(x: step.first, y: step.position) else { return false }
        return step.last == step.first || fitter.add(x: step.last, y: step.position)
    }

    /// Pending step `index` as fitted: with its first end when it follows a repeated key (or begins the
    /// open segment with it), else at its last end alone. A segment that begins at it starts at its first.
    private func step(_ index: Int) -> LowerBoundStep {
        let point = pending[index]
        if index == 0 { return LowerBoundStep(first: segmentFirst, last: point.last, position: point.position) }
        let previous = pending[index &- 1]
        let first = point.position &- previous.position > 1 ? previous.last &+ 1 : point.last
        return LowerBoundStep(first: first, last: point.last, position: point.position)
    }

    /// The first pending step in `begin..<end` that `line` misses by more than ε at a fitted point,
    /// evaluated exactly as lookups evaluate it (no upper clamp: clamping to the key count only shrinks
    /// errors).
    private func firstViolation(_ line: LinearFunction, from begin: Int, to end: Int) -> Int? {
        for index in begin..<end {
            let step = step(index)
            if abs(line.position(of: step.last, limit: .max) &- step.position) > epsilon { return index }
            if step.first != step.last && abs(line.position(of: step.first, limit: .max) &- step.position) > epsilon {
                return index
            }
        }
        return nil
    }

    private mutating func close() {
        guard !pending.isEmpty else { return }
        let line = fitter.line()
        if let stored = SegmentLine(exactly: line), firstViolation(line, from: 0, to: pending.count) == nil {
            emit(first: segmentFirst, stored)
        } else {
            emitSplitting()
        }
        pending.removeAll(keepingCapacity: true)
        fitter.reset()
    }

    /// The rare path where rounding broke a fitted line: refit greedily, shortening each segment before
    /// its first failing step until the check passes (a single step is exact, so this ends).
    private mutating func emitSplitting() {
        var scratch = SegmentFitter(epsilon: epsilon)
        var begin = 0
        while begin < pending.count {
            let first = step(begin)
            func refit(_ end: Int) -> Int {
                scratch.reset()
                var index = begin
                while index < end && Self.fit(step(index), into: &scratch) { index += 1 }
                return max(index, begin + 1)
            }
            var end = refit(pending.count)
            while true {
                let line = scratch.line()
                let stored = SegmentLine(exactly: line)
                let bad = stored == nil ? begin : firstViolation(line, from: begin, to: end)
                if let stored, bad == nil {
                    emit(first: first.first, stored)
                    break
                }
                end = max(bad ?? begin, begin + 1)
                if end == begin + 1 {
                    // A lone step is exact on a flat line (positions fit 32 bits: see maximumKeyCount).
                    emit(first: first.first, SegmentLine(slope: 0, intercept: Int32(truncatingIfNeeded: first.position)))
                    break
                }
                end = refit(end)
            }
            begin = end
        }
    }

    private mutating func emit(first: UInt64, _ line: SegmentLine) {
        starts.append(first)
        lines.append(line)
    }
}
