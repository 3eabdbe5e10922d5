import Testing
@testable import OmenEngine

/// A crash leaves a torn log tail, which recovery cuts off; any other damage is reported with the file
/// and offset, never skipped.
@Suite struct DamageTests {
    /// Commits `count` one-row transactions and abandons the database without a checkpoint.
    func crashAfterCommits(_ directory: TemporaryDirectory, count: Int64) throws {
        let database = try Database.open(directory.path)
        if (try? database.schema("readings")) == nil { try database.createTable(try readingsSchema()) }
        for key in 0..<count {
            try database.transaction { txn throws(EngineError) in try txn.insert("readings", reading(key, 1)) }
        }
    }

    /// The error opening `path` gives, or nil when it opens.
    /// The error of opening the database at `path` and reading every table (segments are read at a
    /// table's first use), or nil.
    func openError(_ path: String) -> EngineError? {
        do {
            let database = try Database.open(path)
            defer { database.close() }
            for schema in database.schemas { _ = try database.transaction { txn throws(EngineError) in try txn.scan(schema.name) } }
            return nil
        } catch {
            return error
        }
    }

    func logFile(_ directory: TemporaryDirectory) -> String {
        directory.file(directory.files().last { $0.hasPrefix("wal-") }!)
    }

    @Test func tornTailIsCutOffAndEveryAcknowledgedCommitSurvives() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try crashAfterCommits(directory, count: 20)
        let path = logFile(directory)
        var bytes = RawFile.read(path)
        // Half of a record: a header promising more bytes than the file has.
        bytes += [200, 0, 0, 0, 1, 2, 3, 4, 9, 9]
        RawFile.write(path, bytes)
        let database = try Database.open(directory.path)
        let rows = try database.transaction { txn throws(EngineError) in try txn.scan("readings") }
        #expect(rows.count == 20)
        try database.transaction { txn throws(EngineError) in try txn.insert("readings", reading(100)) }
        database.close()
        let again = try Database.open(directory.path)
        defer { again.close() }
        #expect(try again.transaction { txn throws(EngineError) in try txn.scan("readings") }.count == 21)
    }

    @Test func zeroFilledTailIsTorn() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try crashAfterCommits(directory, count: 5)
        let path = logFile(directory)
        RawFile.write(path, RawFile.read(path) + [UInt8](repeating: 0, count: 4096))
        let database = try Database.open(directory.path)
        defer { database.close() }
        #expect(try database.transaction { txn throws(EngineError) in try txn.scan("readings") }.count == 5)
    }

    /// Twenty commits, then a bit flipped in the middle of the log: damage a torn write cannot explain.
    func damageMidLog(_ directory: TemporaryDirectory) throws -> (path: String, middle: Int) {
        try crashAfterCommits(directory, count: 20)
        let path = logFile(directory)
        var bytes = RawFile.read(path)
        let middle = bytes.count / 2
        bytes[middle] ^= 0x10
        RawFile.write(path, bytes)
        return (path, middle)
    }

    @Test func damageBeforeTheTailIsCorruption() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let (path, middle) = try damageMidLog(directory)
        guard case .corrupt(let file, let offset, _)? = openError(directory.path) else {
            Issue.record("a flipped bit in the middle of the log was not reported as corruption")
            return
        }
        #expect(path.hasSuffix(file))
        #expect(offset <= middle && offset > 0)
    }

    @Test func repairModeOpensAtTheLastGoodRecordAndKeepsTheRest() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        _ = try damageMidLog(directory)
        var options = Database.Options()
        options.repairLog = true
        let repaired = try Database.open(directory.path, options: options)
        let survivors = try repaired.transaction { txn throws(EngineError) in try txn.scan("readings") }.rows
        // The commits before the damaged record, in order, and none after it.
        #expect(survivors.count > 0 && survivors.count < 20)
        #expect(survivors.map { $0[0] } == (0..<Int64(survivors.count)).map { .timestamp($0) })
        #expect(repaired.repairedLog.count == 1 && repaired.repairedLog[0].contains(".damaged"))
        #expect(directory.files().contains { $0.hasSuffix(".log.damaged") })
        try repaired.transaction { txn throws(EngineError) in try txn.insert("readings", reading(100)) }
        repaired.close()
        // Repaired for good: a plain open reads it, the new commit included.
        let again = try Database.open(directory.path)
        defer { again.close() }
        #expect(try again.transaction { txn throws(EngineError) in try txn.scan("readings") }.count == survivors.count + 1)
        #expect(again.repairedLog.isEmpty)
    }

    /// Open reads no segment: a damaged segment of one table stops neither the open nor the other tables,
    /// and is reported at its table's first use.
    @Test func aDamagedSegmentIsReportedAtItsTablesFirstUse() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let database = try Database.open(directory.path)
        try database.createTable(try readingsSchema())
        try database.createTable(try readingsSchema("other"))
        try database.transaction { txn throws(EngineError) in
            for key in Int64(0)..<100 { try txn.insert("readings", reading(key)) }
        }
        try database.checkpoint()
        let damaged = directory.files().first { $0.hasPrefix("seg-") }!
        try database.transaction { txn throws(EngineError) in try txn.insert("other", reading(1)) }
        database.close()
        var bytes = RawFile.read(directory.file(damaged))
        bytes[bytes.count / 2] ^= 0x10
        RawFile.write(directory.file(damaged), bytes)
        let reopened = try Database.open(directory.path)
        defer { reopened.close() }
        #expect(try reopened.transaction { txn throws(EngineError) in try txn.scan("other") }.count == 1)
        #expect(try reopened.schema("readings").name == "readings")
        #expect { _ = try reopened.transaction { txn throws(EngineError) in try txn.scan("readings") } } throws: { error in
            guard case .corrupt(let file, _, _) = error as? EngineError else { return false }
            return file == damaged
        }
    }

    @Test func flippedBitInASegmentIsDetected() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let database = try Database.open(directory.path)
        try database.createTable(try readingsSchema())
        var batch = RowBatch(schema: try readingsSchema())
        for key in Int64(0)..<5_000 { batch.append(reading(key * 1_000_000, Double(key))) }
        try database.transaction { txn throws(EngineError) in try txn.insert("readings", batch: batch) }
        database.close()
        let name = directory.files().first { $0.hasPrefix("seg-") }!
        let original = RawFile.read(directory.file(name))
        var random = SeededRandom(state: 3)
        for _ in 0..<50 {
            var bytes = original
            let at = Int.random(in: 0..<bytes.count, using: &random)
            bytes[at] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &random)
            RawFile.write(directory.file(name), bytes)
            guard case .corrupt(let file, _, _)? = openError(directory.path) else {
                Issue.record("flipped bit at \(at) of \(name) not reported as corruption")
                continue
            }
            #expect(file == name)
        }
        RawFile.write(directory.file(name), original)
        try Database.open(directory.path).close()
    }
}
