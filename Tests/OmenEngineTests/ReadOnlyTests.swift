import Testing
@testable import OmenEngine

/// Read-only opens: consistent snapshots beside a writer that commits, checkpoints and compacts (which
/// replace the manifest and remove the files an older one names while a reader reads them), and every
/// write refused. `OMEN_READONLY_ROUNDS` sets the writer's transactions (2,000 by default).
@Suite struct ReadOnlyTests {
    static func schema() throws -> TableSchema {
        try TableSchema(name: "t", columns: [Column("k", .int64), Column("v", .int64)], primaryKey: "k")
    }

    static var readOnly: Database.Options {
        var options = Database.Options()
        options.readOnly = true
        return options
    }

    @Test func readersOpenWholeTransactionsWhileAWriterCommitsAndCompacts() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        var options = Database.Options()
        options.flushThreshold = 200
        options.compactionTrigger = 2
        let writer = try Database.open(directory.path, options: options)
        try writer.createTable(try Self.schema())
        let rounds = environmentInt("OMEN_READONLY_ROUNDS", default: 2_000)
        let writing = Task {
            for round in 0..<rounds {
                try writer.transaction { txn throws(EngineError) in
                    for i in 0..<10 { try txn.insert("t", [.int64(Int64(round * 10 + i)), .int64(Int64(round))]) }
                }
                if round % 40 == 39 { try writer.checkpoint() }
                await Task.yield()
            }
        }
        var counts: [Int] = []
        while !writing.isCancelled && counts.count < 400 {
            let reader = try Database.open(directory.path, options: Self.readOnly)
            let keys = try reader.transaction { txn throws(EngineError) in try txn.scan("t") }.columns[0].integers
            #expect(keys.count % 10 == 0 && keys == (0..<Int64(keys.count)).map { $0 })
            counts.append(keys.count)
            reader.close()
            if keys.count == rounds * 10 { break }
            await Task.yield()
        }
        try await writing.value
        writer.close()
        #expect(Set(counts).count >= 2)
        let last = try Database.open(directory.path, options: Self.readOnly)
        defer { last.close() }
        #expect(try last.transaction { txn throws(EngineError) in try txn.scan("t") }.count == rounds * 10)
    }

    @Test func aReadOnlyOpenRefusesEveryWriteAndSeesNoLaterCommit() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let writer = try Database.open(directory.path)
        defer { writer.close() }
        try writer.createTable(try Self.schema())
        try writer.transaction { txn throws(EngineError) in try txn.insert("t", [.int64(1), .int64(1)]) }
        let reader = try Database.open(directory.path, options: Self.readOnly)
        defer { reader.close() }
        #expect(reader.isReadOnly && !writer.isReadOnly)
        try writer.transaction { txn throws(EngineError) in try txn.insert("t", [.int64(2), .int64(2)]) }
        let refused = EngineError.readOnly(path: directory.path)
        let txn = try reader.begin()
        #expect(try txn.scan("t").count == 1)
        #expect(throws: refused) { try txn.insert("t", [.int64(3), .int64(3)]) }
        #expect(throws: refused) { try txn.delete("t", key: 1) }
        #expect(throws: refused) { try reader.createTable(try TableSchema(name: "u", columns: [Column("k", .int64)], primaryKey: "k")) }
        #expect(throws: refused) { try reader.createIndex(name: "t_v", table: "t", column: "v") }
        #expect(throws: refused) { try reader.dropTable("t") }
        #expect(throws: refused) { try reader.checkpoint() }
        txn.rollback()
        let session = SQLSession(database: reader)
        #expect { _ = try session.execute("INSERT INTO t VALUES (4, 4)") } throws: { ($0 as? SQLError)?.code == "25006" }
        #expect(try session.execute("SELECT count(*) FROM t").last?.rows == [[.int64(1)]])
        #expect(try writer.transaction { txn throws(EngineError) in try txn.scan("t") }.count == 2)
        var repair = Self.readOnly
        repair.repairLog = true
        #expect(throws: refused) { try Database.open(directory.path, options: repair) }
    }
}
