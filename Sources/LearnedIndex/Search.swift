/// A closed range of positions `lo...hi` in a sorted run of `n` keys (`0 <= lo <= hi <= n`) that contains
/// the lower bound of the key it was predicted for, and the model's prediction inside it.
@frozen
public struct SearchWindow: Equatable, Sendable {
    public var lo: Int
    public var hi: Int
    /// Where the model expects the lower bound (`lo...hi`); a search starts here.
    public var predicted: Int

    @inlinable
    public init(lo: Int, hi: Int, predicted: Int) {
        self.lo = lo
        self.hi = hi
        self.predicted = min(max(predicted, lo), hi)
    }

    @inlinable
    public init(lo: Int, hi: Int) {
        self.init(lo: lo, hi: hi, predicted: lo &+ (hi &- lo) / 2)
    }

    /// How many positions the window spans.
    @inlinable
    public var width: Int { hi &- lo &+ 1 }
}

/// Bounded searches over sorted keys. Windows come from models, so they are trusted to lie inside the
/// buffer; every caller clamps them.
public enum BoundedSearch {
    /// The first position in `lo..<hi` whose key is not less than `key`, or `hi` when there is none.
    /// Equals the lower bound over the whole buffer whenever that lower bound lies in `lo...hi`.
    @inlinable
    public static func lowerBound(
        of key: UInt64, in keys: UnsafeBufferPointer<UInt64>, lo: Int, hi: Int
    ) -> Int {
        partitionPoint(in: keys, lo: lo, hi: hi) { $0 < key }
    }

    /// The first position in `lo..<hi` whose key is greater than `key`, or `hi` when there is none.
    @inlinable
    public static func upperBound(
        of key: UInt64, in keys: UnsafeBufferPointer<UInt64>, lo: Int, hi: Int
    ) -> Int {
        partitionPoint(in: keys, lo: lo, hi: hi) { $0 <= key }
    }

    /// The first position in `lo..<hi` whose key fails `before` (which holds for a prefix), or `hi`.
    /// Halving: the loop runs a number of times that depends only on `hi - lo`. The select on the key is
    /// compiled as a branch on x86 (LLVM converts selects in loops), which suits windows whose keys come
    /// from memory: the predicted side's load is issued before the comparison is known.
    @inlinable @inline(__always)
    static func partitionPoint(
        in keys: UnsafeBufferPointer<UInt64>, lo: Int, hi: Int, _ before: (UInt64) -> Bool
    ) -> Int {
        var base = lo
        var count = hi &- lo
        guard count > 0 else { return lo }
        // The answer always lies in base...base+count.
        while count > 1 {
            let half = count &>> 1
            base = before(keys[base &+ half &- 1]) ? base &+ half : base
            count &-= half
        }
        return before(keys[base]) ? base &+ 1 : base
    }

    /// The first position in `lo..<hi` whose key is greater than `key`, or `hi`, for long ranges (a
    /// model's segment starts): each step compares three keys, independent loads, and keeps a quarter of
    /// the range, so a lookup waits on half as many loads in a row as halving takes.
    @inlinable
    public static func quaternaryUpperBound(
        of key: UInt64, in keys: UnsafeBufferPointer<UInt64>, lo: Int, hi: Int
    ) -> Int {
        var base = lo
        var count = hi &- lo
        // The answer always lies in base...base+count.
        while count > 15 {
            let quarter = count &>> 2
            let passed = (keys[base &+ quarter &- 1] <= key ? 1 : 0) &+ (keys[base &+ 2 &* quarter &- 1] <= key ? 1 : 0)
                &+ (keys[base &+ 3 &* quarter &- 1] <= key ? 1 : 0)
            base &+= passed &* quarter
            // Below the last quarter, the first key that is greater lies at most a quarter on.
            count = passed == 3 ? count &- 3 &* quarter : quarter &- 1
        }
        return shortUpperBound(of: key, in: keys, lo: base, hi: base &+ count, firstStep: 8)
    }

    /// The first position in `lo..<hi` whose key is greater than `key`, or `hi`, for fewer than
    /// `2 * firstStep` keys held in cache (a routing level's): halving steps of `firstStep`, half that, ...,
    /// 1, each a select. A constant `firstStep` lets the compiler unroll them; in a loop whose trip count
    /// it does not know, LLVM's x86 backend turns the select into a branch, which mispredicts half the time
    /// on a search (as `partitionPoint` is compiled). Both tests of a step are evaluated, so neither
    /// becomes a branch of its own.
    @inlinable @inline(__always)
    static func shortUpperBound(
        of key: UInt64, in keys: UnsafeBufferPointer<UInt64>, lo: Int, hi: Int, firstStep: Int
    ) -> Int {
        guard lo < hi else { return lo }
        let last = hi &- 1
        var base = lo
        var step = firstStep
        while step > 0 {
            let passed = keys[min(base &+ step &- 1, last)] <= key
            let inside = base &+ step <= hi
            base &+= passed && inside ? step : 0
            step &>>= 1
        }
        return base
    }

