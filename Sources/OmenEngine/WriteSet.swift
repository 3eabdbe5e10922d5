/// A transaction's uncommitted writes to one table: the newest operation per key (a row or a deletion),
/// kept in arrival order. Keys arriving in ascending order need no hash table.
struct WriteSet {
    private(set) var keys: [Int64] = []
    /// Row in `rows` per operation, or -1 for a deletion.
    private(set) var rowOf: [Int32] = []
    private(set) var rows: RowBatch
    private var slots: [Int64: Int] = [:]
    private(set) var ordered = true
    /// True once a row was replaced or deleted, leaving rows that no operation points at.
    private(set) var rewritten = false
    /// For a table with row ids: the row id of each primary key this transaction inserted (the newest,
    /// when it deleted a row and inserted the key again).
    var insertedKeys: [Value: Int64] = [:]

    init(schema: TableSchema) { rows = RowBatch(schema: schema) }

    var isEmpty: Bool { keys.isEmpty }
    var count: Int { keys.count }

    /// The operation on `key`, if any.
    func slot(_ key: Int64) -> Int? {
        if !ordered { return slots[key] }
        let index = keys.partitionPoint { $0 >= key }
        return index < keys.count && keys[index] == key ? index : nil
    }

    /// What this transaction wrote for `key`: `.some(row)` or `.some(nil)` for a deletion.
    func lookup(_ key: Int64) -> [Value]?? {
        guard let slot = slot(key) else { return .none }
        let row = rowOf[slot]
        return .some(row >= 0 ? rows.row(Int(row)) : nil)
    }

    mutating func put(_ key: Int64, _ row: [Value]) {
        let index = Int32(rows.count)
        rows.append(row)
        record(key, index)
    }

    mutating func delete(_ key: Int64) { record(key, -1) }

    /// Appends a batch whose keys ascend and lie above every key written so far.
    mutating func append(keys newKeys: [Int64], batch: RowBatch) {
        precondition(ordered && (keys.last.map { newKeys.first! > $0 } ?? true))
        let first = Int32(rows.count)
        for index in batch.columns.indices { rows.columns[index].append(contentsOf: batch.columns[index]) }
        keys.append(contentsOf: newKeys)
        rowOf.append(contentsOf: (0..<Int32(newKeys.count)).map { first + $0 })
    }

    var maxKey: Int64? { ordered ? keys.last : keys.max() }

    private mutating func record(_ key: Int64, _ row: Int32) {
        if let slot = slot(key) {
            rowOf[slot] = row
            rewritten = true
            return
        }
        if row < 0 { rewritten = true }
        if ordered && !(keys.last.map { key > $0 } ?? true) {
            ordered = false
            for (index, existing) in keys.enumerated() { slots[existing] = index }
        }
        if !ordered { slots[key] = keys.count }
        keys.append(key)
        rowOf.append(row)
    }

    /// Operation indices whose keys lie in `[from, to)`, in key order.
    func slots(from: Int64?, to: Int64?) -> [Int] {
        let inRange = { (key: Int64) in (from.map { key >= $0 } ?? true) && (to.map { key < $0 } ?? true) }
        if ordered {
            let lower = from.map { bound in keys.partitionPoint { $0 >= bound } } ?? 0
            let upper = to.map { bound in keys.partitionPoint { $0 >= bound } } ?? keys.count
            return Array(lower..<max(lower, upper))
        }
        return keys.indices.filter { inRange(keys[$0]) }.sorted { keys[$0] < keys[$1] }
    }

    /// The rows of the put operations, in operation order (the layout of a commit record).
    var putRows: RowBatch {
        guard rewritten else { return rows }
        var out = RowBatch(columns: rows.columns.map { ColumnVector(type: $0.type) })
        for row in rowOf where row >= 0 { out.append(from: rows, at: Int(row)) }
        return out
    }
}
