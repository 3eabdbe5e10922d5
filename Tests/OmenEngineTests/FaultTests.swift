#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import OmenEngine

/// I/O faults injected into the engine's writes, fsyncs, renames and file creations (of the log, segments
/// and the manifest): ENOSPC, EIO and short writes, once or from then on (a full disk), at a random turn.
/// After each, the database keeps working or refuses writes with an I/O error naming the file, and after a
/// reopen it holds every acknowledged commit and no other, tables created inside transactions included. OMEN_ENGINE_FAULTS sets the runs (each
/// injecting at most one fault, or one per operation from its turn on when persistent).
@Suite struct FaultTests {
    struct Case: CustomStringConvertible, Sendable {
        var operation: FaultInjection.Operation
        var fault: FaultInjection.Fault
        var persistent: Bool
        var countdown: Int
        var description: String { "\(operation) \(fault) \(persistent ? "from" : "at") turn \(countdown)" }
    }

    static let cases: [Case] = {
        var combinations: [(FaultInjection.Operation, FaultInjection.Fault, Bool)] = []
        for operation in FaultInjection.Operation.allCases {
            var faults: [FaultInjection.Fault] = [.error(ENOSPC), .error(EIO)]
            if operation == .write { faults.append(.shortWrite(ENOSPC)) }
            for fault in faults { for persistent in [false, true] { combinations.append((operation, fault, persistent)) } }
        }
        // How many operations of each kind a run performs, roughly: faults land anywhere among them.
        let turns: [FaultInjection.Operation: UInt64] = [.write: 90, .fsync: 110, .rename: 14, .create: 16]
        var random = SeededRandom(state: 2026_12_02)
        return (0..<environmentInt("OMEN_ENGINE_FAULTS", default: 144)).map { index in
            let (operation, fault, persistent) = combinations[index % combinations.count]
            return Case(operation: operation, fault: fault, persistent: persistent,
                        countdown: Int(random.next() % turns[operation]!))
        }
    }()

    static func createdSchema(_ key: Int64) throws(EngineError) -> TableSchema {
        try TableSchema(name: "t\(key)", columns: [Column("k", .int64)], primaryKey: "k")
    }

    @Test("an injected fault loses no acknowledged commit and revives no failed one", arguments: cases)
    func faultLosesNothing(_ faultCase: Case) throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        var options = Database.Options()
        options.flushThreshold = 12
        options.backgroundCompaction = false
        var acknowledged: Set<Int64> = []
        var refusals: [EngineError] = []
        var fired = 0
        do {
            let database = try Database.open(directory.path, options: options)
            try database.createTable(try readingsSchema())
            FaultInjection.shared.arm(directory.path, faultCase.operation, after: faultCase.countdown,
                                      fault: faultCase.fault, persistent: faultCase.persistent)
            for key in Int64(0)..<60 {
                do {
                    try database.transaction { txn throws(EngineError) in
                        try txn.insert("readings", reading(key, Double(key)))
                        if key % 10 == 9 { try txn.insert("readings", reading(1000 + key)) }
                        if key % 20 == 5 {
                            try database.createTable(try Self.createdSchema(key), in: txn)
                            try txn.insert("t\(key)", [.int64(key)])
                        }
                    }
                    acknowledged.insert(key)
                    if key % 10 == 9 { acknowledged.insert(1000 + key) }
                } catch {
                    refusals.append(error)
                }
                if key % 15 == 14 { try? database.checkpoint() }
                if key % 25 == 24 { try? database.compact() }
            }
            fired = FaultInjection.shared.disarm(directory.path)
            // Dropped without close: a crash right after the faults.
        }
        for refusal in refusals {
            guard case .io(let path, _, _) = refusal else {
                Issue.record("a refusal that is not an I/O error: \(refusal)")
                continue
            }
            #expect(path.hasPrefix(directory.path), "the error names the file: \(refusal)")
        }
        if fired == 0 { #expect(refusals.isEmpty, "no fault fired, yet commits failed: \(refusals.prefix(1))") }
        let reopened = try Database.open(directory.path, options: options)
        defer { reopened.close() }
        let keys = Set(try reopened.transaction { txn throws(EngineError) in try txn.scan("readings") }.rows.map { row -> Int64 in
            guard case .timestamp(let key) = row[0] else { return -1 }
            return key
        })
        #expect(acknowledged.subtracting(keys).isEmpty, "lost: \(acknowledged.subtracting(keys).sorted().prefix(10))")
        #expect(keys.subtracting(acknowledged).isEmpty, "revived: \(keys.subtracting(acknowledged).sorted().prefix(10))")
        for key in stride(from: Int64(5), to: 60, by: 20) {
            let rows = try? reopened.transaction { txn throws(EngineError) in try txn.scan("t\(key)") }.rows
            #expect((rows != nil) == acknowledged.contains(key), "table t\(key): \(rows == nil ? "missing" : "present")")
            if let rows { #expect(rows == [[.int64(key)]]) }
        }
        // And it works again.
        try reopened.transaction { txn throws(EngineError) in try txn.insert("readings", reading(5000)) }
    }
}
