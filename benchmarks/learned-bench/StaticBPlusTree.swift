/// The cache-conscious baseline: an implicit static B+tree of fanout 16 over the sorted keys. Each inner
/// level stores the largest key of every node below it, 16 to a node (two cache lines), so a lookup reads
/// one node per level and counts, branch-free, how many separators are below the key.
struct StaticBPlusTree {
    static let fanout = 16
    /// Inner levels, root first; each padded to whole nodes with UInt64.max.
    let levels: [[UInt64]]
    let keyCount: Int

    init(keys: UnsafeBufferPointer<UInt64>) {
        keyCount = keys.count
        var levels: [[UInt64]] = []
        var below = Array(keys)
        repeat {
            var level: [UInt64] = []
            level.reserveCapacity(below.count / Self.fanout + Self.fanout)
            var index = Self.fanout - 1
            while index < below.count + Self.fanout - 1 {
                level.append(below[min(index, below.count - 1)])
                index += Self.fanout
            }
            while level.count % Self.fanout != 0 { level.append(.max) }
            levels.append(level)
            below = level
        } while below.count > Self.fanout
        self.levels = levels.reversed()
    }

    var byteCount: Int { levels.reduce(0) { $0 + $1.count * 8 } }

    @inline(__always)
    static func countBelow(_ key: UInt64, _ base: UnsafePointer<UInt64>, _ count: Int) -> Int {
        var below = 0
        for index in 0..<count { below &+= base[index] < key ? 1 : 0 }
        return below
    }

    @inline(__always)
    func lowerBound(of key: UInt64, in keys: UnsafeBufferPointer<UInt64>) -> Int {
        var child = 0
        for level in levels {
            let found = level.withUnsafeBufferPointer { nodes in
                child &* Self.fanout &+ Self.countBelow(key, nodes.baseAddress! + child &* Self.fanout, Self.fanout)
            }
            if found &* Self.fanout >= keyCount { return keyCount }
            child = found
        }
        let start = child &* Self.fanout
        return start &+ Self.countBelow(key, keys.baseAddress! + start, min(Self.fanout, keyCount &- start))
    }
}
