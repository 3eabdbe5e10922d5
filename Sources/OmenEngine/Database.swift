#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import LearnedIndex

/// An embedded database for ordered data: a directory holding a write-ahead log, a manifest and
/// immutable segment files, opened by one process at a time. Thread-safe: any number of threads may run
/// transactions at once; each `Transaction` belongs to one thread at a time.
public final class Database: @unchecked Sendable {
    public struct Options: Sendable {
        /// Hot rows per table that trigger a flush to a segment at commit.
        public var flushThreshold = 1 << 20
        /// Segments per table that start a background compaction.
        public var compactionTrigger = 4
        public var backgroundCompaction = true
        /// Opens a database whose log is damaged before its tail (which open otherwise refuses, naming the
        /// file and offset): replay stops at the first damaged record, that record and everything logged
        /// after it are moved aside into `*.damaged` files and listed in `repairedLog`, and the commits they
        /// held are lost. Only ever on request.
        public var repairLog = false
        /// Opens a consistent snapshot for reading: the newest durable commits at open, no lock taken (a
        /// writer may run meanwhile, in this process or another; this one sees none of its later commits),
        /// nothing written. Writes, DDL and checkpoints throw `.readOnly`. A directory this process cannot
        /// write (a read-only mount, a snapshot, a backup) opens this way on its own.
        public var readOnly = false
        public init() {}
    }

    /// The transaction id of everything recovered from the log: committed before any live snapshot.
    static let recoveredTransaction: TransactionID = 1

    public let path: String
    let options: Options
    /// Whether this is a read-only snapshot (`Options.readOnly`, or a directory that cannot be written).
    public let isReadOnly: Bool
    private var directoryLock: DirectoryLock?
    /// Guards everything below and every table's state.
    let state = Monitor()
    private var wal: WriteAheadLog!
    var tables: [UInt32: TableState] = [:]
    var tableIDs: [String: UInt32] = [:]
    /// Tables created inside transactions that have not committed, by the creating transaction.
    private var pendingTables: [UInt32: TransactionID] = [:]
    /// Where the log records of DDL commits start that are logged but not yet applied to the catalog: a
    /// checkpoint meanwhile keeps the log from there, so that replay applies them.
    private var ddlInFlight: [TransactionID: LogPosition] = [:]
    /// At recovery: the manifest's pending tables, which a replayed commit may create.
    private var recoverablePending: Set<UInt32> = []
    private var nextTransaction: TransactionID = 2
    private var nextTable: UInt32 = 1
    private var nextSegment: UInt64 = 1
    private var replayStart = LogPosition(file: 1, offset: 0)
    /// Running transactions and the xmin of each one's snapshot.
    private var running: [TransactionID: TransactionID] = [:]
    /// Transactions whose commit record could not be made durable.
    private var failed: Set<TransactionID> = []
    /// Segment files being written outside the lock (not yet in the manifest, not to be cleaned up).
    private var segmentsInProgress: Set<UInt64> = []
    private var isClosed = false
    private var compactor: BackgroundWorker?
    /// The last error of background work: a compaction, or the flush a commit started after it was durable.
    public private(set) var backgroundError: EngineError?
    /// What `Options.repairLog` moved aside at open, one line per file; empty when nothing was damaged.
    public private(set) var repairedLog: [String] = []
    /// The snapshot horizon of the last checkpoint that succeeded.
    private var checkpointHorizon: TransactionID = 0

    /// Opens (creating if absent) the database in directory `path`, replaying its log.
    public static func open(_ path: String, options: Options = Options()) throws(EngineError) -> Database {
        try Database(path: path, options: options)
    }

    private init(path: String, options: Options) throws(EngineError) {
        self.path = path
        self.options = options
        isReadOnly = options.readOnly || Files.isReadOnlyDirectory(path)
        let manifestPath = path + "/" + Manifest.fileName
        if isReadOnly {
            guard !options.repairLog else { throw .readOnly(path: path) }
            // A writer's checkpoint may replace the manifest and remove the files the old one named while
            // they are read: then the snapshot is read again from the new manifest.
            var attempt = 0
            while true {
                let bytes = try Files.read(manifestPath)
                do throws(EngineError) {
                    _ = try recover(from: try Manifest(decoding: bytes))
                    // A snapshot reads its files now: the writer may remove them later.
                    try state.withLock { () throws(EngineError) in
                        for table in tables.values {
                            table.needsLoad = true
                            try load(table)
                        }
                    }
                    break
                } catch {
                    attempt += 1
                    guard attempt < 20, (try? Files.read(manifestPath)) != bytes else { throw error }
                    tables = [:]
                    tableIDs = [:]
                    pendingTables = [:]
                }
            }
        } else {
            try Files.makeDirectory(path)
            directoryLock = try DirectoryLock(directory: path)
            let manifest: Manifest
            if Files.exists(manifestPath) {
                manifest = try Manifest(decoding: try Files.read(manifestPath))
            } else {
                manifest = Manifest()
                try Files.replace(manifestPath, with: manifest.encoded(), directory: path)
            }
            let end = try recover(from: manifest)
            if let damaged = end.damaged { try moveAside(damaged) }
            wal = try WriteAheadLog(directory: path, sequence: end.sequence, offset: end.offset)
        }
        guard !isReadOnly else { return }
        for table in tables.values { table.needsLoad = true }
        try state.withLock { () throws(EngineError) in try removeUnusedFiles(includingTemporary: true) }
        if options.backgroundCompaction {
            // Weak: a database dropped without `close` must not be kept alive by its own worker.
            compactor = BackgroundWorker { [weak self] table in
                guard let self else { return }
                do throws(EngineError) { try self.compact(tableID: table) } catch { self.noteBackground(error) }
            }
        }
    }

