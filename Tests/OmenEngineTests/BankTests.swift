#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import OmenEngine

/// Threads move money between accounts under snapshot isolation, retrying on write conflicts, while
/// readers check that every snapshot sums to the same total: no lost update, no torn read.
@Suite struct BankTests {
    final class Shared: @unchecked Sendable {
        let database: Database
        var failures: [String] = []
        let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        init(_ database: Database) {
            self.database = database
            pthread_mutex_init(lock, nil)
        }
        func fail(_ message: String) {
            pthread_mutex_lock(lock)
            failures.append(message)
            pthread_mutex_unlock(lock)
        }
    }

    static let accounts: Int64 = 20
    static let opening: Int64 = 1_000

    @Test func totalNeverChanges() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        var options = Database.Options()
        options.flushThreshold = 500
        options.compactionTrigger = 3
        let database = try Database.open(directory.path, options: options)
        try database.createTable(try TableSchema(
            name: "accounts", columns: [Column("id", .int64), Column("balance", .int64, nullable: false)],
            primaryKey: "id"))
        try database.transaction { txn throws(EngineError) in
            for id in 0..<Self.accounts { try txn.insert("accounts", [.int64(id), .int64(Self.opening)]) }
        }
        let shared = Shared(database)
        let transfers = environmentInt("OMEN_ENGINE_TRANSFERS", default: 400)
        var threads: [pthread_t] = []
        for worker in 0..<6 {
            let context = Unmanaged.passRetained(Job(shared: shared, seed: UInt64(worker + 1), transfers: transfers,
                                                     reader: worker >= 4)).toOpaque()
            var thread = pthread_t()
            pthread_create(&thread, nil, { context in
                Unmanaged<Job>.fromOpaque(context!).takeRetainedValue().run()
                return nil
            }, context)
            threads.append(thread)
        }
        for thread in threads { pthread_join(thread, nil) }
        #expect(shared.failures.isEmpty, "\(shared.failures.prefix(5))")
        let total = try database.transaction { txn throws(EngineError) in
            try txn.scan("accounts").columns[1].integers.reduce(0, +)
        }
        #expect(total == Self.accounts * Self.opening)
        database.close()
    }

    final class Job: @unchecked Sendable {
        let shared: Shared
        var random: SeededRandom
        let transfers: Int
        let reader: Bool
        init(shared: Shared, seed: UInt64, transfers: Int, reader: Bool) {
            self.shared = shared
            self.random = SeededRandom(state: seed)
            self.transfers = transfers
            self.reader = reader
        }

        func run() {
            let database = shared.database
            var done = 0
            while done < transfers {
                do throws(EngineError) {
                    let txn = try database.begin()
                    if reader {
                        let total = try txn.scan("accounts").columns[1].integers.reduce(0, +)
                        if total != BankTests.accounts * BankTests.opening { shared.fail("snapshot total \(total)") }
                        txn.rollback()
                        done += 1
                        continue
                    }
                    let from = Int64.random(in: 0..<BankTests.accounts, using: &random)
                    let to = (from + Int64.random(in: 1..<BankTests.accounts, using: &random)) % BankTests.accounts
                    let amount = Int64.random(in: 1...50, using: &random)
                    guard let a = try txn.get("accounts", key: from)?[1].integer,
                          let b = try txn.get("accounts", key: to)?[1].integer else {
                        shared.fail("account vanished")
                        return
                    }
                    try txn.update("accounts", key: from, set: ["balance": .int64(a - amount)])
                    try txn.update("accounts", key: to, set: ["balance": .int64(b + amount)])
                    if done % 97 == 0 { try database.checkpoint() }
                    try txn.commit()
                    done += 1
                } catch .writeConflict {
                    continue
                } catch {
                    shared.fail("\(error)")
                    return
                }
            }
        }
    }
}
