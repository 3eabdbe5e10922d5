import LearnedIndex

/// A snapshot-isolated transaction: reads see the snapshot taken at `begin` plus this transaction's own
/// writes; writes stay private until `commit`, where a concurrent committed write to the same key makes
/// it fail with `EngineError.writeConflict` (first committer wins).
public final class Transaction {
    public let database: Database
    let id: TransactionID
    let snapshot: Snapshot
    var writes: [UInt32: WriteSet] = [:]
    var tableNames: [UInt32: String] = [:]
    /// Tables this transaction created (visible only to it until it commits) and dropped (gone when it commits).
    var createdTables: [UInt32] = []
    var droppedTables: [UInt32] = []
    private(set) var finished = false

    init(database: Database, id: TransactionID, snapshot: Snapshot) {
        self.database = database
        self.id = id
        self.snapshot = snapshot
    }

    deinit {
        if !finished {
            database.discardDDL(of: self)
            database.finish(id)
        }
    }

    // MARK: Reads

    /// The row stored under `key` (the primary key, or the row id of a table keyed by TEXT or UUID), or nil.
    public func get(_ table: String, key: Int64) throws(EngineError) -> [Value]? {
        try read(table) { state in resolve(state, key, own: writes[state.id]) }
    }

    /// The row whose primary key is `key`, of any key type, or nil.
    public func get(_ table: String, primaryKey key: Value) throws(EngineError) -> [Value]? {
        try read(table) { state in lookup(state, key, own: writes[state.id]) }
    }

    /// Rows with keys in `[from, to)` (nil: unbounded), ascending or descending, at most `limit`.
    public func scan(
        _ table: String, from: Int64? = nil, to: Int64? = nil, reverse: Bool = false, limit: Int? = nil
    ) throws(EngineError) -> RowBatch {
        try read(table) { state in
            collect(state, own: writes[state.id], from: from, to: to, reverse: reverse, limit: limit ?? .max)
        }
    }

    /// The rows `scan` would return, ascending, as batches to read in order. Segments that nothing newer
    /// overlaps (the usual time-series shape) come back shared, not copied.
    public func scanBatches(_ table: String, from: Int64? = nil, to: Int64? = nil) throws(EngineError) -> [RowBatch] {
        try read(table) { state in batches(state, from: from, to: to) }
    }

    /// The newest committed version of every row of `table`, as `snapshot` (one that sees every commit)
    /// reads it (caller holds the lock).
    static func newestRows(of table: TableState, in database: Database, snapshot: Snapshot) -> [RowBatch] {
        let reader = Transaction(database: database, id: 0, snapshot: snapshot)
        defer { reader.finished = true }
        return reader.batches(table, from: nil, to: nil)
    }

    /// `scanBatches` over a table (caller holds the lock).
    private func batches(_ state: TableState, from: Int64?, to: Int64?) -> [RowBatch] {
        let own = writes[state.id]
        state.memtable.mergePending()
        let segments = state.segments.filter { segment in
            !(from.map { segment.maxKey < $0 } ?? false) && !(to.map { segment.minKey >= $0 } ?? false)
        }.sorted { $0.minKey < $1.minKey }
        let disjoint = zip(segments, segments.dropFirst()).allSatisfy { $0.maxKey < $1.minKey }
        let clean = (own?.slots(from: from, to: to).isEmpty ?? true) && state.memtable.positions(from: from, to: to).isEmpty
        guard clean, disjoint, !segments.contains(where: \.hasTombstones) else {
            return [collect(state, own: own, from: from, to: to, reverse: false, limit: .max)]
        }
        return segments.compactMap { segment in
            let range = segment.positions(from: from, to: to)
            if range.isEmpty { return nil }
            if range.count == segment.count { return segment.rows }
            var batch = RowBatch(schema: state.schema)
            batch.append(from: segment.rows, rows: range)
            return batch
        }
    }

    private func read<T>(_ name: String, _ body: (TableState) throws(EngineError) -> T) throws(EngineError) -> T {
        guard !finished else { throw .transactionFinished }
        return try database.state.withLock { () throws(EngineError) -> T in
            let table = try database.table(named: name)
            return try body(table)
        }
    }