    /// Takes the tables `manifest` names (their segments unread), then replays the log after its checkpoint;
    /// returns where the log ends (and its damage, when repairing).
    private func recover(from manifest: Manifest) throws(EngineError) -> (sequence: UInt64, offset: UInt64, damaged: (file: UInt64, offset: Int)?) {
        nextTransaction = manifest.nextTransaction
        nextTable = manifest.nextTable
        nextSegment = manifest.nextSegment
        replayStart = manifest.replayStart
        recoverablePending = Set(manifest.pendingTables)
        for entry in manifest.tables {
            let table = TableState(id: entry.id, schema: entry.schema)
            table.unreadSegments = entry.segments
            for index in entry.indexes {
                table.indexes.append(SecondaryIndex(name: index.name, column: index.column,
                                                    type: entry.schema.columns[index.column].type))
            }
            tables[entry.id] = table
            tableIDs[entry.schema.name] = entry.id
        }
        return try WriteAheadLog.replay(directory: path, from: replayStart, repair: options.repairLog) {
            (reader, end) throws(EngineError) in
            let start = LogPosition(file: end.file, offset: end.offset - UInt64(reader.bytes.count) - 8)
            try self.apply(&reader, start: start)
        }
    }

    /// Reads a table's segments and builds its index entries, at its first use since open (caller holds
    /// the lock). Nothing has written to the table since open, so every snapshot reads the newest version
    /// of each row: the entries are those of these rows, without stale ones.
    func load(_ table: TableState) throws(EngineError) {
        guard table.needsLoad else { return }
        var segments: [Segment] = []
        for id in table.unreadSegments {
            segments.append(try Segment.load(id: id, tableID: table.id, schema: table.schema, directory: path))
        }
        table.segments = segments + table.segments
        table.unreadSegments = []
        if !table.indexes.isEmpty {
            let everything = Snapshot(xmin: nextTransaction, xmax: nextTransaction, inProgress: [], current: 0)
            let rows = Transaction.newestRows(of: table, in: self, snapshot: everything)
            for index in table.indexes { index.rebuild(from: rows, key: table.schema.storageKey) }
        }
        table.needsLoad = false
    }

    /// Keeps the log from a damaged record on (the damaged file's rest, and every later file) as
    /// `*.damaged` files no replay reads, and lists them in `repairedLog`; the damaged file is then cut
    /// back to its valid records (by the log's open).
    private func moveAside(_ damaged: (file: UInt64, offset: Int)) throws(EngineError) {
        let name = WriteAheadLog.fileName(damaged.file)
        let bytes = try Files.read(path + "/" + name)
        try Files.replace(path + "/" + name + ".damaged", with: Array(bytes[damaged.offset...]), directory: path)
        repairedLog.append("\(name) from byte \(damaged.offset): \(bytes.count - damaged.offset) bytes, kept in \(name).damaged")
        for later in try Files.list(path).compactMap(WriteAheadLog.sequence(ofFile:)) where later > damaged.file {
            let laterName = WriteAheadLog.fileName(later)
            try Files.check(rename(path + "/" + laterName, path + "/" + laterName + ".damaged"), "rename", laterName)
            repairedLog.append("\(laterName): the whole file, kept as \(laterName).damaged")
        }
        try Files.syncDirectory(path)
    }

