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
    /// Below this many candidates a linear scan beats halving.
    @usableFromInline
    static let linearCutoff = 8

    /// The first position in `lo..<hi` whose key is not less than `key`, or `hi` when there is none.
    /// Equals the lower bound over the whole buffer whenever that lower bound lies in `lo...hi`.
    @inlinable
    public static func lowerBound(
        of key: UInt64, in keys: UnsafeBufferPointer<UInt64>, lo: Int, hi: Int
    ) -> Int {
        var base = lo
        var count = hi &- lo
        // Branch-free halving: the answer always lies in base...base+count.
        while count > linearCutoff {
            let half = count &>> 1
            base = keys[base &+ half &- 1] < key ? base &+ half : base
            count &-= half
        }
        var end = base &+ count
        while base < end {
            if keys[base] >= key { end = base; break }
            base &+= 1
        }
        return end
    }

    /// The lower bound of `key` over the whole buffer, with no model: the binary-search baseline.
    @inlinable
    public static func lowerBound(of key: UInt64, in keys: UnsafeBufferPointer<UInt64>) -> Int {
        lowerBound(of: key, in: keys, lo: 0, hi: keys.count)
    }

    /// The lower bound of `key` given a window that contains it: gallops out from the prediction, so an
    /// accurate model touches one or two cache lines instead of halving the whole window.
    @inlinable
    public static func lowerBound(
        of key: UInt64, in keys: UnsafeBufferPointer<UInt64>, window: SearchWindow
    ) -> Int {
        let lo = window.lo
        let hi = window.hi
        let start = min(window.predicted, hi &- 1)
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
