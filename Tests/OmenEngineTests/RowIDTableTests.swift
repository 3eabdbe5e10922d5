import Testing
@testable import OmenEngine

/// Tables keyed by UUID and by TEXT: stored by a row id the engine assigns, the key enforced and found
/// through its index. Random transactions against an oracle dictionary, with checkpoints, compactions and
/// reopen between; inserters of one key in concurrent transactions. `OMEN_ENGINE_OPERATIONS` sets the
/// count of random operations (100,000 by default, split between the two key types).
@Suite struct RowIDTableTests {
    static func schema(_ type: ColumnType) throws -> TableSchema {
        try TableSchema(name: "things", columns: [Column("n", .int64), Column("k", type), Column("note", .text)],
                        primaryKey: "k")
    }

    /// Key number `i` of a pool: UUIDs four to a leading 64 bits (the learned index's image), so lookups
    /// meet candidates that differ only in the low half; texts sharing their first 8 bytes, and every
    /// tenth one spelled with a decomposed é that is canonically equal to the next one's precomposed é.
    static func key(_ i: Int, _ type: ColumnType) -> Value {
        if type == .uuid { return .uuid(UUID(high: 0x018F_0000_7000_0000 | UInt64(i / 4) << 16, low: 0x8000_0000_0000_0000 | UInt64(i))) }
        if i % 10 == 0 { return .text("sensor-caf" + "e\u{301}" + "-\(i + 1)") }
        if i % 10 == 1 { return .text("sensor-caf\u{E9}-\(i)") }
        return .text("sensor-\(i)")
    }

