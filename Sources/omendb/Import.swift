#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import OmenEngine

/// `omendb import TABLE FILE.csv`: all rows in one transaction (a malformed file imports nothing), with a
/// progress bar on a terminal.
struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Load a CSV file into a table, all or nothing.")

    @OptionGroup var database: DatabaseOption
    @Argument(help: "The table (it must exist).") var table: String
    @Argument(help: "The CSV file.") var file: String
    @Flag(help: "The first line is a header.") var header = false

    func run() throws {
        let db = try database.open()
        defer { try? db.close() }
        let progress = Progress(enabled: isatty(2) == 1)
        do {
            let schema = try SQLSession(database: db).database.schema(table)
            guard let bytes = try? readFile(file) else {
                printError("omendb: could not read \(file)")
                throw ExitCode(1)
            }
            let rows = try CSV.rows(bytes, schema: schema, header: header)
            let txn = try db.begin()
            let chunk = 50_000
            for first in stride(from: 0, to: rows.count, by: chunk) {
                var batch = RowBatch(schema: schema)
                for row in rows[first..<min(rows.count, first + chunk)] { batch.append(row) }
                do { try txn.insert(table, batch: batch) } catch {
                    txn.rollback()
                    throw error
                }
                progress.update(done: min(rows.count, first + chunk), total: rows.count)
            }
            try txn.commit()
            progress.finish()
            print("COPY \(rows.count)")
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

/// A one-line progress bar with rows/s and ETA, drawn on stderr only when it is a terminal.
final class Progress {
    let enabled: Bool
    let clock = ContinuousClock()
    let start: ContinuousClock.Instant

    init(enabled: Bool) {
        self.enabled = enabled
        start = clock.now
    }

    func update(done: Int, total: Int) {
        guard enabled, total > 0 else { return }
        let elapsed = max(1e-9, seconds(clock.now - start))
        let rate = Double(done) / elapsed
        let eta = rate > 0 ? Double(total - done) / rate : 0
        let width = 30
        let filled = width * done / total
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        writeError("\r[\(bar)] \(done)/\(total) rows  \(Int(rate)) rows/s  ETA \(fixed(eta, 1)) s")
    }

    func finish() {
        if enabled { writeError("\n") }
    }
}
