/// The cache-conscious baseline: an implicit static B+tree of fanout 16 over the sorted keys. Each inner
/// level stores the largest key of every node below it, 16 to a node (two cache lines), all levels in one
/// array, root first; a lookup reads one node per level and counts, branch-free, the separators below
/// the key, then does the same in a 16-key block of the data.
struct StaticBPlusTree {
    static let fanout = 16
    /// Every inner level, root first, each padded to whole nodes with UInt64.max.
    let nodes: [UInt64]
    /// Where each level starts in `nodes`.
    let levelStarts: [Int]
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
        levels.reverse()
        var starts: [Int] = []
        var nodes: [UInt64] = []
        for level in levels {
            starts.append(nodes.count)
            nodes += level
        }
        self.nodes = nodes
        self.levelStarts = starts
    }

    var byteCount: Int { nodes.count * 8 }

    @inline(__always)
    static func countBelow(_ key: UInt64, _ base: UnsafePointer<UInt64>, _ count: Int) -> Int {
        var below = 0
        for index in 0..<count { below &+= base[index] < key ? 1 : 0 }
        return below
    }

    @inline(__always)
    func lowerBound(of key: UInt64, in keys: UnsafeBufferPointer<UInt64>) -> Int {
        nodes.withUnsafeBufferPointer { nodes in
            levelStarts.withUnsafeBufferPointer { starts in
                guard let base = nodes.baseAddress, let data = keys.baseAddress else { return 0 }
                var child = 0
                for level in 0..<starts.count {
                    let node = base + (starts[level] &+ child &* Self.fanout)
                    child = child &* Self.fanout &+ Self.countBelow(key, node, Self.fanout)
                }
                let start = child &* Self.fanout
                if start >= keyCount { return keyCount }
                return start &+ Self.countBelow(key, data + start, min(Self.fanout, keyCount &- start))
            }
        }
    }
}
