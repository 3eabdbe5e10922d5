import LearnedIndex

/// An immutable, sorted run of one table's rows on disk: one CRC32C-framed block for the header, the
/// primary keys (delta-packed), the tombstones, each other column, and the learned model over the keys.
/// In memory the keys are kept normalised, so the model's window and the bounded search run on them.
final class Segment: @unchecked Sendable {
    static let magic: UInt32 = 0x4753_4D4F  // "OMSG"
    static let version: UInt16 = 1
    /// The model over a segment's keys: a two-stage RMI with about 128 keys a leaf builds in one pass
    /// of cheap arithmetic (a flush must keep up with ingest) and records each leaf's exact error.
    static func modelKind(keyCount: Int) -> ModelKind {
        .recursive(leaves: min(1 << 20, max(1, keyCount / 128)))
    }

    let id: UInt64
    let tableID: UInt32
    /// Normalised primary keys, ascending and unique.
    let keys: [UInt64]
    /// Rows that record a deletion (they shadow older segments) rather than a value.
    let tombstones: [Bool]
    let hasTombstones: Bool
    /// Every column, the primary key included.
    let rows: RowBatch
    let model: LearnedModel
    /// Bytes of the file.
    let byteCount: Int

    var count: Int { keys.count }
    var minKey: Int64 { NormalizedKey.decodeInt64(keys.first ?? 0) }
    var maxKey: Int64 { NormalizedKey.decodeInt64(keys.last ?? 0) }

    static func fileName(_ id: UInt64) -> String {
        let hex = String(id, radix: 16)
        return "seg-" + String(repeating: "0", count: max(0, 16 - hex.count)) + hex + ".dat"
    }

    private init(id: UInt64, tableID: UInt32, keys: [UInt64], tombstones: [Bool], rows: RowBatch,
                 model: LearnedModel, byteCount: Int) {
        self.id = id
        self.tableID = tableID
        self.keys = keys
        self.tombstones = tombstones
        self.hasTombstones = tombstones.contains(true)
        self.rows = rows
        self.model = model
        self.byteCount = byteCount
    }

    /// Writes a segment of `rows` (sorted by the primary key, keys unique, at least one row) to
    /// `directory`, fsynced, and returns it.
    static func write(
        id: UInt64, tableID: UInt32, schema: TableSchema, rows: RowBatch, tombstones: [Bool], directory: String
    ) throws(EngineError) -> Segment {
        let keyColumn = rows.columns[schema.storageKey].integers
        let keys = keyColumn.map(NormalizedKey.encode)
        let model: LearnedModel
        do {
            model = try keys.withUnsafeBufferPointer { (buffer) throws(LearnedIndexError) in
                try LearnedModel(kind: modelKind(keyCount: buffer.count), keys: buffer)
            }
        } catch {
            throw .invalidRow("segment keys are not sorted and unique: \(error)")
        }
        // The blocks are written one after another, never joined: a large segment is not held twice.
        var parts: [[UInt8]] = []
        func append(block payload: [UInt8]) {
            var frame = ByteWriter()
            frame.blockHeader(payload)
            parts.append(frame.bytes)
            parts.append(payload)
        }
        var header = ByteWriter()
        header.u32(magic)
        header.u16(version)
        header.u32(tableID)
        header.u64(UInt64(rows.count))
        header.u16(UInt16(schema.columns.count))
        for column in schema.columns { header.u8(column.type.rawValue) }
        append(block: header.bytes)
        var keyBlock = ByteWriter()
        IntegerPacking.encode(keyColumn, deltas: true, into: &keyBlock)
        append(block: keyBlock.bytes)
        var tombstoneBlock = ByteWriter()
        ColumnCoding.encodeFlags(tombstones, into: &tombstoneBlock)
        append(block: tombstoneBlock.bytes)
        for (index, column) in rows.columns.enumerated() where index != schema.storageKey {
            var block = ByteWriter()
            ColumnCoding.encode(column, into: &block)
            append(block: block.bytes)
        }
        append(block: model.serialized())
        let path = directory + "/" + fileName(id)
        try Files.replace(path, withParts: parts, directory: directory)
        return Segment(id: id, tableID: tableID, keys: keys, tombstones: tombstones, rows: rows, model: model,
                       byteCount: parts.reduce(0) { $0 + $1.count })
    }

