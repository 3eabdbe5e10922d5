import Testing
@testable import OmenEngine

/// Random operations in random transactions against an in-memory oracle, with checkpoints (flushes),
/// compactions, close and reopen in between. `OMEN_ENGINE_OPERATIONS` sets the count (100,000 by default).
/// Batches appended past every key (the bulk path, stored as version runs) grow the key space (to about
/// 20,000 keys), so later operations update, delete and read their keys under older snapshots.
@Suite struct ModelBasedTests {
    @Test func randomOperationsMatchTheOracle() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        var options = Database.Options()
        options.flushThreshold = 2_000
        options.compactionTrigger = 3
        var database = try Database.open(directory.path, options: options)
        try database.createTable(try readingsSchema())
        var random = SeededRandom(state: 7)
        var oracle: [Int64: [Value]] = [:]
        let operations = environmentInt("OMEN_ENGINE_OPERATIONS", default: 100_000)
        var keySpace: Int64 = 5_000
        var done = 0
        while done < operations {
            // A reader whose snapshot must not move while others commit.
            let reader = try database.begin()
            let frozen = oracle
            let txn = try database.begin()
            var pending = oracle
            let length = Int.random(in: 1...20, using: &random)
            for _ in 0..<length {
                done += 1
                let key = Int64.random(in: 0..<keySpace, using: &random)
                switch Int.random(in: 0..<100, using: &random) {
                case 0..<35:
                    let row = reading(key, Double(Int.random(in: 0..<1000, using: &random)))
                    if pending[key] == nil {
                        try txn.insert("readings", row)
                        pending[key] = row
                    } else {
                        #expect(throws: EngineError.duplicateKey(table: "readings", key: .timestamp(key))) {
                            try txn.insert("readings", row)
                        }
                    }
                case 35..<50:
                    let value = Value.double(Double(done))
                    let updated = try txn.update("readings", key: key, set: ["value": value])
                    #expect(updated == (pending[key] != nil))
                    if updated { pending[key]![2] = value }
                case 50..<60:
                    #expect(try txn.delete("readings", key: key) == (pending[key] != nil))
                    pending[key] = nil
                case 60..<63:
                    let end = key + Int64.random(in: 0..<40, using: &random)
                    let expected = pending.keys.filter { $0 >= key && $0 < end }
                    #expect(try txn.delete("readings", from: key, to: end) == expected.count)
                    for gone in expected { pending[gone] = nil }
                case 63..<65 where keySpace < 20_000:
                    let count = Int64.random(in: 1...300, using: &random)
                    let schema = try readingsSchema()
                    var batch = RowBatch(schema: schema)
                    for offset in 0..<count {
                        let row = reading(keySpace + offset, Double(done))
                        batch.append(row)
                        pending[keySpace + offset] = row
                    }
                    try txn.insert("readings", batch: batch)
                    keySpace += count
                case 65..<85:
                    #expect(try txn.get("readings", key: key) == pending[key])
                default:
                    let end = key + Int64.random(in: 0..<200, using: &random)
                    let reverse = Bool.random(using: &random)
                    let limit = Bool.random(using: &random) ? Int.random(in: 0..<20, using: &random) : nil
                    var expected = pending.keys.filter { $0 >= key && $0 < end }.sorted()
                    if reverse { expected.reverse() }
                    if let limit { expected = Array(expected.prefix(limit)) }
                    let rows = try txn.scan("readings", from: key, to: end, reverse: reverse, limit: limit)
                    #expect(rows.rows == expected.map { pending[$0]! })
                }
            }
            if Int.random(in: 0..<10, using: &random) == 0 {
                txn.rollback()
            } else {
                try txn.commit()
                oracle = pending
            }
            let probe = Int64.random(in: 0..<keySpace, using: &random)
            #expect(try reader.get("readings", key: probe) == frozen[probe])
            reader.rollback()
            try randomMaintenance(&database, directory, options, &random)
        }
        database.close()
        database = try Database.open(directory.path, options: options)
        defer { database.close() }
        let all = try database.transaction { txn throws(EngineError) in try txn.scan("readings") }
        #expect(all.rows == oracle.keys.sorted().map { oracle[$0]! })
        #expect(database.backgroundError == nil)
    }
}