    /// Applies one log record during recovery.
    private func apply(_ reader: inout ByteReader, start: LogPosition) throws(EngineError) {
        guard let kind = LogRecord(rawValue: try reader.u8()) else { throw reader.corrupt("unknown log record") }
        switch kind {
        case .createTable:
            let id = try reader.u32()
            let schema = try Manifest.decodeSchema(&reader)
            if tables[id] == nil && id >= nextTable {
                tables[id] = TableState(id: id, schema: schema)
                tableIDs[schema.name] = id
            }
            nextTable = max(nextTable, id + 1)
        case .dropTable:
            let id = try reader.u32()
            if let table = tables.removeValue(forKey: id) { tableIDs[table.schema.name] = nil }
            nextTable = max(nextTable, id + 1)
        case .createIndex:
            let id = try reader.u32()
            let name = try reader.string()
            let column = try reader.count(limit: Int(UInt16.max))
            if let table = tables[id], column < table.schema.columns.count, !table.indexes.contains(where: { $0.name == name }) {
                table.indexes.append(SecondaryIndex(name: name, column: column, type: table.schema.columns[column].type))
            }
        case .dropIndex:
            let id = try reader.u32()
            let name = try reader.string()
            tables[id]?.indexes.removeAll { $0.name == name }
        case .commit, .commitWithDDL:
            let transaction = try reader.u64()
            nextTransaction = max(nextTransaction, transaction + 1)
            var dropped: [UInt32] = []
            if kind == .commitWithDDL {
                let created = try reader.count(limit: reader.remaining)
                for _ in 0..<created {
                    let id = try reader.u32()
                    let schema = try Manifest.decodeSchema(&reader)
                    // Created after the checkpoint, or pending at it; anything else was dropped before it.
                    if tables[id] == nil && (id >= nextTable || recoverablePending.contains(id)) {
                        tables[id] = TableState(id: id, schema: schema)
                        tableIDs[schema.name] = id
                    }
                    nextTable = max(nextTable, id + 1)
                }
                let dropCount = try reader.count(limit: reader.remaining)
                for _ in 0..<dropCount { dropped.append(try reader.u32()) }
            }
            defer {
                for id in dropped { if let table = tables.removeValue(forKey: id) { tableIDs[table.schema.name] = nil } }
            }
            let tableCount = try reader.count(limit: reader.remaining)
            for _ in 0..<tableCount {
                let id = try reader.u32()
                let length = try reader.count(limit: reader.remaining)
                var section = try reader.reader(length)
                // A table dropped before the checkpoint that replay starts behind: nothing to apply.
                guard let table = tables[id] else { continue }
                let count = try section.count(limit: section.remaining * 8)
                let keys = try IntegerPacking.decode(count: count, from: &section)
                let deletions = try ColumnCoding.decodeFlags(count: count, from: &section)
                let puts = deletions.lazy.filter { !$0 }.count
                var columns: [ColumnVector] = []
                for column in table.schema.columns {
                    columns.append(try ColumnCoding.decode(column.type, count: puts, from: &section))
                }
                guard section.isAtEnd else { throw section.corrupt("bytes after the table's writes") }
                let batch = RowBatch(columns: columns)
                var next = 0
                for (index, key) in keys.enumerated() {
                    let row: Int? = deletions[index] ? nil : next
                    if !deletions[index] { next += 1 }
                    table.memtable.install(key, creator: Self.recoveredTransaction, batch: batch, row: row, logStart: start)
                }
            }
        }
        guard reader.isAtEnd else { throw reader.corrupt("bytes after the log record") }
    }

    /// Stops background work, checkpoints, and releases the directory. Further calls do nothing. The
    /// checkpoint only shortens the next open's replay: if it fails (a full disk), every commit is still in
    /// the log, so the failure goes to `backgroundError` and the close succeeds.
    public func close() {
        compactor?.stop()
        compactor = nil
        state.withLock {
            guard !isClosed else { return }
            isClosed = true
            if !isReadOnly {
                do throws(EngineError) { try checkpointLocked() } catch { backgroundError = error }
            }
        }
        // Commits waiting to hear that they are durable hear it (their records were written above) before
        // the directory is let go.
        wal?.stopFlusher()
        state.withLock { directoryLock = nil }
    }

    deinit {
        compactor?.stop()
        wal?.stopFlusher()
    }

    // MARK: Catalog

    /// Creates a table inside `transaction`: only it sees the table until it commits, when the creation
    /// is logged in its commit record (so a crash before the commit leaves no table); rollback removes it.
    public func createTable(_ schema: TableSchema, in transaction: Transaction) throws(EngineError) {
        try state.withLock { () throws(EngineError) in
            try checkWritable()
            guard tableIDs[schema.name] == nil else { throw .tableExists(schema.name) }
            let id = nextTable
            nextTable += 1
            tables[id] = TableState(id: id, schema: schema)
            tableIDs[schema.name] = id
            pendingTables[id] = transaction.id
            transaction.createdTables.append(id)
        }
    }

    /// Drops a table when `transaction` commits (in its commit record); at once if it created the table.
    public func dropTable(_ name: String, in transaction: Transaction) throws(EngineError) {
        try state.withLock { () throws(EngineError) in
            try checkWritable()
            guard let id = tableIDs[name], pendingTables[id].map({ $0 == transaction.id }) ?? true else { throw .tableNotFound(name) }
            if pendingTables[id] != nil {
                removeTableLocked(id)
                transaction.createdTables.removeAll { $0 == id }
                transaction.writes[id] = nil
            } else if !transaction.droppedTables.contains(id) {
                transaction.droppedTables.append(id)
            }
        }
    }

    /// Forgets the tables an unfinished transaction created.
    func discardDDL(of transaction: Transaction) {
        state.withLock {
            for id in transaction.createdTables where pendingTables[id] == transaction.id { removeTableLocked(id) }
        }
    }

    private func removeTableLocked(_ id: UInt32) {
        pendingTables[id] = nil
        if let table = tables.removeValue(forKey: id) { tableIDs[table.schema.name] = nil }
    }

    /// Creates a table; durable when it returns.
    public func createTable(_ schema: TableSchema) throws(EngineError) {
        let end = try state.withLock { () throws(EngineError) -> LogPosition in
            try checkWritable()
            guard tableIDs[schema.name] == nil else { throw .tableExists(schema.name) }
            let id = nextTable
            nextTable += 1
            var record = ByteWriter()
            record.u8(LogRecord.createTable.rawValue)
            record.u32(id)
            Manifest.encode(schema, into: &record)
            let end = try wal.append(record.bytes)
            tables[id] = TableState(id: id, schema: schema)
            tableIDs[schema.name] = id
            return end
        }
        try wal.waitDurable(end)
    }

