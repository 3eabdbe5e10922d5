#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import OmenEngine

/// `omendb import TABLE FILE.csv`: a streaming load in one transaction (a bad record imports nothing,
/// unless `--on-error skip` sets it aside in the reject file), with a progress bar on a terminal.
struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load a CSV file into a table, all or nothing.",
        discussion: """
            Timestamps and dates are read in PostgreSQL's forms: 2024-05-01, 2024/05/01, then optionally \
            12:00[:00[.123456]] after a space or T, and a zone (Z, +02, +02:00, +0200). --timestamp-format \
            takes epoch-s, epoch-ms or epoch-us (a number since 1970-01-01 UTC), or a pattern of %Y (4 digits), \
            %m %d %H %M %S (1 or 2 digits), %f (fraction digits), %z (a zone) and %%, other characters \
            matching themselves, e.g. "%d.%m.%Y %H:%M".
            """)

    @OptionGroup var database: DatabaseOption
    @Argument(help: "The table (it must exist).") var table: String
    @Argument(help: "The CSV file.") var file: String
    @Flag(help: "The first line names the file's columns: they are matched to the table's by name.") var header = false
    @Option(help: ArgumentHelp("The file's columns in order, by name (as COPY t (a, b) FROM); the table's others get NULL.",
                               valueName: "a,b,..."))
    var columns: String?
    @Option(name: .customLong("timestamp-format"), help: ArgumentHelp("How timestamps are written (see below).", valueName: "format"))
    var timestampFormat: String?
    @Option(name: .customLong("on-error"), help: "stop: a bad record imports nothing; skip: bad records are left out, counted and written to the reject file.")
    var onError = "stop"
    @Option(name: .customLong("reject-file"), help: ArgumentHelp("Where skipped records go (default FILE.rejects.csv).", valueName: "path"))
    var rejectFile: String?

    func run() throws {
        var options = CSV.Options(header: header ? .match : .none)
        options.columns = columns.map { $0.split(separator: ",").map { String($0.trimmingPrefix(" ")) } }
        if let timestampFormat {
            guard let format = TimestampFormat(timestampFormat) else {
                throw ValidationError("--timestamp-format takes epoch-s, epoch-ms, epoch-us or a pattern with %Y, %m and %d")
            }
            options.timestampFormat = format
        }
        guard let mode = CSV.OnError(rawValue: onError) else { throw ValidationError("--on-error takes stop or skip") }
        options.onError = mode
        let db = try database.open()
        defer { db.close() }
        let progress = Progress(enabled: isatty(2) == 1)
        let rejects = Rejects(path: rejectFile ?? file + ".rejects.csv")
        defer { rejects.close() }
        do {
            let txn = try db.begin()
            let loaded: (rows: Int, rejected: Int)
            do {
                loaded = try CSV.load(file: file, into: table, transaction: txn, options: options,
                                      progress: progress.update, reject: rejects.write)
                progress.committing()
                try txn.commit()
            } catch {
                txn.rollback()
                throw error
            }
            progress.finish()
            print("COPY \(loaded.rows)")
            if loaded.rejected > 0 { printError("omendb: skipped \(loaded.rejected) records, written to \(rejects.path)") }
        } catch let error as SQLError {
            progress.finish()
            printError(error.rendered(in: ""))
            throw ExitCode(1)
        } catch let error as EngineError {
            progress.finish()
            printError("omendb: \(error)")
            throw ExitCode(1)
        }
    }
}

/// The reject file of `--on-error skip`: CSV with each skipped record's line, column, SQLSTATE, error
/// and the record as the input has it; created at the first reject.
final class Rejects {
    let path: String
    private var handle: UnsafeMutablePointer<FILE>?

    init(path: String) { self.path = path }

    func write(_ reject: CSV.Reject) throws(SQLError) {
        if handle == nil {
            guard let opened = fopen(path, "wb") else {
                throw SQLError("58P01", "could not open reject file \"\(path)\" for writing: \(errnoText())")
            }
            handle = opened
            put(Array("line,column,sqlstate,error,record\n".utf8))
        }
        let fields = [String(reject.line), reject.column.map { CSV.field(.text($0)) } ?? "", reject.error.code,
                      CSV.field(.text(reject.error.message))]
        put(Array((fields.joined(separator: ",") + ",\"").utf8))
        put(reject.record.flatMap { $0 == 34 ? [34, 34] : [$0] })
        put(Array("\"\n".utf8))
        guard ferror(handle) == 0 else { throw SQLError("58030", "could not write reject file \"\(path)\": \(errnoText())") }
    }

    private func put(_ bytes: [UInt8]) { _ = fwrite(bytes, 1, bytes.count, handle) }

    func close() {
        if let handle { fclose(handle) }
        handle = nil
    }
}

/// A one-line progress bar over the file's bytes (MB/s, rows are not known before they are parsed) with
/// an ETA, drawn on stderr at most ten times a second and only when it is a terminal.
final class Progress {
    let enabled: Bool
    let clock = ContinuousClock()
    let start: ContinuousClock.Instant
    private var drawn: ContinuousClock.Instant?

    init(enabled: Bool) {
        self.enabled = enabled
        start = clock.now
    }

    func update(done: Int, total: Int) {
        guard enabled, total > 0 else { return }
        let now = clock.now
        if let drawn, done < total, now - drawn < .milliseconds(100) { return }
        drawn = now
        let elapsed = max(1e-9, seconds(now - start))
        let rate = Double(done) / elapsed
        let eta = rate > 0 ? Double(total - done) / rate : 0
        let width = 30
        let filled = width * done / total
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let megabytes = { (bytes: Int) in fixed(Double(bytes) / 1e6, 1) }
        writeError("\r[\(bar)] \(megabytes(done))/\(megabytes(total)) MB  \(megabytes(Int(rate))) MB/s  ETA \(done == 0 ? "?" : fixed(eta, 1)) s ")
    }

    func committing() {
        if enabled { writeError("  committing...") }
    }

    func finish() {
        if enabled { writeError("\n") }
    }
}
