import LearnedIndex

/// One committed version of a key in the hot buffer: who wrote it, its row (or a deletion), the version
/// it replaced, and where its log record starts (so a checkpoint knows what it must still replay).
struct Version {
    var creator: TransactionID
    /// Row in `MemTable.rows`, or -1 for a deletion.
    var row: Int32
    /// A reference to the next older version of the same key, or -1.
    var older: Int32
    var logStart: LogPosition
}

/// The versions one commit appended in bulk (the time-series path): its `i`-th is row `firstRow + i`,
/// with no older version, so a run of any length costs one entry instead of one `Version` per key.
struct VersionRun {
    /// Where the run starts among all runs' versions.
    var first: Int32
    var count: Int32
    var firstRow: Int32
    var creator: TransactionID
    var logStart: LogPosition
}

/// A table's hot buffer: committed versions not yet flushed to a segment, newest first per key. Keys
/// arriving in order (a time series) append to the sorted arrays; others wait in a small dictionary that
/// is merged in before any ordered read. A version reference is an index into `versions` (>= 0), the
/// `-2 - i`-th version of the runs (<= -2), or -1 for none.
struct MemTable {
    private(set) var rows: RowBatch
    private var versions: [Version] = []
    private var runs: [VersionRun] = []
    private(set) var keys: [Int64] = []
    private(set) var heads: [Int32] = []
    private var pending: [Int64: Int32] = [:]
    /// Appends shorter than this install one `Version` per key, which reads faster than a run.
    private static let minimumRun = 64

    init(schema: TableSchema) { rows = RowBatch(schema: schema) }

    /// The version `reference` (>= 0 or <= -2) names.
    func version(_ reference: Int32) -> Version {
        if reference >= 0 { return versions[Int(reference)] }
        let index = -2 - reference
        let run = runs[runs.partitionPoint { $0.first + $0.count > index }]
        return Version(creator: run.creator, row: run.firstRow + (index - run.first), older: -1, logStart: run.logStart)
    }

    private var versionCount: Int { versions.count + Int(runs.last.map { $0.first + $0.count } ?? 0) }
    var isEmpty: Bool { versionCount == 0 }
    var rowCount: Int { rows.count }
    /// The largest key present, if the buffer is in order (no pending keys).
    var maxKey: Int64? { pending.isEmpty ? keys.last : pending.keys.max().map { max($0, keys.last ?? $0) } }

    /// The newest version of `key`.
    func head(_ key: Int64) -> Int32? {
        let index = keys.partitionPoint { $0 >= key }
        if index < keys.count && keys[index] == key { return heads[index] }
        return pending[key]
    }

    /// The newest version of `key` that `visible` accepts (by creator), newest first.
    func visibleVersion(_ key: Int64, _ visible: (TransactionID) -> Bool) -> Version? {
        var next = head(key)
        while let reference = next, reference != -1 {
            let version = version(reference)
            if visible(version.creator) { return version }
            next = version.older
        }
        return nil
    }

    /// Installs a new newest version of `key`: `row` of `batch`, or a deletion when `row` is nil.
    mutating func install(_ key: Int64, creator: TransactionID, batch: RowBatch, row: Int?, logStart: LogPosition) {
        var rowIndex: Int32 = -1
        if let row {
            rowIndex = Int32(rows.count)
            rows.append(from: batch, at: row)
        }
        let versionIndex = Int32(versions.count)
        let older = head(key) ?? -1
        versions.append(Version(creator: creator, row: rowIndex, older: older, logStart: logStart))
        setHead(key, versionIndex)
    }

    /// True when `key` lies above every key held, so no key from it on has a version here.
    func isAppendable(after key: Int64?) -> Bool {
        guard let key, pending.isEmpty else { return false }
        return keys.last.map { key > $0 } ?? true
    }

    /// Installs one new version per key for keys that ascend and lie above every key held, rows `i` of
    /// `batch` in order: the time-series path, in bulk copies. False (nothing done) when they do not qualify.
    mutating func installAppending(
        _ newKeys: [Int64], creator: TransactionID, batch: RowBatch, logStart: LogPosition
    ) -> Bool {
        guard isAppendable(after: newKeys.first), batch.count == newKeys.count else { return false }
        let firstRow = Int32(rows.count)
        let count = Int32(newKeys.count)
        // An empty buffer takes the commit's arrays as they are: a bulk load is not copied.
        if rows.count == 0 { rows = batch } else { rows.append(from: batch, rows: 0..<batch.count) }
        if keys.isEmpty { keys = newKeys } else { keys.append(contentsOf: newKeys) }
        if newKeys.count < Self.minimumRun {
            let firstVersion = Int32(versions.count)
            versions.append(contentsOf: (0..<count).lazy.map {
                Version(creator: creator, row: firstRow + $0, older: -1, logStart: logStart)
            })
            heads.append(contentsOf: firstVersion..<firstVersion + count)
        } else {
            let first = runs.last.map { $0.first + $0.count } ?? 0
            runs.append(VersionRun(first: first, count: count, firstRow: firstRow, creator: creator, logStart: logStart))
            heads.append(contentsOf: (first..<first + count).lazy.map { -2 - $0 })
        }
        return true
    }