    /// Drops a table and, at the next checkpoint, its files.
    public func dropTable(_ name: String) throws(EngineError) {
        let end = try state.withLock { () throws(EngineError) -> LogPosition in
            try checkWritable()
            guard let id = tableIDs.removeValue(forKey: name) else { throw .tableNotFound(name) }
            tables[id] = nil
            var record = ByteWriter()
            record.u8(LogRecord.dropTable.rawValue)
            record.u32(id)
            return try wal.append(record.bytes)
        }
        try wal.waitDurable(end)
    }

    // MARK: Indexes

    /// Creates a secondary index on `column` of `table` (BIGINT, DOUBLE PRECISION, TIMESTAMP, DATE, TEXT or
    /// BOOLEAN), built from the table's rows under the engine lock; the definition is durable when it
    /// returns. Index names are unique across the database.
    public func createIndex(name: String, table tableName: String, column columnName: String) throws(EngineError) {
        let end = try state.withLock { () throws(EngineError) -> LogPosition in
            try checkWritable()
            let table = try table(named: tableName)
            guard !name.isEmpty else { throw .invalidSchema("an index needs a name") }
            guard indexLocked(named: name) == nil else { throw .indexExists(name) }
            guard let column = table.schema.columnIndex(columnName) else {
                throw .invalidSchema("column \"\(columnName)\" of table \"\(tableName)\" does not exist")
            }
            let type = table.schema.columns[column].type
            guard SecondaryIndex.supports(type) else {
                throw .invalidSchema("an index cannot be built on a column of type \(type.sqlName)")
            }
            var record = ByteWriter()
            record.u8(LogRecord.createIndex.rawValue)
            record.u32(table.id)
            record.string(name)
            record.varint(UInt64(column))
            let end = try wal.append(record.bytes)
            let index = SecondaryIndex(name: name, column: column, type: type)
            // Every version held, for the snapshots that still read older ones.
            index.rebuild(from: [table.memtable.rows] + table.segments.map(\.rows), key: table.schema.storageKey)
            table.indexes.append(index)
            return end
        }
        try wal.waitDurable(end)
    }

    /// Drops the index called `name`.
    public func dropIndex(_ name: String) throws(EngineError) {
        let end = try state.withLock { () throws(EngineError) -> LogPosition in
            try checkWritable()
            guard let (table, index) = indexLocked(named: name) else { throw .indexNotFound(name) }
            guard !index.isPrimaryKey else { throw .indexRequired(index: name, table: table.schema.name) }
            var record = ByteWriter()
            record.u8(LogRecord.dropIndex.rawValue)
            record.u32(table.id)
            record.string(name)
            let end = try wal.append(record.bytes)
            table.indexes.removeAll { $0.name == name }
            return end
        }
        try wal.waitDurable(end)
    }

    /// Every index (of `table`, when given), by name.
    public func indexes(on table: String? = nil) -> [IndexDefinition] {
        state.withLock {
            tables.values.filter { table == nil || $0.schema.name == table }.flatMap { state in
                state.indexes.map { index in
                    var definition = IndexDefinition(name: index.name, table: state.schema.name, column: state.schema.columns[index.column].name)
                    definition.isPrimaryKey = index.isPrimaryKey
                    definition.equalityOnly = index.hashed
                    return definition
                }
            }.sorted { $0.name < $1.name }
        }
    }

    /// How big the index is and where its learned run predicts `value` (the lower end of a range).
    public func indexStatistics(_ name: String, at value: Value?) throws(EngineError) -> IndexStatistics {
        try state.withLock { () throws(EngineError) in
            let (_, index) = try index(named: name)
            return index.statistics(low: value.flatMap { index.image(of: $0) } ?? 0)
        }
    }

    /// Throws unless the database is open for writing (caller holds the lock).
    func checkWritable() throws(EngineError) {
        guard !isClosed else { throw .closed }
        guard !isReadOnly else { throw .readOnly(path: path) }
    }

    private func indexLocked(named name: String) -> (TableState, SecondaryIndex)? {
        for table in tables.values {
            if let index = table.indexes.first(where: { $0.name == name }) { return (table, index) }
        }
        return nil
    }

    /// The index called `name` and its table (caller holds the lock).
    func index(named name: String) throws(EngineError) -> (TableState, SecondaryIndex) {
        guard !isClosed else { throw .closed }
        guard let found = indexLocked(named: name) else { throw .indexNotFound(name) }
        try load(found.0)
        return found
    }

    /// The schema of table `name`.
    public func schema(_ name: String) throws(EngineError) -> TableSchema {
        try state.withLock { () throws(EngineError) in try unloadedTable(named: name).schema }
    }

    /// Every table's schema, by name.
    public var schemas: [TableSchema] {
        state.withLock { tables.values.map(\.schema).sorted { $0.name < $1.name } }
    }