    /// What the snapshot and own writes say of `key` (caller holds the lock).
    func resolve(_ table: TableState, _ key: Int64, own: WriteSet?) -> [Value]? {
        if let written = own?.lookup(key) { return written }
        if let version = table.memtable.visibleVersion(key, { database.sees($0, through: snapshot) }) {
            return version.row >= 0 ? table.memtable.rows.row(Int(version.row)) : nil
        }
        for segment in table.segments.reversed() where segment.minKey <= key && key <= segment.maxKey {
            if let position = segment.position(of: key) {
                return segment.tombstones[position] ? nil : segment.rows.row(position)
            }
        }
        return nil
    }

    /// What the snapshot and own writes say of the row with primary key `key` (caller holds the lock): for
    /// a table with row ids, the first of the key index's candidates and own inserts that holds the key.
    func lookup(_ table: TableState, _ key: Value, own: WriteSet?) -> [Value]? {
        let schema = table.schema
        guard let index = table.keyIndex else { return key.integer.flatMap { resolve(table, $0, own: own) } }
        guard let image = index.image(of: key) else { return nil }
        var candidates = index.candidates(low: image, high: image)
        if let id = own?.insertedKeys[key] { candidates.append(id) }
        for id in candidates {
            if let row = resolve(table, id, own: own), row[schema.primaryKey] == key { return row }
        }
        return nil
    }

    /// A k-way merge of own writes, the hot buffer and the segments over `[from, to)`: for each key the
    /// newest source that has a version this transaction sees decides (caller holds the lock).
    private func collect(
        _ table: TableState, own: WriteSet?, from: Int64?, to: Int64?, reverse: Bool, limit: Int
    ) -> RowBatch {
        var out = RowBatch(schema: table.schema)
        guard limit > 0 else { return out }
        table.memtable.mergePending()
        let memtable = table.memtable
        var sources: [Source] = []
        if let own, !own.isEmpty {
            let slots = own.slots(from: from, to: to)
            let keys = own.keys
            sources.append(Source(keys: slots.map { keys[$0] }, kind: .own(slots)))
        }
        let hot = memtable.positions(from: from, to: to)
        if !hot.isEmpty { sources.append(Source(keys: Array(memtable.keys[hot]), kind: .hot(hot.lowerBound))) }
        let overlapping = table.segments.reversed().filter { segment in
            !(from.map { segment.maxKey < $0 } ?? false) && !(to.map { segment.minKey >= $0 } ?? false)
        }
        for segment in overlapping {
            let range = segment.positions(from: from, to: to)
            if range.isEmpty { continue }
            // One segment without deletions and nothing newer: copy its rows straight out.
            if sources.isEmpty && overlapping.count == 1 && !segment.hasTombstones {
                let count = min(limit, range.count)
                let rows = reverse ? range.upperBound - count..<range.upperBound : range.lowerBound..<range.lowerBound + count
                out.append(from: segment.rows, rows: rows)
                if reverse {
                    var reversed = RowBatch(schema: table.schema)
                    for index in stride(from: out.count - 1, through: 0, by: -1) { reversed.append(from: out, at: index) }
                    return reversed
                }
                return out
            }
            sources.append(Source(keys: range.map { NormalizedKey.decodeInt64(segment.keys[$0]) },
                                  kind: .segment(segment, range.lowerBound)))
        }
        var cursors = sources.map { reverse ? $0.keys.count - 1 : 0 }
        let step = reverse ? -1 : 1
        while out.count < limit {
            var best: Int64?
            for (index, source) in sources.enumerated() where source.keys.indices.contains(cursors[index]) {
                let key = source.keys[cursors[index]]
                if best == nil || (reverse ? key > best! : key < best!) { best = key }
            }
            guard let key = best else { break }
            var decided = false
            for (index, source) in sources.enumerated()
            where source.keys.indices.contains(cursors[index]) && source.keys[cursors[index]] == key {
                let offset = cursors[index]
                cursors[index] += step
                if decided { continue }
                switch source.kind {
                case .own(let slots):
                    decided = true
                    let row = own!.row(at: slots[offset])
                    if row >= 0 { out.append(from: own!.rows, at: Int(row)) }
                case .hot(let first):
                    var next = memtable.heads[first + offset]
                    while next != -1 {
                        let version = memtable.version(next)
                        if database.sees(version.creator, through: snapshot) {
                            decided = true
                            if version.row >= 0 { out.append(from: memtable.rows, at: Int(version.row)) }
                            break
                        }
                        next = version.older
                    }
                case .segment(let segment, let first):
                    decided = true
                    if !segment.tombstones[first + offset] { out.append(from: segment.rows, at: first + offset) }
                }
            }
        }
        return out
    }

