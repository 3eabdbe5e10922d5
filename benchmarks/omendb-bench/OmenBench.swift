#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import OmenEngine

@main
struct OmenBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "omendb-bench",
        abstract: "OmenDB's standalone engine against SQLite, and the helpers of its crash test.",
        subcommands: [EngineBench.self, CrashWriter.self, CrashCheck.self])
}

/// The time-series rows both databases load: one per second with sub-second jitter.
enum TimeSeries {
    static let start: Int64 = 1_700_000_000_000_000

    static func key(_ row: Int) -> Int64 { start + Int64(row) * 1_000_000 + Int64((row &* 7919) % 1000) }
    static func device(_ row: Int) -> Int64 { Int64(row % 100) }
    static func value(_ row: Int) -> Double { Double(row % 10_000) * 0.25 + 0.1 }

    static let schema = try! TableSchema(name: "readings", columns: [
        Column("ts", .timestamp), Column("device", .int64, nullable: false), Column("value", .double),
    ], primaryKey: "ts")

    static func batch(_ rows: Range<Int>) -> RowBatch {
        RowBatch(columns: [
            ColumnVector(type: .timestamp, integers: rows.map(key)),
            ColumnVector(type: .int64, integers: rows.map(device)),
            ColumnVector(doubles: rows.map(value)),
        ])
    }
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
}

func directoryBytes(_ path: String) -> Int {
    guard let directory = opendir(path) else { return 0 }
    defer { closedir(directory) }
    var total = 0
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        var info = stat()
        if name != "." && name != "..", stat(path + "/" + name, &info) == 0 { total += Int(info.st_size) }
    }
    return total
}

func removeTree(_ path: String) {
    guard let directory = opendir(path) else { unlink(path); return }
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if name != "." && name != ".." { unlink(path + "/" + name) }
    }
    closedir(directory)
    rmdir(path)
}

func fixed(_ value: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = Int((value * scale).rounded())
    let fraction = String(abs(scaled) % Int(scale))
    return "\(scaled / Int(scale)).\(String(repeating: "0", count: digits - fraction.count))\(fraction)"
}