    /// Segment count and hot rows of a table (for inspection and tests).
    public func storageInfo(_ name: String) throws(EngineError) -> (segments: Int, hotRows: Int, segmentBytes: Int) {
        try state.withLock { () throws(EngineError) in
            let table = try table(named: name)
            return (table.segments.count, table.memtable.rowCount, table.segments.reduce(0) { $0 + $1.byteCount })
        }
    }

    /// Where a lookup of `key` goes: hot rows, and per segment holding the key's range its rows and the
    /// model's window (the positions the bounded search covers).
    public func lookupPlan(_ name: String, key: Int64) throws(EngineError)
        -> (hotRows: Int, segments: [(id: UInt64, rows: Int, window: ClosedRange<Int>)])
    {
        try state.withLock { () throws(EngineError) in
            let table = try table(named: name)
            let segments = table.segments.filter { $0.minKey <= key && key <= $0.maxKey }.map { segment in
                let window = segment.model.window(for: NormalizedKey.encode(key))
                return (segment.id, segment.count, window.lo...window.hi)
            }
            return (table.memtable.rowCount, segments)
        }
    }

    /// The table called `name`, its segments read (caller holds the lock).
    func table(named name: String) throws(EngineError) -> TableState {
        let table = try unloadedTable(named: name)
        try load(table)
        return table
    }

    /// The table called `name`, as it may be before its first use (caller holds the lock).
    private func unloadedTable(named name: String) throws(EngineError) -> TableState {
        guard !isClosed else { throw .closed }
        guard let id = tableIDs[name], let table = tables[id] else { throw .tableNotFound(name) }
        return table
    }

    // MARK: Transactions

    /// Starts a transaction with a snapshot of everything committed so far.
    public func begin() throws(EngineError) -> Transaction {
        let (id, snapshot) = try state.withLock { () throws(EngineError) in
            guard !isClosed else { throw .closed }
            let id = nextTransaction
            nextTransaction += 1
            let others = Array(running.keys)
            let snapshot = Snapshot(xmin: others.min() ?? id, xmax: id, inProgress: others, current: id)
            running[id] = snapshot.xmin
            return (id, snapshot)
        }
        return Transaction(database: self, id: id, snapshot: snapshot)
    }

    /// Runs `body` in a transaction and commits it, or rolls back if `body` throws.
    public func transaction<T>(_ body: (Transaction) throws(EngineError) -> T) throws(EngineError) -> T {
        let transaction = try begin()
        do {
            let result = try body(transaction)
            try transaction.commit()
            return result
        } catch {
            transaction.rollback()
            throw error
        }
    }

    /// The commit log as the library's visibility rules read it (caller holds the lock).
    struct CommitLog: TransactionStatusSource {
        let database: Database
        func status(of transaction: TransactionID) -> TransactionStatus {
            if database.failed.contains(transaction) { return .aborted }
            return database.running[transaction] != nil ? .inProgress : .committed
        }
    }

    /// Whether `snapshot` sees the writes of `creator` (caller holds the lock).
    func sees(_ creator: TransactionID, through snapshot: Snapshot) -> Bool {
        snapshot.isVisible(VersionStamp(creator: creator), in: CommitLog(database: self))
    }

    func finish(_ transaction: TransactionID) {
        state.withLock { _ = running.removeValue(forKey: transaction) }
    }

    /// Whether a commit should flush `table` (caller holds the lock): its buffer is past the threshold and
    /// the snapshot horizon moved since the last checkpoint; while a long-lived snapshot holds it back,
    /// a flush could take no more rows than the last one did.
    private func flushDue(_ table: TableState) -> Bool {
        table.memtable.rowCount >= options.flushThreshold && (running.values.min() ?? nextTransaction) > checkpointHorizon
    }

    /// Validates and installs a transaction's writes, then waits for its log record to be durable.
    func commit(_ transaction: Transaction) throws(EngineError) {
        guard let installed = try install(transaction) else { return }
        var failure: EngineError?
        do { try wal.waitDurable(installed.end) } catch { failure = error }
        if try settle(installed, failure) { flushAfterCommit() }
    }

    /// `commit`, except that it returns once the writes are installed: `done` gets the outcome, nil once
    /// the log record is durable or the log's failure, from the log's flusher thread. The writes stay
    /// invisible to other transactions until then; conflicts and other refusals are thrown here.
    func commit(_ transaction: Transaction, whenDurable done: @escaping @Sendable (EngineError?) -> Void) throws(EngineError) {
        guard let installed = try install(transaction) else { return done(nil) }
        wal.whenDurable(installed.end) { [self] failure in
            do throws(EngineError) {
                let toFlush = try settle(installed, failure)
                done(nil)
                if toFlush { flushAfterCommit() }
            } catch {
                done(error)
            }
        }
    }

    /// A commit's writes installed and its record appended: whose, where the record ends, the tables it
    /// creates and drops, and whether a flush is due once it is durable.
    struct InstalledCommit: Sendable {
        var transaction: TransactionID
        var end: LogPosition
        var createdTables: [UInt32]
        var droppedTables: [UInt32]
        var toFlush: Bool
        var ddl: Bool
    }