    private struct Source {
        enum Kind {
            case own([Int])
            case hot(Int)
            case segment(Segment, Int)
        }
        var keys: [Int64]
        var kind: Kind
    }

    // MARK: Writes

    /// Inserts one row; a key that exists (in this snapshot or this transaction) is a `duplicateKey` error.
    public func insert(_ table: String, _ row: [Value]) throws(EngineError) {
        try write(table) { (state, set) throws(EngineError) in
            let schema = state.schema
            var checked = try schema.validate(row)
            if lookup(state, checked[schema.primaryKey], own: set) != nil {
                throw .duplicateKey(table: table, key: checked[schema.primaryKey])
            }
            if schema.hasRowIDs {
                let id = state.allocateRowID()
                checked[schema.storageKey] = .int64(id)
                set.insertedKeys[checked[schema.primaryKey]] = id
            }
            set.put(checked[schema.storageKey].integer!, checked)
        }
    }

    /// Inserts a batch of rows (columns in schema order), all or none.
    public func insert(_ table: String, batch: RowBatch) throws(EngineError) {
        try write(table) { (state, set) throws(EngineError) in
            let schema = state.schema
            var batch = batch
            // A table with row ids takes batches without the row id column, or with it (its values unused).
            if schema.hasRowIDs && batch.columns.count == schema.columns.count - 1 {
                batch.columns.append(ColumnVector(type: .int64, integers: Array(repeating: 0, count: batch.count)))
            }
            guard batch.columns.count == schema.columns.count else {
                throw .invalidRow("\(table) has \(schema.visibleColumns.count) columns, the batch has \(batch.columns.count)")
            }
            for (column, vector) in zip(schema.visibleColumns, batch.columns) {
                guard vector.type == column.type else { throw .typeMismatch(column: column.name, expected: column.type) }
                if !column.nullable && vector.nulls.contains(true) { throw .nullViolation(column: column.name) }
            }
            if schema.hasRowIDs { return try insertWithRowIDs(state, batch, &set) }
            let keys = batch.columns[schema.storageKey].integers
            guard !keys.isEmpty else { return }
            var ascending = true
            for index in keys.indices.dropFirst() where keys[index - 1] >= keys[index] {
                ascending = false
                break
            }
            let above = [state.maxKey, set.maxKey].compactMap { $0 }.max()
            if ascending && set.ordered && (above.map { keys[0] > $0 } ?? true) {
                // Past every key the table ever held: nothing to check (the time-series fast path).
                set.append(batch)
                return
            }
            var seen = Set<Int64>()
            for (row, key) in keys.enumerated() {
                if !seen.insert(key).inserted || resolve(state, key, own: set) != nil {
                    throw .duplicateKey(table: table, key: batch.columns[schema.primaryKey].value(at: row))
                }
            }
            for index in keys.indices { set.put(keys[index], batch.row(index)) }
        }
    }

    /// Inserts a checked batch into a table with row ids: every key new to this snapshot and batch, then
    /// one fresh row id per row (caller holds the lock).
    private func insertWithRowIDs(_ state: TableState, _ batch: RowBatch, _ set: inout WriteSet) throws(EngineError) {
        let schema = state.schema
        let keys = batch.columns[schema.primaryKey]
        var seen = Set<Value>()
        for row in 0..<batch.count {
            let key = keys.value(at: row)
            if !seen.insert(key).inserted || lookup(state, key, own: set) != nil {
                throw .duplicateKey(table: schema.name, key: key)
            }
        }
        var batch = batch
        let ids = (0..<batch.count).map { _ in state.allocateRowID() }
        batch.columns[schema.storageKey] = ColumnVector(type: .int64, integers: ids)
        for row in 0..<batch.count { set.insertedKeys[keys.value(at: row)] = ids[row] }
        if set.ordered && (set.maxKey.map { ids[0] > $0 } ?? true) {
            set.append(batch)
        } else {
            for row in ids.indices { set.put(ids[row], batch.row(row)) }
        }
    }

    /// Replaces the named columns of the row with key `key`; false when there is no such row.
    @discardableResult
    public func update(_ table: String, key: Int64, set changes: [String: Value]) throws(EngineError) -> Bool {
        try write(table) { (state, set) throws(EngineError) -> Bool in
            guard let row = resolve(state, key, own: set) else { return false }
            set.put(key, try apply(changes, to: row, schema: state.schema))
            return true
        }
    }

