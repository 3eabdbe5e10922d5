#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import OmenEngine

/// Commits transactions of ten rows in a loop, printing `ack N` once commit N has returned: the
/// crash test kills it at a random moment and checks what survived.
struct CrashWriter: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "crash-writer", abstract: "(crash test) commit in a loop, printing acknowledgements.", shouldDisplay: false)
    @Option var db: String

    func run() throws {
        var options = Database.Options()
        options.flushThreshold = 3_000
        options.compactionTrigger = 3
        let database = try Database.open(db, options: options)
        if (try? database.schema("readings")) == nil { try database.createTable(TimeSeries.schema) }
        let next = try database.transaction { txn throws(EngineError) in
            try txn.scan("readings", reverse: true, limit: 1).columns[1].integers.first.map { Int($0) / 10 + 1 } ?? 0
        }
        for transaction in next... {
            // The device column carries the row number, so the check can tell which rows survived.
            let numbers = transaction * 10..<transaction * 10 + 10
            let rows = RowBatch(columns: [
                ColumnVector(type: .timestamp, integers: numbers.map(TimeSeries.key)),
                ColumnVector(type: .int64, integers: numbers.map(Int64.init)),
                ColumnVector(doubles: numbers.map(TimeSeries.value)),
            ])
            try database.transaction { txn throws(EngineError) in try txn.insert("readings", batch: rows) }
            print("ack \(transaction)")
            fflush(nil)
            if transaction % 37 == 0 {
                _ = try database.transaction { txn throws(EngineError) in
                    try txn.update("readings", key: TimeSeries.key(transaction * 10), set: ["value": .double(-1)])
                }
            }
        }
    }
}

/// Opens a crashed database and checks it holds exactly the acknowledged transactions (and at most the
/// one in flight), each whole.
struct CrashCheck: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "crash-check", abstract: "(crash test) check a crashed database against the acknowledgements.", shouldDisplay: false)
    @Option var db: String
    @Option(help: "The last transaction acknowledged, -1 for none.") var acked: Int

    func run() throws {
        let database = try Database.open(db)
        let rows = try database.transaction { txn throws(EngineError) in try txn.scan("readings") }
        database.close()
        if let error = database.backgroundError { printError("crash-check: the checkpoint at close failed: \(error)") }
        let ids = rows.columns[1].integers.map(Int.init)
        let transactions = ids.isEmpty ? 0 : ids.last! / 10 + 1
        guard ids == Array(0..<ids.count), ids.count % 10 == 0 else {
            throw ValidationError("rows are not whole transactions 0..<\(transactions): \(ids.count) rows")
        }
        guard transactions - 1 == acked || transactions - 1 == acked + 1 else {
            throw ValidationError("found transactions 0...\(transactions - 1), acknowledged 0...\(acked)")
        }
        print("ok: \(transactions) transactions, \(acked + 1) acknowledged")
    }
}