    /// Validates a transaction's writes (first committer wins), appends its commit record and installs
    /// them, still invisible (the transaction is running); nil when there was nothing to write.
    private func install(_ transaction: Transaction) throws(EngineError) -> InstalledCommit? {
        let writes = transaction.writes.filter { !$0.value.isEmpty }
        // The hot buffer may take the writes' arrays as they are; no other reference may keep them shared.
        transaction.writes = [:]
        let ddl = !transaction.createdTables.isEmpty || !transaction.droppedTables.isEmpty
        if writes.isEmpty && !ddl {
            finish(transaction.id)
            return nil
        }
        var toFlush = false
        let end = try state.withLock { () throws(EngineError) -> LogPosition in
            do throws(EngineError) {
                guard !isClosed else { throw .closed }
                var record = ByteWriter()
                record.u8((ddl ? LogRecord.commitWithDDL : .commit).rawValue)
                record.u64(transaction.id)
                if ddl {
                    record.varint(UInt64(transaction.createdTables.count))
                    for id in transaction.createdTables {
                        record.u32(id)
                        Manifest.encode(tables[id]!.schema, into: &record)
                    }
                    for id in transaction.droppedTables where tables[id] == nil {
                        throw .tableNotFound(transaction.tableNames[id] ?? "\(id)")
                    }
                    record.varint(UInt64(transaction.droppedTables.count))
                    for id in transaction.droppedTables { record.u32(id) }
                }
                record.varint(UInt64(writes.count))
                for (id, set) in writes.sorted(by: { $0.key < $1.key }) {
                    // Another transaction's uncommitted table is no table to this one.
                    guard let table = tables[id], pendingTables[id].map({ $0 == transaction.id }) ?? true else {
                        throw .tableNotFound(transaction.tableNames[id] ?? "\(id)")
                    }
                    // First committer wins: a newer version by anyone this snapshot does not see is a conflict.
                    // Keys past every hot key (a time series) have no versions to check.
                    let pastHot = set.ordered && table.memtable.isAppendable(after: set.keys.first)
                    for key in set.keys where !pastHot {
                        if let head = table.memtable.head(key) {
                            let creator = table.memtable.version(head).creator
                            if !sees(creator, through: transaction.snapshot) {
                                throw .writeConflict(table: table.schema.name, key: keyValue(table, key, set))
                            }
                        }
                    }
                    if table.schema.hasRowIDs { try checkNewKeys(set, table, transaction.snapshot) }
                    // The section is encoded in place and its length put before it: a bulk load's record
                    // is not built twice.
                    record.u32(id)
                    let section = record.bytes.count
                    // Room for fixed-width columns, so a bulk load's record does not grow by copies (pages
                    // reserved and not written are never resident).
                    record.bytes.reserveCapacity(section + 16 + set.count * (9 * set.rows.columns.count + 10))
                    record.varint(UInt64(set.count))
                    IntegerPacking.encode(set.keys, deltas: false, into: &record)
                    ColumnCoding.encodeFlags(set.deletionFlags, into: &record)
                    for column in set.putRows.columns { ColumnCoding.encode(column, into: &record) }
                    record.insertVarint(UInt64(record.bytes.count - section), at: section)
                }
                let end = try wal.append(record.bytes)
                let start = LogPosition(file: end.file, offset: end.offset - UInt64(record.bytes.count) - 8)
                if ddl { ddlInFlight[transaction.id] = start }
                for (id, set) in writes {
                    let table = tables[id]!
                    if set.ordered && !set.rewritten
                        && table.memtable.installAppending(set.keys, creator: transaction.id, batch: set.rows, logStart: start)
                    {
                        for index in table.indexes { index.add(set.putRows, key: table.schema.storageKey) }
                        toFlush = toFlush || flushDue(table)
                        continue
                    }
                    for (index, key) in set.keys.enumerated() {
                        let row = set.row(at: index)
                        table.memtable.install(key, creator: transaction.id, batch: set.rows,
                                               row: row >= 0 ? Int(row) : nil, logStart: start)
                    }
                    if !table.indexes.isEmpty {
                        let rows = set.putRows
                        for index in table.indexes { index.add(rows, key: table.schema.storageKey) }
                    }
                    toFlush = toFlush || flushDue(table)
                }
                return end
            } catch {
                for id in transaction.createdTables where pendingTables[id] == transaction.id { removeTableLocked(id) }
                running[transaction.id] = nil
                throw error
            }
        }
        return InstalledCommit(transaction: transaction.id, end: end, createdTables: transaction.createdTables,
                               droppedTables: transaction.droppedTables, toFlush: toFlush, ddl: ddl)
    }

    /// After the wait for the log: a failed commit undone (and its failure thrown), or a durable one made
    /// visible, its DDL everyone's. Returns whether a flush is due.
    private func settle(_ installed: InstalledCommit, _ failure: EngineError?) throws(EngineError) -> Bool {
        if let failure {
            state.withLock {
                failed.insert(installed.transaction)
                running[installed.transaction] = nil
                for id in installed.createdTables where pendingTables[id] == installed.transaction { removeTableLocked(id) }
                ddlInFlight[installed.transaction] = nil
            }
            throw failure
        }
        // Durable: the tables it created are everyone's, the ones it dropped are gone.
        if installed.ddl {
            state.withLock {
                ddlInFlight[installed.transaction] = nil
                for id in installed.createdTables { pendingTables[id] = nil }
                for id in installed.droppedTables { removeTableLocked(id) }
            }
        }
        finish(installed.transaction)
        return installed.toFlush
    }