    @Test(arguments: [ColumnType.uuid, .text])
    func randomOperationsMatchTheOracle(_ type: ColumnType) throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        var options = Database.Options()
        options.flushThreshold = 1_000
        options.compactionTrigger = 3
        var database = try Database.open(directory.path, options: options)
        try database.createTable(try Self.schema(type))
        var random = SeededRandom(state: type == .uuid ? 11 : 12)
        var oracle: [Value: [Value]] = [:]
        let operations = environmentInt("OMEN_ENGINE_OPERATIONS", default: 100_000) / 2
        let pool = 3_000
        var done = 0
        func row(_ key: Value) -> [Value] { [.int64(Int64(done)), key, done % 5 == 0 ? .null : .text("v\(done)")] }
        while done < operations {
            let reader = try database.begin()
            let frozen = oracle
            let txn = try database.begin()
            var pending = oracle
            for _ in 0..<Int.random(in: 1...20, using: &random) {
                done += 1
                let key = Self.key(Int.random(in: 0..<pool, using: &random), type)
                switch Int.random(in: 0..<100, using: &random) {
                case 0..<30:
                    let new = row(key)
                    if pending[key] == nil {
                        try txn.insert("things", new)
                        pending[key] = new
                    } else {
                        #expect(throws: EngineError.duplicateKey(table: "things", key: key)) { try txn.insert("things", new) }
                    }
                case 30..<38:
                    // A batch: all of it, or nothing when one key exists or repeats.
                    let keys = (0..<Int.random(in: 1...6, using: &random)).map { _ in Self.key(Int.random(in: 0..<pool, using: &random), type) }
                    var batch = RowBatch(columns: [ColumnVector(type: .int64), ColumnVector(type: type), ColumnVector(type: .text)])
                    for key in keys { batch.append(row(key)) }
                    if Set(keys).count == keys.count && keys.allSatisfy({ pending[$0] == nil }) {
                        try txn.insert("things", batch: batch)
                        for key in keys { pending[key] = row(key) }
                    } else {
                        #expect(throws: EngineError.self) { try txn.insert("things", batch: batch) }
                    }
                case 38..<52:
                    let note = Value.text("u\(done)")
                    #expect(try txn.update("things", primaryKey: key, set: ["note": note]) == (pending[key] != nil))
                    if pending[key] != nil { pending[key]![2] = note }
                case 52..<62:
                    #expect(try txn.delete("things", primaryKey: key) == (pending[key] != nil))
                    pending[key] = nil
                case 62..<95:
                    #expect(try txn.get("things", primaryKey: key).map { Array($0.prefix(3)) } == pending[key])
                default:
                    #expect(Self.visible(try txn.scan("things")) == pending)
                }
            }
            if Int.random(in: 0..<10, using: &random) == 0 {
                txn.rollback()
            } else {
                try txn.commit()
                oracle = pending
            }
            let probe = Self.key(Int.random(in: 0..<pool, using: &random), type)
            #expect(try reader.get("things", primaryKey: probe).map { Array($0.prefix(3)) } == frozen[probe])
            reader.rollback()
            try randomMaintenance(&database, directory, options, &random)
        }
        database.close()
        database = try Database.open(directory.path, options: options)
        defer { database.close() }
        #expect(Self.visible(try database.transaction { txn throws(EngineError) in try txn.scan("things") }) == oracle)
        #expect(database.backgroundError == nil)
    }

    /// The rows of a scan by key, without the row id.
    static func visible(_ rows: RowBatch) -> [Value: [Value]] {
        var out: [Value: [Value]] = [:]
        for row in rows.rows { out[row[1]] = Array(row.prefix(3)) }
        return out
    }

    @Test(arguments: [ColumnType.uuid, .text])
    func concurrentInsertersOfOneKey(_ type: ColumnType) throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        var database = try Database.open(directory.path)
        try database.createTable(try Self.schema(type))
        let key = Self.key(1, type)
        // Both see no row with the key; the first to commit wins, the second's commit is a duplicate.
        let a = try database.begin()
        let b = try database.begin()
        try a.insert("things", [.int64(1), key, .text("a")])
        try b.insert("things", [.int64(2), key, .text("b")])
        try a.commit()
        #expect(throws: EngineError.duplicateKey(table: "things", key: key)) { try b.commit() }
        // An insert that rolled back or failed leaves the key free.
        let c = try database.begin()
        try c.insert("things", [.int64(3), Self.key(2, type), .text("c")])
        c.rollback()
        try database.transaction { txn throws(EngineError) in try txn.insert("things", [.int64(4), Self.key(2, type), .text("d")]) }
        // A snapshot that still sees the row refuses the key; one taken after the delete commits takes it.
        let old = try database.begin()
        try database.transaction { txn throws(EngineError) in _ = try txn.delete("things", primaryKey: key) }
        #expect(throws: EngineError.duplicateKey(table: "things", key: key)) { try old.insert("things", [.int64(5), key, .text("e")]) }
        old.rollback()
        try database.transaction { txn throws(EngineError) in try txn.insert("things", [.int64(6), key, .text("f")]) }
        // A delete and a reinsert of one key in one transaction, against another that deletes the row.
        let d = try database.begin()
        let e = try database.begin()
        _ = try d.delete("things", primaryKey: key)
        try d.insert("things", [.int64(7), key, .text("g")])
        _ = try e.delete("things", primaryKey: key)
        try e.commit()
        #expect(throws: EngineError.writeConflict(table: "things", key: .null)) { try d.commit() }
        database.close()
        database = try Database.open(directory.path)
        defer { database.close() }
        let rows = try database.transaction { txn throws(EngineError) in try txn.scan("things") }
        #expect(Self.visible(rows) == [Self.key(2, type): [.int64(4), Self.key(2, type), .text("d")]])
        // Row ids stay unique across the reopen: a new row does not replace an old one.
        try database.transaction { txn throws(EngineError) in try txn.insert("things", [.int64(8), key, .text("h")]) }
        let after = try database.transaction { txn throws(EngineError) in try txn.scan("things") }
        #expect(after.count == 2)
    }

    /// Four writers inserting keys from a small pool at once, three to a transaction, yielding to the
    /// others before each commit: every key is held by at most one row, and by exactly the rows whose
    /// commits succeeded.
    @Test func parallelInsertersKeepKeysUnique() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let database = try Database.open(directory.path)
        defer { database.close() }
        try database.createTable(try Self.schema(.uuid))
        let committed = await withTaskGroup(of: [Value].self) { group in
            for writer in 0..<4 {
                group.addTask {
                    var random = SeededRandom(state: UInt64(100 + writer))
                    var mine: [Value] = []
                    for attempt in 0..<200 {
                        guard let txn = try? database.begin() else { break }
                        var keys: [Value] = []
                        do throws(EngineError) {
                            for _ in 0..<3 {
                                let key = Self.key(Int.random(in: 0..<300, using: &random), .uuid)
                                keys.append(key)
                                try txn.insert("things", [.int64(Int64(writer * 1000 + attempt)), key, .null])
                            }
                        } catch {
                            #expect(error == .duplicateKey(table: "things", key: keys.last!))
                            txn.rollback()
                            continue
                        }
                        await Task.yield()
                        do throws(EngineError) {
                            try txn.commit()
                            mine += keys
                        } catch {
                            guard case .duplicateKey(_, let key) = error, keys.contains(key) else {
                                Issue.record("unexpected \(error)")
                                continue
                            }
                        }
                    }
                    return mine
                }
            }
            var all: [Value] = []
            for await keys in group { all += keys }
            return all
        }
        let rows = try database.transaction { txn throws(EngineError) in try txn.scan("things") }
        #expect(Set(committed).count == committed.count)
        #expect(Set(rows.rows.map { $0[1] }) == Set(committed))
        #expect(rows.count == committed.count)
    }
}