    /// Reads and verifies segment `id` of a table with `schema`.
    static func load(id: UInt64, tableID: UInt32, schema: TableSchema, directory: String) throws(EngineError) -> Segment {
        let name = fileName(id)
        let bytes = try Files.read(directory + "/" + name)
        var file = ByteReader(bytes, file: name)
        var header = try file.block()
        guard try header.u32() == magic else { throw header.corrupt("not a segment file") }
        let version = try header.u16()
        guard version == Self.version else { throw header.corrupt("segment version \(version) is not \(Self.version)") }
        guard try header.u32() == tableID else { throw header.corrupt("segment of another table") }
        let count = Int(try header.u64())
        guard count > 0 && count <= bytes.count * 8 else { throw header.corrupt("row count \(count)") }
        guard Int(try header.u16()) == schema.columns.count else { throw header.corrupt("column count differs from the catalog") }
        for column in schema.columns where try header.u8() != column.type.rawValue {
            throw header.corrupt("column \(column.name) has another type in the catalog")
        }
        var keyBlock = try file.block()
        let keyColumn = try IntegerPacking.decode(count: count, from: &keyBlock)
        let keys = keyColumn.map(NormalizedKey.encode)
        for index in keys.indices.dropFirst() where keys[index - 1] >= keys[index] {
            throw keyBlock.corrupt("keys out of order at row \(index)")
        }
        var tombstoneBlock = try file.block()
        let tombstones = try ColumnCoding.decodeFlags(count: count, from: &tombstoneBlock)
        var columns: [ColumnVector] = []
        for (index, column) in schema.columns.enumerated() {
            if index == schema.storageKey {
                columns.append(ColumnVector(type: column.type, integers: keyColumn))
            } else {
                var block = try file.block()
                columns.append(try ColumnCoding.decode(column.type, count: count, from: &block))
                guard block.isAtEnd else { throw block.corrupt("bytes after the column") }
            }
        }
        let modelBlock = try file.block()
        let model: LearnedModel
        do {
            model = try modelBlock.bytes.withUnsafeBytes { (raw) throws(LearnedIndexError) in
                try LearnedModel(deserializing: raw)
            }
        } catch {
            throw .corrupt(file: name, offset: modelBlock.base, reason: "learned model: \(error)")
        }
        guard model.keyCount == count else { throw .corrupt(file: name, offset: modelBlock.base, reason: "model covers \(model.keyCount) keys, not \(count)") }
        guard file.isAtEnd else { throw file.corrupt("bytes after the last block") }
        return Segment(id: id, tableID: tableID, keys: keys, tombstones: tombstones, rows: RowBatch(columns: columns),
                       model: model, byteCount: bytes.count)
    }

    /// The position of `key`, found through the learned model, or nil.
    func position(of key: Int64) -> Int? {
        let normalized = NormalizedKey.encode(key)
        let position = keys.withUnsafeBufferPointer { model.lowerBound(of: normalized, in: $0) }
        return position < keys.count && keys[position] == normalized ? position : nil
    }

    /// The positions of keys in `[from, to)` (nil: unbounded).
    func positions(from: Int64?, to: Int64?) -> Range<Int> {
        keys.withUnsafeBufferPointer { buffer in
            let lower = from.map { model.lowerBound(of: NormalizedKey.encode($0), in: buffer) } ?? 0
            let upper = to.map { model.lowerBound(of: NormalizedKey.encode($0), in: buffer) } ?? buffer.count
            return lower..<max(lower, upper)
        }
    }
}
