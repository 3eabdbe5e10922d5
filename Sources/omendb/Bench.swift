#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import OmenEngine

/// `omendb bench engine|sql`: OmenDB against SQLite on the same machine and data.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare OmenDB with SQLite: the storage engine, or SQL aggregates.",
        subcommands: [EngineBench.self, SQLBench.self])
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


/// Hourly rollups through SQL: OmenDB's `time_bucket` against SQLite's equivalent GROUP BY.
struct SQLBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sql",
        abstract: "Hourly time_bucket aggregates over a time-series table: OmenDB SQL against SQLite.")

    @Option(help: "Rows in the time-series table.") var rows = 10_000_000
    @Option(help: "One-hour range aggregates to time.") var hours = 1_000
    @Option(help: "Runs of the whole-table aggregate; the median is reported.") var runs = 3
    @Option(help: "Working directory (emptied first).") var directory = "/tmp/omendb-bench-sql"

    static let hour: Int64 = 3_600_000_000

    func run() throws {
        removeTree(directory + "/omendb")
        for suffix in ["", "-wal", "-shm"] { unlink(directory + "/sqlite.db" + suffix) }
        mkdir(directory, 0o755)
        var options = Database.Options()
        options.flushThreshold = 4_000_000
        // Time-series segments never overlap: the scan reads them side by side, no merge needed.
        options.compactionTrigger = .max
        let database = try Database.open(directory + "/omendb", options: options)
        try database.createTable(TimeSeries.schema)
        for first in stride(from: 0, to: rows, by: 100_000) {
            let batch = TimeSeries.batch(first..<min(rows, first + 100_000))
            try database.transaction { txn throws(EngineError) in try txn.insert("readings", batch: batch) }
        }
        try database.checkpoint()
        let sqlite = SQLiteDatabase(path: directory + "/sqlite.db")
        sqlite.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;")
        sqlite.execute("CREATE TABLE readings (ts INTEGER PRIMARY KEY, device INTEGER NOT NULL, value REAL)")
        let insert = sqlite.prepare("INSERT INTO readings VALUES (?, ?, ?)")
        sqlite.execute("BEGIN")
        for row in 0..<rows {
            insert.bind(1, TimeSeries.key(row))
            insert.bind(2, TimeSeries.device(row))
            insert.bind(3, TimeSeries.value(row))
            _ = insert.step()
            insert.reset()
        }
        sqlite.execute("COMMIT")

        let session = SQLSession(database: database)
        let clock = ContinuousClock()
        let omenAll = "SELECT time_bucket(INTERVAL '1 hour', ts) AS bucket, count(*), avg(value), min(value), max(value) FROM readings GROUP BY bucket ORDER BY bucket"
        let sqliteAll = "SELECT (ts / \(Self.hour)) * \(Self.hour) AS bucket, count(*), avg(value), min(value), max(value) FROM readings GROUP BY bucket ORDER BY bucket"
        var omenTimes: [Double] = []
        var sqliteTimes: [Double] = []
        var omenGroups = 0
        var sqliteGroups = 0
        var omenCount: Int64 = 0
        var sqliteCount: Int64 = 0
        for _ in 0..<max(1, runs) {
            omenTimes.append(seconds(try clock.measure {
                let result = try session.execute(omenAll)[0]
                omenGroups = result.rows.count
                omenCount = result.rows.reduce(0) { $0 + ($1[1].integer ?? 0) }
            }))
            let statement = sqlite.prepare(sqliteAll)
            sqliteTimes.append(seconds(clock.measure {
                sqliteGroups = 0
                sqliteCount = 0
                while statement.step() {
                    sqliteGroups += 1
                    sqliteCount += statement.int64(1)
                }
            }))
        }
        var random = SystemRandomNumberGenerator()
        let span = TimeSeries.key(rows - 1) - TimeSeries.start
        let starts = (0..<hours).map { _ in
            TimeSeries.start + Int64.random(in: 0...max(0, span - Self.hour), using: &random) / Self.hour * Self.hour
        }
        var omenHourRows: Int64 = 0
        let omenHour = try clock.measure {
            for start in starts {
                let sql = "SELECT time_bucket(INTERVAL '1 hour', ts) AS bucket, count(*), avg(value) FROM readings WHERE ts >= \(start) AND ts < \(start + Self.hour) GROUP BY bucket"
                for row in try session.execute(sql)[0].rows { omenHourRows += row[1].integer ?? 0 }
            }
        }
        let hourly = sqlite.prepare("SELECT (ts / \(Self.hour)) * \(Self.hour) AS bucket, count(*), avg(value) FROM readings WHERE ts >= ? AND ts < ? GROUP BY bucket")
        var sqliteHourRows: Int64 = 0
        let sqliteHour = clock.measure {
            for start in starts {
                hourly.bind(1, start)
                hourly.bind(2, start + Self.hour)
                while hourly.step() { sqliteHourRows += hourly.int64(1) }
                hourly.reset()
            }
        }
        try database.close()
        guard omenGroups == sqliteGroups, omenCount == sqliteCount, omenHourRows == sqliteHourRows else {
            throw ValidationError("answers differ: \(omenGroups)/\(omenCount)/\(omenHourRows) groups/rows against SQLite's \(sqliteGroups)/\(sqliteCount)/\(sqliteHourRows)")
        }
        let all = (omenTimes.sorted()[omenTimes.count / 2], sqliteTimes.sorted()[sqliteTimes.count / 2])
        let hour = (seconds(omenHour), seconds(sqliteHour))
        print("| query (\(rows) rows) | OmenDB s | SQLite s | SQLite/OmenDB |")
        print("|---|---:|---:|---:|")
        print("| hourly time_bucket over the whole table (\(omenGroups) groups, median of \(runs)) | \(fixed(all.0, 3)) | \(fixed(all.1, 3)) | \(fixed(all.1 / all.0, 2))x |")
        print("| one-hour range aggregate x \(hours) | \(fixed(hour.0, 3)) | \(fixed(hour.1, 3)) | \(fixed(hour.1 / hour.0, 2))x |")
        print("ratios: bucket_all=\(fixed(all.1 / all.0, 2))x bucket_hour=\(fixed(hour.1 / hour.0, 2))x")
        if rows >= 100_000_000 { print("rollup_s=\(fixed(all.0, 2))") }
    }
}