struct EngineBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "Ingest, point gets, range scans and size on disk: OmenDB against SQLite (WAL mode).")

    @Option(help: "Rows in the time-series table.") var rows = 10_000_000
    @Option(help: "Rows per insert transaction.") var batch = 10_000
    @Option(help: "Random point gets.") var gets = 1_000_000
    @Option(help: "Range scans of --range-rows rows each.") var ranges = 10_000
    @Option(help: "Rows per range scan.") var rangeRows = 1_000
    @Option(help: "Working directory (emptied first).") var directory = "/tmp/omendb-bench"

    func run() throws {
        removeTree(directory + "/omendb")
        unlink(directory + "/sqlite.db")
        unlink(directory + "/sqlite.db-wal")
        unlink(directory + "/sqlite.db-shm")
        mkdir(directory, 0o755)
        let clock = ContinuousClock()
        var random = SystemRandomNumberGenerator()
        let probes = (0..<gets).map { _ in Int.random(in: 0..<rows, using: &random) }
        let starts = (0..<ranges).map { _ in Int.random(in: 0..<max(1, rows - rangeRows), using: &random) }

        // OmenDB
        let database = try Database.open(directory + "/omendb")
        try database.createTable(TimeSeries.schema)
        let omenIngest = try clock.measure {
            for first in stride(from: 0, to: rows, by: batch) {
                let rowsBatch = TimeSeries.batch(first..<min(rows, first + batch))
                try database.transaction { txn throws(EngineError) in try txn.insert("readings", batch: rowsBatch) }
            }
            try database.checkpoint()
        }
        try database.compact()
        var omenSum: Int64 = 0
        let omenGet = try clock.measure {
            let txn = try database.begin()
            for row in probes { omenSum &+= try txn.get("readings", key: TimeSeries.key(row))![1].integer! }
            txn.rollback()
        }
        var omenRangeSum: Int64 = 0
        let omenRange = try clock.measure {
            let txn = try database.begin()
            for row in starts {
                let batch = try txn.scan("readings", from: TimeSeries.key(row), limit: rangeRows)
                for device in batch.columns[1].integers { omenRangeSum &+= device }
            }
            txn.rollback()
        }
        try database.close()
        let omenBytes = directoryBytes(directory + "/omendb")

        // SQLite, WAL mode, fsync at every commit like OmenDB.
        let sqlite = SQLiteDatabase(path: directory + "/sqlite.db")
        sqlite.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;")
        sqlite.execute("CREATE TABLE readings (ts INTEGER PRIMARY KEY, device INTEGER NOT NULL, value REAL)")
        let insert = sqlite.prepare("INSERT INTO readings VALUES (?, ?, ?)")
        let sqliteIngest = clock.measure {
            for first in stride(from: 0, to: rows, by: batch) {
                sqlite.execute("BEGIN")
                for row in first..<min(rows, first + batch) {
                    insert.bind(1, TimeSeries.key(row))
                    insert.bind(2, TimeSeries.device(row))
                    insert.bind(3, TimeSeries.value(row))
                    _ = insert.step()
                    insert.reset()
                }
                sqlite.execute("COMMIT")
            }
            sqlite.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        }
        let point = sqlite.prepare("SELECT device FROM readings WHERE ts = ?")
        var sqliteSum: Int64 = 0
        let sqliteGet = clock.measure {
            sqlite.execute("BEGIN")
            for row in probes {
                point.bind(1, TimeSeries.key(row))
                if point.step() { sqliteSum &+= point.int64(0) }
                point.reset()
            }
            sqlite.execute("COMMIT")
        }
        let range = sqlite.prepare("SELECT ts, device, value FROM readings WHERE ts >= ? ORDER BY ts LIMIT ?")
        var sqliteRangeSum: Int64 = 0
        let sqliteRange = clock.measure {
            sqlite.execute("BEGIN")
            for row in starts {
                range.bind(1, TimeSeries.key(row))
                range.bind(2, Int64(rangeRows))
                while range.step() { sqliteRangeSum &+= range.int64(1) }
                range.reset()
            }
            sqlite.execute("COMMIT")
        }
        let sqliteBytes = directoryBytes(directory)  - omenBytes - 4096
        guard omenSum == sqliteSum, omenRangeSum == sqliteRangeSum else {
            throw ValidationError("answers differ: gets \(omenSum) vs \(sqliteSum), ranges \(omenRangeSum) vs \(sqliteRangeSum)")
        }

        let ingest = (seconds(sqliteIngest) / seconds(omenIngest), Double(rows) / seconds(omenIngest), Double(rows) / seconds(sqliteIngest))
        let get = (seconds(sqliteGet) / seconds(omenGet), Double(gets) / seconds(omenGet), Double(gets) / seconds(sqliteGet))
        let scan = (seconds(sqliteRange) / seconds(omenRange), Double(ranges) / seconds(omenRange), Double(ranges) / seconds(sqliteRange))
        print("| measure | OmenDB | SQLite | ratio |")
        print("|---|---:|---:|---:|")
        print("| ingest rows/s (\(rows) rows, \(batch) per commit) | \(Int(ingest.1)) | \(Int(ingest.2)) | \(fixed(ingest.0, 2))x |")
        print("| point gets/s (\(gets)) | \(Int(get.1)) | \(Int(get.2)) | \(fixed(get.0, 2))x |")
        print("| range scans/s (\(ranges) of \(rangeRows) rows) | \(Int(scan.1)) | \(Int(scan.2)) | \(fixed(scan.0, 2))x |")
        print("| bytes on disk | \(omenBytes) | \(sqliteBytes) | \(fixed(Double(omenBytes) / Double(sqliteBytes), 2))x |")
        print("ratios: ingest=\(fixed(ingest.0, 2))x get=\(fixed(get.0, 2))x range=\(fixed(scan.0, 2))x size=\(fixed(Double(omenBytes) / Double(sqliteBytes), 2))x")
    }
}

/// Commits transactions of ten rows in a loop, printing `ack N` once commit N has returned: the
/// crash test kills it at a random moment and checks what survived.
struct CrashWriter: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "crash-writer", shouldDisplay: false)
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
                try database.transaction { txn throws(EngineError) in
                    try txn.update("readings", key: TimeSeries.key(transaction * 10), set: ["value": .double(-1)])
                }
            }
        }
    }
}

/// Opens a crashed database and checks it holds exactly the acknowledged transactions (and at most the
/// one in flight), each whole.
struct CrashCheck: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "crash-check", shouldDisplay: false)
    @Option var db: String
    @Option(help: "The last transaction acknowledged, -1 for none.") var acked: Int

    func run() throws {
        let database = try Database.open(db)
        let rows = try database.transaction { txn throws(EngineError) in try txn.scan("readings") }
        try database.close()
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