    /// Replaces the named columns of every row with a key in `[from, to)`; returns how many.
    @discardableResult
    public func update(_ table: String, from: Int64?, to: Int64?, set changes: [String: Value]) throws(EngineError) -> Int {
        try write(table) { (state, set) throws(EngineError) -> Int in
            let rows = collect(state, own: set, from: from, to: to, reverse: false, limit: .max)
            for index in 0..<rows.count {
                let row = rows.row(index)
                set.put(row[state.schema.storageKey].integer!, try apply(changes, to: row, schema: state.schema))
            }
            return rows.count
        }
    }

    /// Replaces the named columns of the row whose primary key is `key`, of any key type; false when there
    /// is no such row.
    @discardableResult
    public func update(_ table: String, primaryKey key: Value, set changes: [String: Value]) throws(EngineError) -> Bool {
        try write(table) { (state, set) throws(EngineError) -> Bool in
            guard let row = lookup(state, key, own: set) else { return false }
            set.put(row[state.schema.storageKey].integer!, try apply(changes, to: row, schema: state.schema))
            return true
        }
    }

    /// Deletes the row whose primary key is `key`, of any key type; false when there is none.
    @discardableResult
    public func delete(_ table: String, primaryKey key: Value) throws(EngineError) -> Bool {
        try write(table) { (state, set) -> Bool in
            guard let row = lookup(state, key, own: set) else { return false }
            set.delete(row[state.schema.storageKey].integer!)
            return true
        }
    }

    /// Deletes the row with key `key`; false when there is none.
    @discardableResult
    public func delete(_ table: String, key: Int64) throws(EngineError) -> Bool {
        try write(table) { (state, set) -> Bool in
            guard resolve(state, key, own: set) != nil else { return false }
            set.delete(key)
            return true
        }
    }

    /// Deletes every row with a key in `[from, to)`; returns how many.
    @discardableResult
    public func delete(_ table: String, from: Int64?, to: Int64?) throws(EngineError) -> Int {
        try write(table) { (state, set) -> Int in
            let rows = collect(state, own: set, from: from, to: to, reverse: false, limit: .max)
            for key in rows.columns[state.schema.storageKey].integers { set.delete(key) }
            return rows.count
        }
    }

    private func apply(_ changes: [String: Value], to row: [Value], schema: TableSchema) throws(EngineError) -> [Value] {
        var updated = row
        for (name, value) in changes {
            guard let index = schema.columnIndex(name) else { throw .invalidRow("column \"\(name)\" does not exist") }
            let coerced = try schema.columns[index].coerce(value)
            if index == schema.primaryKey && coerced != row[index] {
                throw .invalidRow("the primary key cannot be updated; delete the row and insert it again")
            }
            updated[index] = coerced
        }
        return updated
    }

    private func write<T>(
        _ name: String, _ body: (TableState, inout WriteSet) throws(EngineError) -> T
    ) throws(EngineError) -> T {
        guard !finished else { throw .transactionFinished }
        return try database.state.withLock { () throws(EngineError) -> T in
            try database.checkWritable()
            let table = try database.table(named: name)
            var set = writes.removeValue(forKey: table.id) ?? WriteSet(schema: table.schema)
            defer { writes[table.id] = set }
            tableNames[table.id] = name
            return try body(table, &set)
        }
    }

    // MARK: End

    /// Makes the writes durable and visible to later snapshots, or throws (and rolls back).
    public func commit() throws(EngineError) {
        guard !finished else { throw .transactionFinished }
        finished = true
        try database.commit(self)
    }

    /// `commit`, without waiting for the disk: refusals (a write conflict) are thrown here, and `done` gets
    /// nil once the writes are durable and visible, or the log's failure, from the log's flusher thread,
    /// which writes for all such commits at once. Until then the writes are invisible to others, as any
    /// uncommitted writes are.
    public func commit(whenDurable done: @escaping @Sendable (EngineError?) -> Void) throws(EngineError) {
        guard !finished else { throw .transactionFinished }
        finished = true
        try database.commit(self, whenDurable: done)
    }

    /// Discards the writes.
    public func rollback() {
        guard !finished else { return }
        finished = true
        writes = [:]
        database.discardDDL(of: self)
        database.finish(id)
    }
}
