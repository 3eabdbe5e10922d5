/// An index entry: a normalised key and what it points at (a heap TID, a row id).
@frozen
public struct Entry: Equatable, Hashable, Comparable, Sendable {
    public var key: UInt64
    public var payload: UInt64

    @inlinable
    public init(key: UInt64, payload: UInt64) {
        self.key = key
        self.payload = payload
    }

    @inlinable
    public static func < (a: Entry, b: Entry) -> Bool {
        a.key != b.key ? a.key < b.key : a.payload < b.payload
    }
}

/// The immutable, learned part of an index: entries sorted by (key, payload), a model over the keys, and
/// a mark per entry for entries found dead (the only thing that changes until the next merge).
public struct ColdRun: Equatable, Sendable {
    public let keys: [UInt64]
    public let payloads: [UInt64]
    /// Nil only for an empty run.
    public let model: LearnedModel?
    public private(set) var dead: Bitmap

    /// Builds a run from entries sorted by (key, payload); throws when they are not.
    public init(sorted entries: [Entry], kind: ModelKind) throws(LearnedIndexError) {
        for index in entries.indices.dropFirst() where entries[index] < entries[index - 1] {
            throw .unsortedKeys(position: index)
        }
        let keys = entries.map(\.key)
        try self.init(keys: keys, payloads: entries.map(\.payload), kind: kind)
    }

    /// Builds a run from parallel arrays, keys ascending.
    public init(keys: [UInt64], payloads: [UInt64], kind: ModelKind) throws(LearnedIndexError) {
        guard keys.count == payloads.count else { throw .invalidArgument }
        self.keys = keys
        self.payloads = payloads
        self.model = keys.isEmpty ? nil : try keys.withUnsafeBufferPointer { (buffer) throws(LearnedIndexError) in
            try LearnedModel(kind: kind, keys: buffer)
        }
        self.dead = Bitmap(count: keys.count)
    }

    init(keys: [UInt64], payloads: [UInt64], model: LearnedModel?, dead: Bitmap) {
        self.keys = keys
        self.payloads = payloads
        self.model = model
        self.dead = dead
    }

    /// An empty run.
    public init() {
        keys = []
        payloads = []
        model = nil
        dead = Bitmap(count: 0)
    }

    public var count: Int { keys.count }

    /// Entries not marked dead.
    public var liveCount: Int { count - dead.setCount }

    /// The first position whose key is not less than `key`.
    @inlinable
    public func lowerBound(of key: UInt64) -> Int {
        guard let model else { return 0 }
        return keys.withUnsafeBufferPointer { model.lowerBound(of: key, in: $0) }
    }

    /// The positions of keys in `[from, to)`.
    @inlinable
    public func positions(from: UInt64, to: UInt64) -> Range<Int> {
        guard from < to else { return 0..<0 }
        return lowerBound(of: from)..<lowerBound(of: to)
    }

    /// The positions of entries whose key is `key`.
    @inlinable
    public func positions(of key: UInt64) -> Range<Int> {
        let first = lowerBound(of: key)
        return first..<(key == .max ? count : lowerBound(of: key &+ 1))
    }

    @inlinable
    public func entry(at position: Int) -> Entry {
        Entry(key: keys[position], payload: payloads[position])
    }

    /// Marks the entry at `position` dead; false when it already was or does not exist.
    @discardableResult
    public mutating func markDead(at position: Int) -> Bool {
        dead.insert(position)
    }

    public func isDead(at position: Int) -> Bool { dead.contains(position) }
}

/// New entries, appended in any order and sorted only when a reader needs order.
public struct HotBuffer: Equatable, Sendable {
    public private(set) var entries: [Entry] = []
    private var isSorted = true

    public init() {}

    public var count: Int { entries.count }

    /// Appends in O(1); an append in key order keeps the buffer sorted for free.
    public mutating func append(_ entry: Entry) {
        if let last = entries.last, entry < last { isSorted = false }
        entries.append(entry)
    }

    /// The entries in (key, payload) order.
    public mutating func sortedEntries() -> [Entry] {
        if !isSorted {
            entries.sort()
            isSorted = true
        }
        return entries
    }

    /// Removes one entry equal to `entry`; false when there is none.
    public mutating func remove(_ entry: Entry) -> Bool {
        guard let index = entries.lastIndex(of: entry) else { return false }
        entries.remove(at: index)
        return true
    }

    public mutating func removeAll() { entries.removeAll(keepingCapacity: true) }
}

extension ColdRun {
    /// A new run holding this run's live entries and `hot`'s, in order, learned with `kind`.
    public func merging(_ hot: [Entry], kind: ModelKind) throws(LearnedIndexError) -> ColdRun {
        var keys: [UInt64] = []
        var payloads: [UInt64] = []
        keys.reserveCapacity(liveCount + hot.count)
        payloads.reserveCapacity(liveCount + hot.count)
        var cold = 0
        var next = 0
        while cold < count || next < hot.count {
            if cold < count && dead.contains(cold) {
                cold += 1
                continue
            }
            let takeCold = next == hot.count || (cold < count && !(hot[next] < entry(at: cold)))
            let entry = takeCold ? entry(at: cold) : hot[next]
            if takeCold { cold += 1 } else { next += 1 }
            keys.append(entry.key)
            payloads.append(entry.payload)
        }
        return try ColdRun(keys: keys, payloads: payloads, kind: kind)
    }
}