    /// The flush a durable commit found due: its failure is the flush's, reported in backgroundError (the
    /// rows stay in memory and in the log), never the commit's.
    private func flushAfterCommit() {
        do throws(EngineError) { try checkpoint() } catch { state.withLock { backgroundError = error } }
    }

    /// The primary key, as a value, of the row stored under `key` (caller holds the lock): for a table
    /// with row ids, read from the transaction's write or the newest version (NULL if both are deletions).
    private func keyValue(_ table: TableState, _ key: Int64, _ set: WriteSet) -> Value {
        let schema = table.schema
        guard schema.hasRowIDs else { return schema.columns[schema.primaryKey].type == .timestamp ? .timestamp(key) : .int64(key) }
        if let row = set.lookup(key) ?? nil { return row[schema.primaryKey] }
        if let head = table.memtable.head(key), case let row = table.memtable.version(head).row, row >= 0 {
            return table.memtable.rows.columns[schema.primaryKey].value(at: Int(row))
        }
        return .null
    }

    /// First committer wins for keys too (caller holds the lock): a key this transaction inserted that a
    /// transaction it does not see committed since is a duplicate. Rows it sees were checked at insert.
    private func checkNewKeys(_ set: WriteSet, _ table: TableState, _ snapshot: Snapshot) throws(EngineError) {
        guard let index = table.keyIndex else { return }
        let column = table.schema.primaryKey
        for (key, id) in set.insertedKeys {
            guard case let row?? = set.lookup(id), row[column] == key, let image = index.image(of: key) else { continue }
            for candidate in index.candidates(low: image, high: image) where candidate != id {
                // Not in the hot buffer: flushed, so older than every running snapshot.
                guard var next = table.memtable.head(candidate) else { continue }
                while next != -1 {
                    let version = table.memtable.version(next)
                    next = version.older
                    if failed.contains(version.creator) { continue }
                    if !sees(version.creator, through: snapshot), version.row >= 0,
                       table.memtable.rows.columns[column].value(at: Int(version.row)) == key {
                        throw .duplicateKey(table: table.schema.name, key: key)
                    }
                    break
                }
            }
        }
    }

    // MARK: Checkpoints and compaction

    /// Flushes every hot buffer that no snapshot still needs to a segment, starts a new log file, and
    /// records both in the manifest, so recovery replays only what came after.
    public func checkpoint() throws(EngineError) {
        try state.withLock { () throws(EngineError) in
            try checkWritable()
            try checkpointLocked()
        }
    }

    /// Flushes, rotates the log and writes the manifest, or, if any step fails, leaves the state as it was:
    /// every flushed row back in its table's buffer and every log file kept (a segment written meanwhile
    /// is named by no manifest and removed later), so that a failed flush loses nothing.
    private func checkpointLocked() throws(EngineError) {
        // Versions older than every running snapshot's xmin are visible to all of them and to any later one.
        let horizon = running.values.min() ?? nextTransaction
        let saved = tables.mapValues { ($0.memtable, $0.segments) }
        let savedReplayStart = replayStart
        do throws(EngineError) {
            for table in tables.values where !table.memtable.isEmpty {
                let (rows, tombstones) = table.memtable.split(schema: table.schema) { creator in
                    creator < horizon && !failed.contains(creator)
                }
                guard rows.count > 0 else { continue }
                let id = nextSegment
                nextSegment += 1
                table.segments.append(try Segment.write(id: id, tableID: table.id, schema: table.schema, rows: rows,
                                                        tombstones: tombstones, directory: path))
            }
            let fresh = try wal.rotate()
            replayStart = (tables.values.compactMap(\.memtable.oldestLogStart) + ddlInFlight.values).reduce(fresh, min)
            try writeManifestLocked()
        } catch {
            for (id, (memtable, segments)) in saved {
                tables[id]?.memtable = memtable
                tables[id]?.segments = segments
            }
            replayStart = savedReplayStart
            throw error
        }
        checkpointHorizon = horizon
        for table in tables.values where table.segments.count >= options.compactionTrigger {
            compactor?.request(table.id)
        }
    }

    private func writeManifestLocked() throws(EngineError) {
        var manifest = Manifest()
        manifest.nextTransaction = nextTransaction
        manifest.nextTable = nextTable
        manifest.nextSegment = nextSegment
        manifest.replayStart = replayStart
        // An uncommitted table is in no manifest entry: a crash before its commit leaves no table.
        manifest.tables = tables.values.filter { pendingTables[$0.id] == nil }.sorted { $0.id < $1.id }.map {
            Manifest.Table(id: $0.id, schema: $0.schema, segments: $0.segmentIDs,
                           indexes: $0.indexes.filter { !$0.isPrimaryKey }.map { ($0.name, $0.column) })
        }
        manifest.pendingTables = pendingTables.keys.sorted()
        try Files.replace(path + "/" + Manifest.fileName, with: manifest.encoded(), directory: path)
        try removeUnusedFiles()
    }

