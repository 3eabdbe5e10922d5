import LearnedIndex

/// A secondary index's definition: its name, table and column. Durable (the log and the manifest); the
/// entries are not, they are rebuilt from the table's rows at open.
public struct IndexDefinition: Equatable, Sendable {
    public var name: String
    public var table: String
    public var column: String
    /// The unique index of a TEXT or UUID primary key, made with its table (named `table_pkey`).
    public var isPrimaryKey = false
    /// Whether the index finds only equal values (a hashed index: a text primary key's), not ranges.
    public var equalityOnly = false

    public init(name: String, table: String, column: String) {
        self.name = name
        self.table = table
        self.column = column
    }
}

/// One end of an index range: a value of the column's type, and whether the end itself is in the range.
public struct IndexBound: Equatable, Sendable {
    public var value: Value
    public var inclusive: Bool

    public init(_ value: Value, inclusive: Bool = true) {
        self.value = value
        self.inclusive = inclusive
    }
}

/// What EXPLAIN shows of an index: its entries and the learned model over the sorted ones.
public struct IndexStatistics: Equatable, Sendable {
    /// Entries in the learned, sorted run.
    public var learnedEntries: Int
    /// Entries still in the hot buffer (searched by sorting it, merged into the run later).
    public var hotEntries: Int
    /// The model's guaranteed error (ε: the lower bound lies within ±ε of the prediction).
    public var epsilon: Int
    /// The window of run positions the model predicts for the range's lower end.
    public var window: ClosedRange<Int>?
}

/// An in-memory secondary index over one column: (image of the value, primary key) pairs in a learned
/// cold run plus a hot buffer, the library's `HotColdIndex`. The image is monotone in the column's order
/// but not injective (text keeps its first 8 bytes), and entries are only ever added: a row deleted or
/// updated to another value leaves its old entry behind. So the index yields candidates, a superset of
/// the matching rows, and every reader re-reads each candidate through its own snapshot and checks the
/// value again. Entries are added when a commit installs rows (under the engine lock); a transaction's
/// own uncommitted rows are searched in its write set. Rebuilt from the rows at open, which drops stale
/// entries. A table keyed by TEXT or UUID has one such index over its key, made with the table and never
/// logged; for text it is hashed (the image is a hash of the value, equality only), since keys often share
/// their first 8 bytes.
final class SecondaryIndex {
    /// A PGM model with ε = 32: a lookup searches at most 65 positions of the run.
    static let epsilon = 32
    static let modelKind = ModelKind.piecewiseLinear(epsilon: epsilon)

    let name: String
    let column: Int
    let type: ColumnType
    let isPrimaryKey: Bool
    let hashed: Bool
    private(set) var entries = HotColdIndex(kind: modelKind)

    /// The column types an index takes.
    static func supports(_ type: ColumnType) -> Bool { type != .interval }

    init(name: String, column: Int, type: ColumnType) {
        self.name = name
        self.column = column
        self.type = type
        isPrimaryKey = false
        hashed = false
    }

    /// The index that enforces and serves a TEXT or UUID primary key.
    init(primaryKeyOf schema: TableSchema) {
        name = schema.name + "_pkey"
        column = schema.primaryKey
        type = schema.columns[column].type
        isPrimaryKey = true
        hashed = type == .text
    }

    /// The image an entry for row `row` of `column` is stored under.
    func image(of column: ColumnVector, at row: Int) -> UInt64 {
        hashed ? Self.hash(column.value(at: row)) : Self.image(column, at: row)
    }

    /// The image of `value` (nil for NULL or another type than the column's).
    func image(of value: Value) -> UInt64? {
        guard value.type == type else { return nil }
        return hashed ? Self.hash(value) : Self.image(value, type: type)
    }

    /// Replaces the entries with those of `batches` (rows laid out as the table, `key` the primary key
    /// column): at creation every version the table holds, its hot buffer's and its segments', so that
    /// every snapshot finds its own; at open the newest version of each row.
    func rebuild(from batches: [RowBatch], key: Int) {
        var all: [Entry] = []
        for rows in batches { collect(rows, key: key, into: &all) }
        all.sort()
        var unique: [Entry] = []
        unique.reserveCapacity(all.count)
        for entry in all where unique.last != entry { unique.append(entry) }
        var fresh = HotColdIndex(kind: Self.modelKind)
        for entry in unique { fresh.insert(entry) }
        try? fresh.merge()
        entries = fresh
    }

