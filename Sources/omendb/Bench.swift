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
        database.close()
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


/// Hourly rollups through SQL: OmenDB's `time_bucket` against SQLite's equivalent GROUP BY, and against
/// DuckDB's own `time_bucket` in process (benchmarks/bench_sql_duckdb.py, run with the Python of
/// `make duckdb-venv`; skipped when that is missing).
struct SQLBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sql",
        abstract: "Hourly time_bucket aggregates over a time-series table: OmenDB SQL against SQLite and DuckDB.")

    @Option(help: "Rows in the time-series table.") var rows = 10_000_000
    @Option(help: "One-hour range aggregates to time.") var hours = 1_000
    @Option(help: "Runs of each query; the medians are reported.") var runs = 3
    @Option(help: "Working directory (emptied first).") var directory = "/tmp/omendb-bench-sql"
    @Option(help: "A Python with the duckdb module; DuckDB is skipped without it.")
    var python = SQLBench.checkout + "/.build/venv/bin/python"

    static let hour: Int64 = 3_600_000_000
    /// The checkout this tool was built from (this file is Sources/omendb/Bench.swift): the DuckDB script's
    /// and its virtual environment's place.
    static let checkout = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false).dropLast(3)
        .joined(separator: "/")

    func run() throws {
        removeTree(directory + "/omendb")
        for file in ["sqlite.db", "sqlite.db-wal", "sqlite.db-shm", "duckdb.db", "duckdb.db.wal", "readings.csv", "starts.txt"] {
            unlink(directory + "/" + file)
        }
        mkdir(directory, 0o755)
        var random = SystemRandomNumberGenerator()
        let span = TimeSeries.key(rows - 1) - TimeSeries.start
        let starts = (0..<hours).map { _ in
            TimeSeries.start + Int64.random(in: 0...max(0, span - Self.hour), using: &random) / Self.hour * Self.hour
        }
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
        let sqliteAll = sqlite.prepare("SELECT (ts / \(Self.hour)) * \(Self.hour) AS bucket, count(*), avg(value), min(value), max(value) FROM readings GROUP BY bucket ORDER BY bucket")
        let sqliteHour = sqlite.prepare("SELECT (ts / \(Self.hour)) * \(Self.hour) AS bucket, count(*), avg(value) FROM readings WHERE ts >= ? AND ts < ? GROUP BY bucket")
        var omen = Peer()
        var lite = Peer()
        for _ in 0..<max(1, runs) {
            var all = Answer()
            omen.all.append(seconds(try clock.measure {
                for row in try session.execute(omenAll)[0].rows { all.add(row) }
            }))
            omen.allAnswer = all
            all = Answer()
            lite.all.append(seconds(clock.measure {
                while sqliteAll.step() { all.add(sqliteAll, extremes: true) }
                sqliteAll.reset()
            }))
            lite.allAnswer = all
            var hourly = Answer()
            omen.hour.append(seconds(try clock.measure {
                for start in starts {
                    let sql = "SELECT time_bucket(INTERVAL '1 hour', ts) AS bucket, count(*), avg(value) FROM readings WHERE ts >= \(start) AND ts < \(start + Self.hour) GROUP BY bucket"
                    for row in try session.execute(sql)[0].rows { hourly.add(row) }
                }
            }))
            omen.hourAnswer = hourly
            hourly = Answer()
            lite.hour.append(seconds(clock.measure {
                for start in starts {
                    sqliteHour.bind(1, start)
                    sqliteHour.bind(2, start + Self.hour)
                    while sqliteHour.step() { hourly.add(sqliteHour, extremes: false) }
                    sqliteHour.reset()
                }
            }))
            lite.hourAnswer = hourly
        }
        database.close()
        let duck = try duckDB(starts: starts)
        let peers = [("SQLite", lite)] + (duck.map { [("DuckDB", $0)] } ?? [])
        for (name, peer) in peers {
            guard peer.allAnswer.agrees(with: omen.allAnswer), peer.hourAnswer.agrees(with: omen.hourAnswer) else {
                throw ValidationError("answers differ: OmenDB's \(omen.allAnswer) / \(omen.hourAnswer) against \(name)'s \(peer.allAnswer) / \(peer.hourAnswer)")
            }
        }

        print("| query (\(rows) rows) | OmenDB s | " + peers.map { "\($0.0) s | \($0.0)/OmenDB" }.joined(separator: " | ") + " |")
        print("|---|---:|" + String(repeating: "---:|---:|", count: peers.count))
        let ratio = { (peer: Peer, times: KeyPath<Peer, [Double]>) in fixed(median(peer[keyPath: times]) / median(omen[keyPath: times]), 2) }
        func line(_ label: String, _ times: KeyPath<Peer, [Double]>) -> String {
            "| \(label) | \(fixed(median(omen[keyPath: times]), 3)) | "
                + peers.map { "\(fixed(median($0.1[keyPath: times]), 3)) | \(ratio($0.1, times))x" }.joined(separator: " | ") + " |"
        }
        print(line("hourly time_bucket over the whole table (\(omen.allAnswer.groups) groups, median of \(runs))", \.all))
        print(line("one-hour range aggregate x \(hours) (median of \(runs))", \.hour))
        var ratios = "ratios: bucket_all=\(ratio(lite, \.all))x bucket_hour=\(ratio(lite, \.hour))x"
        if let duck {
            ratios += " duckdb_bucket_all=\(ratio(duck, \.all))x duckdb_bucket_hour=\(ratio(duck, \.hour))x"
            print("\(duck.version); its ingest (CSV into a database file, not compared): \(fixed(duck.ingest, 3)) s")
        }
        print(ratios)
        if rows >= 100_000_000 { print("rollup_s=\(fixed(median(omen.all), 2))") }
    }

    /// DuckDB on the same rows (a CSV of them) and the same hours, or nil, said, when there is no DuckDB.
    func duckDB(starts: [Int64]) throws -> Peer? {
        let script = Self.checkout + "/benchmarks/bench_sql_duckdb.py"
        guard access(python, X_OK) == 0 else {
            print("DuckDB: skipped (no \(python); `make duckdb-venv` installs it)")
            return nil
        }
        try write(directory + "/starts.txt") { file in fputs(starts.map(String.init).joined(separator: " "), file) }
        try write(directory + "/readings.csv") { file in
            for first in stride(from: 0, to: rows, by: 100_000) {
                // A double's shortest text reads back as the same double.
                fputs((first..<min(rows, first + 100_000)).map {
                    "\(TimeSeries.key($0)),\(TimeSeries.device($0)),\(TimeSeries.value($0))\n"
                }.joined(), file)
            }
        }
        let output = try capture([python, script, directory, String(max(1, runs))])
        unlink(directory + "/readings.csv")
        var peer = Peer()
        for line in output.split(separator: "\n") {
            let words = line.split(separator: " ")
            switch words.first ?? "" {
            case "unavailable":
                print("DuckDB: skipped (\(words.dropFirst().joined(separator: " ")))")
                return nil
            case "version": peer.version = words.dropFirst().joined(separator: " ")
            case "ingest": peer.ingest = Double(words[1])!
            case "all": peer.all = words.dropFirst().map { Double($0)! }
            case "hour": peer.hour = words.dropFirst().map { Double($0)! }
            case "all_answer": peer.allAnswer = Answer(words.dropFirst())
            case "hour_answer": peer.hourAnswer = Answer(words.dropFirst())
            default: throw ValidationError("\(script): unexpected output \(line)")
            }
        }
        return peer
    }
}