    /// The lower bound of `key` over the whole buffer, with no model: the binary-search baseline.
    @inlinable
    public static func lowerBound(of key: UInt64, in keys: UnsafeBufferPointer<UInt64>) -> Int {
        lowerBound(of: key, in: keys, lo: 0, hi: keys.count)
    }

    /// Windows at most this wide (a PGM's at ε up to 39) are searched by sampling every eighth key; up to
    /// `coarseSamplingLimit`, by halving first down to at most `halvedWidth` keys; wider ones by galloping
    /// from the prediction.
    public static let samplingLimit = 80

    public static let halvedWidth = 64

    public static let coarseSamplingLimit = 4096

    /// The first position in `lo..<hi` whose key is not less than `key`, or `hi` when there is none, for a
    /// narrow window: every eighth key first (independent loads, so all the window's cache lines are fetched
    /// at once rather than one after another), then three halving steps among the eight positions the
    /// samples leave. No step depends on a comparison's outcome for its count; positions at or past `hi`
    /// count as not less than `key`. A window over `samplingLimit` keys is halved first, with a branch a
    /// step, to at most `halvedWidth`: sampling all of a wide window fetches more cache lines than
    /// overlapping lookups can afford, and the branch lets the predicted side's load start early.
    @inlinable
    public static func sampledLowerBound(
        of key: UInt64, in keys: UnsafeBufferPointer<UInt64>, lo: Int, hi: Int
    ) -> Int {
        var lo = lo
        var hi = hi
        if hi &- lo > samplingLimit {
            while hi &- lo > halvedWidth {
                let middle = lo &+ (hi &- lo) &>> 1
                if keys[middle] < key { lo = middle &+ 1 } else { hi = middle }
            }
        }
        guard lo < hi else { return lo }
        var below = 0
        var sample = lo
        while sample < hi {
            below &+= keys[sample] < key ? 1 : 0
            sample &+= 8
        }
        // The samples below `key` are a prefix: the answer is `lo` when there are none, else it lies in
        // base...base+7 (and not past `hi`).
        var base = below == 0 ? lo : lo &+ 8 &* below &- 7
        let last = hi &- 1
        base = base &+ 3 < hi && keys[min(base &+ 3, last)] < key ? base &+ 4 : base
        base = base &+ 1 < hi && keys[min(base &+ 1, last)] < key ? base &+ 2 : base
        base = base < hi && keys[min(base, last)] < key ? base &+ 1 : base
        return base
    }

    /// The lower bound of `key` given a window that contains it. An exact prediction (a linear run, or the
    /// first of a key's repeats) is confirmed by its key and the one before. Otherwise a window of up to
    /// `coarseSamplingLimit` keys (a PGM's `2ε + 2`) goes to `sampledLowerBound`, and a wider one (an RMI's
    /// or a single line's) is galloped from the prediction, so an accurate model touches one or two cache
    /// lines instead of halving the whole window.
    @inlinable
    public static func lowerBound(
        of key: UInt64, in keys: UnsafeBufferPointer<UInt64>, window: SearchWindow
    ) -> Int {
        let lo = window.lo
        let hi = window.hi
        let predicted = window.predicted
        if predicted < hi && keys[predicted] >= key && (predicted == lo || keys[predicted &- 1] < key) {
            return predicted
        }
        if hi &- lo <= coarseSamplingLimit { return sampledLowerBound(of: key, in: keys, lo: lo, hi: hi) }
        let start = min(predicted, hi &- 1)
        guard start >= lo else { return lo }
        if keys[start] < key {
            // The answer lies in start+1...hi: double the step until a key is not below `key`.
            var left = start &+ 1
            var step = 1
            while true {
                let probe = left &+ step &- 1
                if probe >= hi { return lowerBound(of: key, in: keys, lo: left, hi: hi) }
                if keys[probe] >= key { return lowerBound(of: key, in: keys, lo: left, hi: probe) }
                left = probe &+ 1
                step &<<= 1
            }
        } else {
            // The answer lies in lo...start: double the step leftward until a key is below `key`.
            var right = start
            var step = 1
            while true {
                let probe = right &- step
                if probe < lo { return lowerBound(of: key, in: keys, lo: lo, hi: right) }
                if keys[probe] < key { return lowerBound(of: key, in: keys, lo: probe &+ 1, hi: right) }
                right = probe
                step &<<= 1
            }
        }
    }
}
