/// A learned cold run plus a hot buffer of newer entries: readers see both, `merge` folds the hot entries
/// (and drops dead ones) into a new cold run.
public struct HotColdIndex: Sendable {
    public private(set) var cold: ColdRun
    public private(set) var hot: HotBuffer
    public let kind: ModelKind

    public init(kind: ModelKind) {
        self.cold = ColdRun()
        self.hot = HotBuffer()
        self.kind = kind
    }

    public mutating func insert(_ entry: Entry) {
        hot.append(entry)
    }

    /// Deletes one live entry equal to `entry`: marks it dead in the cold run or removes it from the hot
    /// buffer. False when there is no such entry.
    public mutating func delete(_ entry: Entry) -> Bool {
        for position in cold.positions(of: entry.key)
        where cold.payloads[position] == entry.payload && !cold.isDead(at: position) {
            return cold.markDead(at: position)
        }
        return hot.remove(entry)
    }

    /// The payloads of live entries with `key`, in ascending order.
    public mutating func lookup(_ key: UInt64) -> [UInt64] {
        entries(from: key, to: key == .max ? nil : key &+ 1).map(\.payload)
    }

    /// Live entries with keys in `[from, to)`, in (key, payload) order.
    public mutating func range(from: UInt64, to: UInt64) -> [Entry] {
        guard from < to else { return [] }
        return entries(from: from, to: to)
    }

    /// Live entries with keys from `from` up to `to` (exclusive; nil for the end of the key space).
    private mutating func entries(from: UInt64, to: UInt64?) -> [Entry] {
        let coldRange = cold.lowerBound(of: from)..<(to.map { cold.lowerBound(of: $0) } ?? cold.count)
        let hotSorted = hot.sortedEntries()
        let hotStart = hotSorted.partitionPoint { $0.key >= from }
        let hotEnd = to.map { bound in hotSorted.partitionPoint { $0.key >= bound } } ?? hotSorted.count
        var result: [Entry] = []
        var position = coldRange.lowerBound
        var next = hotStart
        while position < coldRange.upperBound || next < hotEnd {
            if position < coldRange.upperBound && cold.isDead(at: position) {
                position += 1
                continue
            }
            if next == hotEnd || (position < coldRange.upperBound && !(hotSorted[next] < cold.entry(at: position))) {
                result.append(cold.entry(at: position))
                position += 1
            } else {
                result.append(hotSorted[next])
                next += 1
            }
        }
        return result
    }

    /// Folds the hot buffer into a new cold run, dropping dead entries.
    public mutating func merge() throws(LearnedIndexError) {
        cold = try cold.merging(hot.sortedEntries(), kind: kind)
        hot.removeAll()
    }
}

extension Array {
    /// The first index whose element satisfies `predicate`, which must be false then true along the array.
    @inlinable
    public func partitionPoint(where predicate: (Element) -> Bool) -> Int {
        var low = 0
        var high = count
        while low < high {
            let middle = low + (high - low) / 2
            if predicate(self[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
