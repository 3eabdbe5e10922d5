/// A transaction's uncommitted writes to one table: the newest operation per key (a row or a deletion),
/// kept in arrival order. Keys arriving in ascending order need no hash table.
struct WriteSet {
    private(set) var rows: RowBatch
    /// The column of `rows` that holds each row's storage key.
    private let keyColumn: Int
    /// Key and row (-1 for a deletion) of each operation, kept apart from `rows` only once an operation
    /// other than an appended batch arrives: until then operation `i` is row `i`, whose key column holds
    /// its key, so a bulk load keeps no second copy of its keys.
    private var operations: (keys: [Int64], rows: [Int32])?
    private var slots: [Int64: Int] = [:]
    private(set) var ordered = true
    /// True once a row was replaced or deleted, leaving rows that no operation points at.
    private(set) var rewritten = false
    /// For a table with row ids: the row id of each primary key this transaction inserted (the newest,
    /// when it deleted a row and inserted the key again).
    var insertedKeys: [Value: Int64] = [:]

    init(schema: TableSchema) {
        rows = RowBatch(schema: schema)
        keyColumn = schema.storageKey
    }

    /// The key of each operation, in operation order.
    var keys: [Int64] { operations?.keys ?? rows.columns[keyColumn].integers }
    var isEmpty: Bool { count == 0 }
    var count: Int { operations?.keys.count ?? rows.count }

    /// The row of operation `slot` in `rows`, or -1 for a deletion.
    func row(at slot: Int) -> Int32 { operations?.rows[slot] ?? Int32(slot) }

    /// Whether each operation is a deletion, in operation order.
    var deletionFlags: [Bool] { operations?.rows.map { $0 < 0 } ?? [Bool](repeating: false, count: rows.count) }

    /// The operation on `key`, if any.
    func slot(_ key: Int64) -> Int? {
        if !ordered { return slots[key] }
        let index = keys.partitionPoint { $0 >= key }
        return index < keys.count && keys[index] == key ? index : nil
    }

    /// What this transaction wrote for `key`: `.some(row)` or `.some(nil)` for a deletion.
    func lookup(_ key: Int64) -> [Value]?? {
        guard let slot = slot(key) else { return .none }
        let row = row(at: slot)
        return .some(row >= 0 ? rows.row(Int(row)) : nil)
    }

    mutating func put(_ key: Int64, _ row: [Value]) {
        separateOperations()
        let index = Int32(rows.count)
        rows.append(row)
        record(key, index)
    }

    mutating func delete(_ key: Int64) {
        separateOperations()
        record(key, -1)
    }

    /// Appends a batch whose keys (in its key column) ascend and lie above every key written so far.
    mutating func append(_ batch: RowBatch) {
        let newKeys = batch.columns[keyColumn].integers
        precondition(ordered && (keys.last.map { newKeys.first! > $0 } ?? true))
        let first = Int32(rows.count)
        for index in batch.columns.indices { rows.columns[index].append(contentsOf: batch.columns[index]) }
        if operations != nil {
            operations!.keys.append(contentsOf: newKeys)
            operations!.rows.append(contentsOf: first..<first + Int32(newKeys.count))
        }
    }

    /// Stores keys and rows apart from `rows`, before an operation that breaks "operation i is row i".
    private mutating func separateOperations() {
        guard operations == nil else { return }
        operations = (rows.columns[keyColumn].integers, Array(0..<Int32(rows.count)))
    }

    var maxKey: Int64? { ordered ? keys.last : keys.max() }

    private mutating func record(_ key: Int64, _ row: Int32) {
        if let slot = slot(key) {
            operations!.rows[slot] = row
            rewritten = true
            return
        }
        if row < 0 { rewritten = true }
        if ordered && !(keys.last.map { key > $0 } ?? true) {
            ordered = false
            for (index, existing) in keys.enumerated() { slots[existing] = index }
        }
        if !ordered { slots[key] = count }
        operations!.keys.append(key)
        operations!.rows.append(row)
    }

    /// Operation indices whose keys lie in `[from, to)`, in key order.
    func slots(from: Int64?, to: Int64?) -> [Int] {
        let keys = self.keys
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
        for row in operations!.rows where row >= 0 { out.append(from: rows, at: Int(row)) }
        return out
    }
}
