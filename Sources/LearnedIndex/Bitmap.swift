/// A fixed-size set of positions, one bit each (dead-entry marks).
public struct Bitmap: Equatable, Sendable {
    @usableFromInline var words: [UInt64]
    public let count: Int

    public init(count: Int) {
        self.count = count
        self.words = [UInt64](repeating: 0, count: (count + 63) / 64)
    }

    @inlinable
    public func contains(_ position: Int) -> Bool {
        guard position >= 0 && position < count else { return false }
        return words[position &>> 6] & (1 &<< UInt64(position & 63)) != 0
    }

    /// Sets `position`; returns false when it was already set or is out of range.
    @discardableResult
    public mutating func insert(_ position: Int) -> Bool {
        guard position >= 0 && position < count, !contains(position) else { return false }
        words[position >> 6] |= 1 << UInt64(position & 63)
        return true
    }

    /// How many positions are set.
    public var setCount: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }
}