    /// Deletes segment files the manifest does not name and log files replay no longer reads; at open
    /// also the temporary files of writes a crash interrupted (later, a compaction may be writing one).
    private func removeUnusedFiles(includingTemporary: Bool = false) throws(EngineError) {
        let live = Set(tables.values.flatMap(\.segmentIDs)).union(segmentsInProgress)
        for name in try Files.list(path) {
            if name.hasPrefix("seg-"), name.hasSuffix(".dat"), let id = UInt64(name.dropFirst(4).prefix(16), radix: 16),
               !live.contains(id) {
                Files.remove(path + "/" + name)
            } else if let sequence = WriteAheadLog.sequence(ofFile: name), sequence < replayStart.file {
                Files.remove(path + "/" + name)
            } else if includingTemporary && name.hasSuffix(".tmp") {
                Files.remove(path + "/" + name)
            }
        }
    }

    /// Merges every table's segments into one each.
    public func compact() throws(EngineError) {
        let ids = try state.withLock { () throws(EngineError) in
            try checkWritable()
            return Array(tables.keys)
        }
        for id in ids { try compact(tableID: id) }
    }

    /// Merges a table's segments into one, newest version of each key winning and deletions dropped (the
    /// merge covers the oldest segment, so nothing older remains for them to hide). Segments hold only
    /// versions every snapshot sees, so what the merge drops no snapshot can see.
    func compact(tableID: UInt32) throws(EngineError) {
        let job = state.withLock { () -> (TableState, [Segment], UInt64)? in
            // Not before its first use: the merge drops deletions, which unread older segments may need.
            guard !isClosed, let table = tables[tableID], !table.needsLoad, table.segments.count >= 2 else { return nil }
            let id = nextSegment
            nextSegment += 1
            segmentsInProgress.insert(id)
            return (table, table.segments, id)
        }
        guard let (table, inputs, id) = job else { return }
        defer { state.withLock { _ = segmentsInProgress.remove(id) } }
        let merged = Self.merge(inputs, schema: table.schema)
        let output = merged.count > 0
            ? try Segment.write(id: id, tableID: table.id, schema: table.schema, rows: merged,
                                tombstones: [Bool](repeating: false, count: merged.count), directory: path)
            : nil
        try state.withLock { () throws(EngineError) in
            guard !isClosed, tables[tableID] === table,
                  table.segments.prefix(inputs.count).map(\.id) == inputs.map(\.id) else {
                Files.remove(path + "/" + Segment.fileName(id))
                return
            }
            table.segments = (output.map { [$0] } ?? []) + table.segments.dropFirst(inputs.count)
            segmentsInProgress.remove(id)
            try writeManifestLocked()
        }
    }

    /// The newest row of every key across `segments` (oldest first), tombstones dropped.
    static func merge(_ segments: [Segment], schema: TableSchema) -> RowBatch {
        var out = RowBatch(schema: schema)
        out.reserveCapacity(segments.reduce(0) { $0 + $1.count })
        var positions = [Int](repeating: 0, count: segments.count)
        while true {
            var smallest: UInt64?
            var winner = -1
            for (index, segment) in segments.enumerated() where positions[index] < segment.count {
                let key = segment.keys[positions[index]]
                if smallest == nil || key < smallest! || key == smallest! {
                    if smallest == nil || key < smallest! { smallest = key }
                    winner = index
                }
            }
            guard let key = smallest else { return out }
            let segment = segments[winner]
            if !segment.tombstones[positions[winner]] { out.append(from: segment.rows, at: positions[winner]) }
            for (index, segment) in segments.enumerated()
            where positions[index] < segment.count && segment.keys[positions[index]] == key {
                positions[index] += 1
            }
        }
    }

    private func noteBackground(_ error: EngineError) {
        state.withLock { backgroundError = error }
    }
}

/// One thread that runs queued table compactions in the background.
final class BackgroundWorker: @unchecked Sendable {
    private let monitor = Monitor()
    private var queue: [UInt32] = []
    private var stopping = false
    private var thread = pthread_t()
    private let work: (UInt32) -> Void

    init(_ work: @escaping (UInt32) -> Void) {
        self.work = work
        let context = Unmanaged.passRetained(self).toOpaque()
        pthread_create(&thread, nil, { context in
            let worker = Unmanaged<BackgroundWorker>.fromOpaque(context!).takeRetainedValue()
            worker.run()
            return nil
        }, context)
    }

    func request(_ table: UInt32) {
        monitor.withLock {
            if !queue.contains(table) { queue.append(table) }
            monitor.broadcast()
        }
    }

    /// Finishes the job in hand, drops the rest, and joins the thread.
    func stop() {
        monitor.withLock {
            stopping = true
            monitor.broadcast()
        }
        pthread_join(thread, nil)
    }

    private func run() {
        while true {
            monitor.lock()
            while queue.isEmpty && !stopping { monitor.wait() }
            if stopping {
                monitor.unlock()
                return
            }
            let table = queue.removeFirst()
            monitor.unlock()
            work(table)
        }
    }
}