    /// Adds an entry for each row of `rows` (laid out as the table), merging the hot buffer into the
    /// learned run once it holds an eighth of the run (so merges cost O(1) amortised per entry).
    func add(_ rows: RowBatch, key: Int) {
        var added: [Entry] = []
        collect(rows, key: key, into: &added)
        for entry in added { entries.insert(entry) }
        if entries.hot.count > max(4096, entries.cold.count / 8) { try? entries.merge() }
    }

    private func collect(_ rows: RowBatch, key: Int, into out: inout [Entry]) {
        let keys = rows.columns[key].integers
        let values = rows.columns[column]
        out.reserveCapacity(out.count + rows.count)
        for row in 0..<rows.count where !values.nulls[row] {
            out.append(Entry(key: image(of: values, at: row), payload: NormalizedKey.encode(keys[row])))
        }
    }

    /// The primary keys of the entries whose image lies in `low...high`, ascending, each once.
    func candidates(low: UInt64, high: UInt64) -> [Int64] {
        guard low <= high else { return [] }
        var found = entries.range(from: low, to: high == .max ? .max : high + 1).map(\.payload)
        if high == .max { found += entries.lookup(.max) }
        found.sort()
        var keys: [Int64] = []
        keys.reserveCapacity(found.count)
        for payload in found where keys.last.map({ NormalizedKey.encode($0) != payload }) ?? true {
            keys.append(NormalizedKey.decodeInt64(payload))
        }
        return keys
    }

    func statistics(low: UInt64) -> IndexStatistics {
        let window = entries.cold.model.map { model -> ClosedRange<Int> in
            let window = model.window(for: low)
            return window.lo...window.hi
        }
        return IndexStatistics(learnedEntries: entries.cold.count, hotEntries: entries.hot.count,
                               epsilon: Self.epsilon, window: window)
    }

    // MARK: Images

    /// The order-preserving image of a non-null value of the column: `a < b` implies
    /// `image(a) <= image(b)`, and equal values have equal images.
    static func image(_ column: ColumnVector, at row: Int) -> UInt64 {
        switch column.type {
        case .int64, .timestamp, .date: NormalizedKey.encode(column.integers[row])
        case .double: NormalizedKey.equalityKey(column.doubles[row])
        case .bool: column.bools[row] ? 1 : 0
        case .text: textImage(column.texts[row])
        case .uuid: column.uuids[row].high
        case .interval: 0
        }
    }

    /// The image of a value, or nil for NULL and for a value of another type than `type`.
    static func image(_ value: Value, type: ColumnType) -> UInt64? {
        switch (type, value) {
        case (.int64, .int64(let x)), (.timestamp, .timestamp(let x)), (.date, .date(let x)): NormalizedKey.encode(x)
        case (.double, .double(let x)): NormalizedKey.equalityKey(x)
        case (.bool, .bool(let x)): x ? 1 : 0
        case (.text, .text(let x)): textImage(x)
        case (.uuid, .uuid(let x)): x.high
        default: nil
        }
    }

    /// A hash of a text or UUID value that equal values share: FNV-1a over the NFC form's UTF-8 (Swift's
    /// string equality is canonical equivalence), then a SplitMix64 finaliser to spread it.
    static func hash(_ value: Value) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        func add(_ byte: UInt8) { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        switch value {
        case .text(let text):
            if text.utf8.allSatisfy({ $0 < 0xCC }) {
                for byte in text.utf8 { add(byte) }
            } else {
                text._withNFCCodeUnits { add($0) }
            }
        case .uuid(let id): hash = id.high ^ (id.low &* 0x9E37_79B9_7F4A_7C15)
        default: hash = UInt64(truncatingIfNeeded: value.hashValue)
        }
        hash = (hash ^ (hash >> 30)) &* 0xBF58_476D_1CE4_E5B9
        hash = (hash ^ (hash >> 27)) &* 0x94D0_49BB_1331_11EB
        return hash ^ (hash >> 31)
    }

    private struct Enough: Error {}