/// One system's times (seconds, a value per run) and answers.
struct Peer {
    var all: [Double] = []
    var hour: [Double] = []
    var allAnswer = Answer()
    var hourAnswer = Answer()
    var version = ""
    var ingest = 0.0
}

/// A checksum of a rollup's rows, so that the peers are seen to answer the same question: groups, rows,
/// and in the rows' order Σ bucket (in hours), Σ min + max (0 where the query has none) and Σ avg. The
/// extremes are exact, the same doubles everywhere; an average only to 1e-9 relative, each system summing
/// a group in its own order. bench_sql_duckdb.py computes the same.
struct Answer: CustomStringConvertible {
    var groups = 0
    var rows: Int64 = 0
    var hours: Int64 = 0
    var extremes = 0.0
    var average = 0.0

    init() {}

    /// From the script's words: groups, rows, hours, extremes, average.
    init<Words: Collection>(_ words: Words) where Words.Element == Substring {
        let fields = Array(words)
        (groups, rows, hours, extremes, average) = (Int(fields[0])!, Int64(fields[1])!, Int64(fields[2])!,
                                                    Double(fields[3])!, Double(fields[4])!)
    }

    mutating func add(bucket: Int64, count: Int64, average: Double, min: Double = 0, max: Double = 0) {
        groups += 1
        rows += count
        hours += bucket / SQLBench.hour
        extremes += min + max
        self.average += average
    }

    /// An OmenDB row: bucket, count, avg[, min, max].
    mutating func add(_ row: [Value]) {
        func double(_ index: Int) -> Double {
            if index < row.count, case .double(let x) = row[index] { return x }
            return 0
        }
        add(bucket: row[0].integer!, count: row[1].integer!, average: double(2), min: double(3), max: double(4))
    }

    /// The SQLite statement's current row, the same columns.
    mutating func add(_ statement: Statement, extremes: Bool) {
        add(bucket: statement.int64(0), count: statement.int64(1), average: statement.double(2),
            min: extremes ? statement.double(3) : 0, max: extremes ? statement.double(4) : 0)
    }

    func agrees(with other: Answer) -> Bool {
        (groups, rows, hours, extremes) == (other.groups, other.rows, other.hours, other.extremes)
            && abs(average - other.average) <= 1e-9 * abs(average)
    }

    var description: String { "\(groups) groups, \(rows) rows, Σhours \(hours), Σextremes \(extremes), Σavg \(average)" }
}

func median(_ times: [Double]) -> Double { times.sorted()[times.count / 2] }

/// Writes a file through stdio, failing loudly.
func write(_ path: String, _ body: (UnsafeMutablePointer<FILE>) -> Void) throws {
    guard let file = fopen(path, "w") else { throw ValidationError("cannot write \(path)") }
    body(file)
    guard fclose(file) == 0 else { throw ValidationError("cannot write \(path)") }
}

/// Runs a program (no shell) and returns what it printed on stdout; its stderr goes to ours.
func capture(_ arguments: [String]) throws -> String {
    var pipeEnds: [Int32] = [0, 0]
    guard pipe(&pipeEnds) == 0 else { throw ValidationError("pipe failed") }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 1)
    posix_spawn_file_actions_addclose(&actions, pipeEnds[0])
    var argv = arguments.map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var child: pid_t = 0
    let spawned = posix_spawn(&child, arguments[0], &actions, nil, &argv, environ)
    close(pipeEnds[1])
    defer { close(pipeEnds[0]) }
    guard spawned == 0 else { throw ValidationError("cannot run \(arguments[0]): error \(spawned)") }
    var output: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while case let count = read(pipeEnds[0], &buffer, buffer.count), count > 0 { output += buffer[..<count] }
    var status: Int32 = 0
    waitpid(child, &status, 0)
    guard status == 0 else { throw ValidationError("\(arguments.joined(separator: " ")) failed (status \(status))") }
    return String(decoding: output, as: UTF8.self)
}