    private mutating func setHead(_ key: Int64, _ version: Int32) {
        if keys.isEmpty || key > keys[keys.count - 1] {
            if pending.isEmpty {
                keys.append(key)
                heads.append(version)
                return
            }
        } else {
            let index = keys.partitionPoint { $0 >= key }
            if index < keys.count && keys[index] == key {
                heads[index] = version
                return
            }
        }
        pending[key] = version
        if pending.count > 4096 { mergePending() }
    }

    /// Folds the out-of-order keys into the sorted arrays.
    mutating func mergePending() {
        guard !pending.isEmpty else { return }
        let extra = pending.sorted { $0.key < $1.key }
        pending = [:]
        var mergedKeys: [Int64] = []
        var mergedHeads: [Int32] = []
        mergedKeys.reserveCapacity(keys.count + extra.count)
        mergedHeads.reserveCapacity(keys.count + extra.count)
        var i = 0
        var j = 0
        while i < keys.count || j < extra.count {
            if j == extra.count || (i < keys.count && keys[i] < extra[j].key) {
                mergedKeys.append(keys[i])
                mergedHeads.append(heads[i])
                i += 1
            } else {
                mergedKeys.append(extra[j].key)
                mergedHeads.append(extra[j].value)
                j += 1
            }
        }
        keys = mergedKeys
        heads = mergedHeads
    }

    /// The sorted-key positions in `[from, to)`; call `mergePending` first.
    func positions(from: Int64?, to: Int64?) -> Range<Int> {
        let lower = from.map { bound in keys.partitionPoint { $0 >= bound } } ?? 0
        let upper = to.map { bound in keys.partitionPoint { $0 >= bound } } ?? keys.count
        return lower..<max(lower, upper)
    }

    /// Splits the buffer at a flush: keys whose newest version `flushable` accepts go to the returned
    /// rows (their newest version only; a deletion is a tombstone row), the rest stay with every version.
    mutating func split(schema: TableSchema, flushable: (TransactionID) -> Bool)
        -> (rows: RowBatch, tombstones: [Bool])
    {
        mergePending()
        // Every key with one version, rows in key order, all flushable: the buffer is the segment.
        if versionCount == keys.count && rows.count == keys.count
            && heads.indices.allSatisfy({ version(heads[$0]).row == Int32($0) && flushable(version(heads[$0]).creator) })
        {
            let out = rows
            self = MemTable(schema: schema)
            return (out, [Bool](repeating: false, count: out.count))
        }
        var out = RowBatch(schema: schema)
        var tombstones: [Bool] = []
        var kept = MemTable(schema: schema)
        let keyColumn = schema.storageKey
        for (index, key) in keys.enumerated() {
            let head = version(heads[index])
            if flushable(head.creator) {
                if head.row >= 0 {
                    out.append(from: rows, at: Int(head.row))
                } else {
                    var placeholder = [Value](repeating: .null, count: schema.columns.count)
                    placeholder[keyColumn] = schema.columns[keyColumn].type == .timestamp ? .timestamp(key) : .int64(key)
                    out.append(placeholder)
                }
                tombstones.append(head.row < 0)
            } else {
                // Oldest first, so the copied chain links the same way.
                var chain: [Version] = []
                var next = heads[index]
                while next != -1 {
                    chain.append(version(next))
                    next = chain.last!.older
                }
                for version in chain.reversed() {
                    kept.install(key, creator: version.creator, batch: rows,
                                 row: version.row >= 0 ? Int(version.row) : nil, logStart: version.logStart)
                }
            }
        }
        self = kept
        return (out, tombstones)
    }

    /// The earliest log record a version here came from: replay must start no later.
    var oldestLogStart: LogPosition? {
        [versions.lazy.map(\.logStart).min(), runs.lazy.map(\.logStart).min()].compactMap { $0 }.min()
    }
}
