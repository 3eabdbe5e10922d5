import LearnedIndex

/// A table's live state: its schema, hot buffer and segments (oldest first).
final class TableState {
    let id: UInt32
    let schema: TableSchema
    var memtable: MemTable
    var segments: [Segment] = []
    /// Segments the manifest names that are not read yet, all older than `segments`: a table's segments
    /// are read, and its index entries built, at its first use (`Database.load`), so that opening a
    /// database reads nothing in proportion to its data.
    var unreadSegments: [UInt64] = []
    var needsLoad = false
    /// Every segment's id, oldest first.
    var segmentIDs: [UInt64] { unreadSegments + segments.map(\.id) }
    /// Secondary indexes over its columns (in memory; their definitions are in the log and manifest,
    /// except the primary key's index of a table with row ids, which comes with the table).
    var indexes: [SecondaryIndex] = []
    /// The next row id to hand out, when rows have them; ids a rolled-back insert took are not reused
    /// until the database opens again.
    private var nextRowID: Int64 = 1

    init(id: UInt32, schema: TableSchema) {
        self.id = id
        self.schema = schema
        self.memtable = MemTable(schema: schema)
        if schema.hasRowIDs { indexes.append(SecondaryIndex(primaryKeyOf: schema)) }
    }

    /// The index of a TEXT or UUID primary key.
    var keyIndex: SecondaryIndex? { indexes.first(where: \.isPrimaryKey) }

    /// A row id above every one the table holds or handed out (caller holds the engine lock).
    func allocateRowID() -> Int64 {
        let id = max(nextRowID, (maxKey ?? 0) + 1)
        nextRowID = id + 1
        return id
    }

    /// The largest key in the table in any version, if any.
    var maxKey: Int64? {
        let segmentMax = segments.map(\.maxKey).max()
        switch (memtable.maxKey, segmentMax) {
        case (let a?, let b?): return max(a, b)
        case (let a?, nil): return a
        case (nil, let b): return b
        }
    }
}

/// The manifest: the catalog, the live segments of every table, and where log replay starts. Replaced
/// atomically (temporary file, fsync, rename) at every checkpoint and compaction.
struct Manifest {
    static let magic: UInt32 = 0x464D_4D4F  // "OMMF"
    /// Version 2 adds each table's index definitions; version 1 files (no indexes) still open.
    static let version: UInt16 = 2
    static let fileName = "MANIFEST"

    struct Table {
        var id: UInt32
        var schema: TableSchema
        var segments: [UInt64]
        /// Index name and column position.
        var indexes: [(name: String, column: Int)] = []
    }

    var nextTransaction: TransactionID = 2
    var nextTable: UInt32 = 1
    var nextSegment: UInt64 = 1
    var replayStart = LogPosition(file: 1, offset: 0)
    var tables: [Table] = []
    /// Tables an open transaction had created at the checkpoint (ids below `nextTable`, in no manifest
    /// entry): if that transaction's commit is replayed, it creates them. Written after the tables, so a
    /// manifest without it reads as before.
    var pendingTables: [UInt32] = []

    func encoded() -> [UInt8] {
        var body = ByteWriter()
        body.u32(Self.magic)
        body.u16(Self.version)
        body.u64(nextTransaction)
        body.u32(nextTable)
        body.u64(nextSegment)
        body.u64(replayStart.raw)
        body.varint(UInt64(tables.count))
        for table in tables {
            body.u32(table.id)
            Self.encode(table.schema, into: &body)
            body.varint(UInt64(table.segments.count))
            for segment in table.segments { body.u64(segment) }
            body.varint(UInt64(table.indexes.count))
            for index in table.indexes {
                body.string(index.name)
                body.varint(UInt64(index.column))
            }
        }
        body.varint(UInt64(pendingTables.count))
        for id in pendingTables { body.u32(id) }
        var file = ByteWriter()
        file.block(body.bytes)
        return file.bytes
    }

    init() {}

    init(decoding bytes: [UInt8]) throws(EngineError) {
        var file = ByteReader(bytes, file: Self.fileName)
        var body = try file.block()
        guard file.isAtEnd else { throw file.corrupt("bytes after the manifest") }
        guard try body.u32() == Self.magic else { throw body.corrupt("not a manifest") }
        let version = try body.u16()
        guard version == 1 || version == Self.version else {
            throw body.corrupt("manifest version \(version) is not \(Self.version)")
        }
        nextTransaction = try body.u64()
        nextTable = try body.u32()
        nextSegment = try body.u64()
        replayStart = LogPosition(raw: try body.u64())
        let count = try body.count(limit: body.remaining)
        for _ in 0..<count {
            let id = try body.u32()
            let schema = try Self.decodeSchema(&body)
            let segmentCount = try body.count(limit: body.remaining / 8)
            var segments: [UInt64] = []
            for _ in 0..<segmentCount { segments.append(try body.u64()) }
            var table = Table(id: id, schema: schema, segments: segments)
            if version >= 2 {
                let indexCount = try body.count(limit: body.remaining)
                for _ in 0..<indexCount {
                    let name = try body.string()
                    let column = try body.count(limit: schema.columns.count - 1)
                    table.indexes.append((name, column))
                }
            }
            tables.append(table)
        }
        if !body.isAtEnd {
            let pending = try body.count(limit: body.remaining / 4)
            for _ in 0..<pending { pendingTables.append(try body.u32()) }
        }
    }

    static func encode(_ schema: TableSchema, into writer: inout ByteWriter) {
        writer.string(schema.name)
        writer.varint(UInt64(schema.visibleColumns.count))
        for column in schema.visibleColumns {
            writer.string(column.name)
            writer.u8(column.type.rawValue)
            writer.u8(column.nullable ? 1 : 0)
        }
        writer.varint(UInt64(schema.primaryKey))
    }

    static func decodeSchema(_ reader: inout ByteReader) throws(EngineError) -> TableSchema {
        let name = try reader.string()
        let count = try reader.count(limit: reader.remaining)
        var columns: [Column] = []
        for _ in 0..<count {
            let columnName = try reader.string()
            guard let type = ColumnType(rawValue: try reader.u8()) else { throw reader.corrupt("unknown column type") }
            columns.append(Column(columnName, type, nullable: try reader.u8() == 1))
        }
        let key = try reader.count(limit: max(0, count - 1))
        do {
            return try TableSchema(name: name, columns: columns, primaryKey: columns[key].name)
        } catch {
            throw reader.corrupt("table definition: \(error)")
        }
    }
}

/// Log record kinds.
enum LogRecord: UInt8 {
    case createTable = 1, dropTable, commit
    /// A commit that also creates and drops tables (DDL inside a transaction): all of it, or none.
    case commitWithDDL
    /// Table id, index name, column position.
    case createIndex
    /// Table id, index name.
    case dropIndex
}