    /// The first 8 bytes of the text's UTF-8, big-endian, zero-padded. Swift orders strings by their NFC
    /// form (canonically equivalent strings are equal), so the bytes are those of the NFC form; a string
    /// of scalars below U+0300 (no UTF-8 byte from 0xCC up) is its own NFC form.
    static func textImage(_ text: String) -> UInt64 {
        var image: UInt64 = 0
        var count = 0
        if text.utf8.allSatisfy({ $0 < 0xCC }) {
            for byte in text.utf8.prefix(8) {
                image = image << 8 | UInt64(byte)
                count += 1
            }
        } else {
            try? text._withNFCCodeUnits { (byte) throws(Enough) in
                image = image << 8 | UInt64(byte)
                count += 1
                if count == 8 { throw Enough() }
            }
        }
        return count == 8 ? image : image << (8 * UInt64(8 - count))
    }

    /// The column order of two non-null values of one indexed type (that of SQL's comparison: NaN
    /// equal to NaN and above every number, -0.0 equal to 0.0, text by Swift's (NFC) order).
    static func compare(_ a: Value, _ b: Value) -> Int {
        switch (a, b) {
        case (.text(let x), .text(let y)): return x < y ? -1 : x == y ? 0 : 1
        case (.uuid(let x), .uuid(let y)): return x < y ? -1 : x == y ? 0 : 1
        case (.double(let x), .double(let y)):
            let (p, q) = (NormalizedKey.equalityKey(x), NormalizedKey.equalityKey(y))
            return p < q ? -1 : p == q ? 0 : 1
        default:
            let (p, q) = (image(a, type: a.type ?? .int64) ?? 0, image(b, type: b.type ?? .int64) ?? 0)
            return p < q ? -1 : p == q ? 0 : 1
        }
    }
}

extension Transaction {
    /// The rows this transaction sees whose `index`ed column lies between `low` and `high` (nil: no bound
    /// on that side), ascending by primary key. Bounds take the column's type (an integer widens to a
    /// double or a timestamp column); a NULL bound matches nothing. The index's candidates and this
    /// transaction's own writes are each re-read through the snapshot and checked against the bounds, so
    /// the rows are exactly those a sequential scan with the same condition returns.
    public func rows(index name: String, low: IndexBound?, high: IndexBound?) throws(EngineError) -> RowBatch {
        guard !finished else { throw .transactionFinished }
        return try database.state.withLock { () throws(EngineError) -> RowBatch in
            let (table, index) = try database.index(named: name)
            var out = RowBatch(schema: table.schema)
            let column = table.schema.columns[index.column]
            var bounds: [IndexBound?] = []
            for bound in [low, high] {
                guard var bound else {
                    bounds.append(nil)
                    continue
                }
                bound.value = try column.coerce(bound.value)
                if bound.value == .null { return out }
                bounds.append(bound)
            }
            if index.hashed && bounds[0]?.value != bounds[1]?.value { throw .invalidRow("index \"\(name)\" finds equal values only") }
            let lowImage = bounds[0].flatMap { index.image(of: $0.value) } ?? 0
            let highImage = bounds[1].flatMap { index.image(of: $0.value) } ?? .max
            var keys = index.candidates(low: lowImage, high: highImage)
            let own = writes[table.id]
            if let own, !own.isEmpty {
                let values = own.rows.columns[index.column]
                var extra: [Int64] = []
                for (slot, key) in own.keys.enumerated() where own.row(at: slot) >= 0 {
                    let row = Int(own.row(at: slot))
                    if values.nulls[row] { continue }
                    let image = index.image(of: values, at: row)
                    if lowImage <= image && image <= highImage { extra.append(key) }
                }
                if !extra.isEmpty { keys = Array(Set(keys + extra)).sorted() }
            }
            for key in keys {
                guard let row = resolve(table, key, own: own) else { continue }
                let value = row[index.column]
                if value == .null { continue }
                if let low = bounds[0] {
                    let order = SecondaryIndex.compare(value, low.value)
                    if order < 0 || (order == 0 && !low.inclusive) { continue }
                }
                if let high = bounds[1] {
                    let order = SecondaryIndex.compare(value, high.value)
                    if order > 0 || (order == 0 && !high.inclusive) { continue }
                }
                out.append(row)
            }
            return out
        }
    }
}
