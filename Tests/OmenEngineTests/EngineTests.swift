#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import OmenEngine

@Suite struct EngineTests {
    @Test func insertGetScanUpdateDeleteAndReopen() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        var database = try Database.open(directory.path)
        try database.createTable(try readingsSchema())
        try database.transaction { txn throws(EngineError) in
            for key in stride(from: Int64(0), to: 100, by: 2) { try txn.insert("readings", reading(key, Double(key))) }
        }
        try database.transaction { txn throws(EngineError) in
            #expect(try txn.get("readings", key: 10) == reading(10, 10))
            #expect(try txn.get("readings", key: 11) == nil)
            let rows = try txn.scan("readings", from: 10, to: 20)
            #expect(rows.columns[0].integers == [10, 12, 14, 16, 18])
            let back = try txn.scan("readings", from: 10, to: 20, reverse: true, limit: 2)
            #expect(back.columns[0].integers == [18, 16])
            #expect(try txn.update("readings", key: 12, set: ["value": .double(-1)]))
            #expect(try txn.delete("readings", key: 14))
            #expect(try txn.delete("readings", from: 90, to: nil) == 5)
            #expect(try txn.update("readings", key: 13, set: ["value": .double(1)]) == false)
        }
        #expect(throws: EngineError.duplicateKey(table: "readings", key: .timestamp(10))) {
            try database.transaction { txn throws(EngineError) in try txn.insert("readings", reading(10)) }
        }
        try database.checkpoint()
        database.close()
        database = try Database.open(directory.path)
        defer { database.close() }
        let txn = try database.begin()
        #expect(try txn.get("readings", key: 12)?[2] == .double(-1))
        #expect(try txn.get("readings", key: 14) == nil)
        #expect(try txn.scan("readings").count == 50 - 1 - 5)
        txn.rollback()
    }

    @Test func typedErrorsForBadRows() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let database = try Database.open(directory.path)
        defer { database.close() }
        try database.createTable(try readingsSchema())
        #expect(throws: EngineError.tableExists("readings")) { try database.createTable(try readingsSchema()) }
        #expect(throws: EngineError.invalidSchema("the primary key must be a BIGINT, INTEGER, TIMESTAMP, TEXT or UUID column")) {
            _ = try TableSchema(name: "t", columns: [Column("k", .double)], primaryKey: "k")
        }
        let txn = try database.begin()
        #expect(throws: EngineError.nullViolation(column: "device")) {
            try txn.insert("readings", [.timestamp(1), .null, .null, .null, .null])
        }
        #expect(throws: EngineError.typeMismatch(column: "note", expected: .text)) {
            try txn.insert("readings", [.timestamp(1), .int64(1), .null, .int64(3), .null])
        }
        #expect(throws: EngineError.tableNotFound("nope")) { _ = try txn.get("nope", key: 1) }
        try txn.commit()
        #expect(throws: EngineError.transactionFinished) { try txn.commit() }
    }

    @Test func secondOpenerLearnsWhoHoldsTheDirectory() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let database = try Database.open(directory.path)
        #expect(throws: EngineError.databaseLocked(path: directory.path, pid: getpid())) {
            _ = try Database.open(directory.path)
        }
        database.close()
        try Database.open(directory.path).close()
    }

    @Test func firstCommitterWins() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let database = try Database.open(directory.path)
        defer { database.close() }
        try database.createTable(try readingsSchema())
        try database.transaction { txn throws(EngineError) in try txn.insert("readings", reading(1, 0)) }
        let first = try database.begin()
        let second = try database.begin()
        try first.update("readings", key: 1, set: ["value": .double(1)])
        try second.update("readings", key: 1, set: ["value": .double(2)])
        // A reader that began before the first commit keeps seeing the old row after it.
        let reader = try database.begin()
        try first.commit()
        #expect(try reader.get("readings", key: 1)?[2] == .double(0))
        #expect(throws: EngineError.writeConflict(table: "readings", key: .timestamp(1))) { try second.commit() }
        let after = try database.begin()
        #expect(try after.get("readings", key: 1)?[2] == .double(1))
        // Two inserts of one new key: the second committer conflicts.
        let a = try database.begin()
        let b = try database.begin()
        try a.insert("readings", reading(5))
        try b.insert("readings", reading(5))
        try a.commit()
        #expect(throws: EngineError.writeConflict(table: "readings", key: .timestamp(5))) { try b.commit() }
    }

    @Test func batchInsertIsAllOrNothing() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let database = try Database.open(directory.path)
        defer { database.close() }
        let schema = try readingsSchema()
        try database.createTable(schema)
        var batch = RowBatch(schema: schema)
        for key in Int64(0)..<1000 { batch.append(reading(key * 10, 1)) }
        try database.transaction { txn throws(EngineError) in try txn.insert("readings", batch: batch) }
        var clash = RowBatch(schema: schema)
        clash.append(reading(5))
        clash.append(reading(20))
        #expect(throws: EngineError.duplicateKey(table: "readings", key: .timestamp(20))) {
            try database.transaction { txn throws(EngineError) in try txn.insert("readings", batch: clash) }
        }
        let txn = try database.begin()
        #expect(try txn.get("readings", key: 5) == nil)
        #expect(try txn.scan("readings").count == 1000)
        txn.rollback()
    }
}
