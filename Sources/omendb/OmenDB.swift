#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import OmenEngine

@main
struct OmenDB: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "omendb",
        abstract: "OmenDB: an embedded database for ordered data on learned indexes.",
        subcommands: [Shell.self, Import.self, Serve.self, Bench.self, Version.self, CrashWriter.self, CrashCheck.self],
        defaultSubcommand: Shell.self)
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the version.")
    func run() { print("omendb \(OmenDB.version)") }
}

/// Where the database lives, shared by the subcommands that open one.
struct DatabaseOption: ParsableArguments {
    @Option(name: .long, help: "The database directory (created if absent).")
    var db = "./omendb-data"

    @Flag(name: .customLong("repair-log"),
          help: "Open a database whose log is damaged before its tail: keep the commits before the damage, move the rest aside into *.damaged files.")
    var repairLog = false

    @Flag(name: .customLong("read-only"),
          help: "Open a consistent snapshot for reading, without the writer's lock: while another process writes, or on a directory that cannot be written (which opens so anyway).")
    var readOnly = false

    func open() throws -> Database {
        var options = Database.Options()
        options.repairLog = repairLog
        options.readOnly = readOnly
        do {
            let database = try Database.open(db, options: options)
            for line in database.repairedLog { printError("omendb: repaired the log: moved aside \(line)") }
            if database.isReadOnly && !readOnly { printError("omendb: \(db) cannot be written: opened read-only") }
            return database
        } catch {
            printError("omendb: \(error)")
            if case .databaseLocked = error {
                printError("HINT: omendb --db \(db) --read-only opens a snapshot for reading beside the writer.")
            }
            if case .corrupt = error, !repairLog {
                printError("HINT: omendb --db \(db) --repair-log keeps the commits before the damage and moves the rest aside.")
            }
            throw ExitCode(2)
        }
    }
}

/// Why a piece of work stopped short: an error to report, or Ctrl-C.
enum Abort: Error {
    case error(String)
    case cancel

    var message: String {
        switch self {
        case .error(let message): message
        case .cancel: SQLError("57014", "canceling statement due to user request").rendered(in: "")
        }
    }
}

/// The text of `errno`, as `strerror` puts it.
func errnoText() -> String { String(cString: strerror(errno)) }

/// Writes all of `bytes` to `fd`. A cancellable write stops at Ctrl-C: SIGINT ends a blocked write with
/// EINTR, and the flag is polled between 64 KiB pieces.
func writeAll(_ fd: Int32, _ bytes: [UInt8], cancellable: Bool = false) throws(Abort) {
    var done = 0
    while done < bytes.count {
        if cancellable && Interrupt.take() { throw .cancel }
        let count = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, min(1 << 16, $0.count - done)) }
        if count < 0 {
            if errno == EINTR { continue }
            throw .error("could not write: \(errnoText())")
        }
        done += count
    }
}

/// Writes to standard error (file descriptor 2, unbuffered).
func writeError(_ text: String) { try? writeAll(2, Array(text.utf8)) }

func printError(_ text: String) { writeError(text + "\n") }

func readFile(_ path: String) throws(Abort) -> [UInt8] {
    guard let handle = fopen(path, "rb") else { throw .error("could not open file \"\(path)\" for reading: \(errnoText())") }
    defer { fclose(handle) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 1 << 20)
    while true {
        let count = fread(&buffer, 1, buffer.count, handle)
        if count == 0 {
            if ferror(handle) != 0 { throw .error("could not read file \"\(path)\": \(errnoText())") }
            return bytes
        }
        bytes.append(contentsOf: buffer[0..<count])
    }
}

/// Creates or truncates `path` and writes `bytes` to it.
func writeFile(_ path: String, _ bytes: [UInt8]) throws(Abort) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o666)
    guard fd >= 0 else { throw .error("could not open file \"\(path)\" for writing: \(errnoText())") }
    defer { close(fd) }
    try writeAll(fd, bytes)
}

/// The interactive shell, or `-c` statements and `-f` scripts.
struct Shell: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shell",
        abstract: "Run SQL: interactively (statements end with ';'), from -c and -f, or from a pipe.",
        discussion: """
        Without -c or -f, statements come from standard input: the interactive shell on a terminal, a script \
        otherwise. A script (a pipe, -f, \\i) reports a failing statement and goes on, and exits 1 at its end \
        if any failed (psql exits 0); with ON_ERROR_STOP on, its first failing statement stops it with status \
        3. -c stops at its first error with status 1. Ctrl-C ends a script with status 3.
        """)

    @OptionGroup var database: DatabaseOption

    @Option(name: .customShort("c"), help: "Run these statements (or a backslash command) and exit, at the first error with status 1. Repeatable, in order with -f.")
    var commands: [String] = []

    @Option(name: .customShort("f"), help: "Run this script file ('-': standard input) and exit. Repeatable, in order with -c.")
    var files: [String] = []

    @Option(name: [.customShort("v"), .customLong("set")], help: "Set a variable, NAME=VALUE, as \\set does (ON_ERROR_STOP=1). Repeatable.")
    var variables: [String] = []

    @Flag(help: "Print query results as CSV.") var csv = false
    @Flag(help: "Print query results as JSON (one array of objects per query).") var json = false

    func validate() throws {
        if csv && json { throw ValidationError("--csv and --json exclude each other") }
    }

    var format: Output.Format { csv ? .csv : json ? .json : .table }

    /// -c and -f in the order given, as psql runs them (ArgumentParser keeps the order within each option only).
    var actions: [Action] {
        var commands = commands[...]
        var files = files[...]
        return CommandLine.arguments.dropFirst().compactMap { argument in
            argument == "-c" ? commands.popFirst().map(Action.command) : argument == "-f" ? files.popFirst().map(Action.file) : nil
        }
    }

    func run() throws {
        let db = try database.open()
        defer { db.close() }
        var frontend = Frontend(session: SQLSession(database: db), format: format)
        for assignment in variables {
            let parts = assignment.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            do throws(Abort) {
                try frontend.set(String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
            } catch {
                printError("omendb: \(error.message)")
                throw ExitCode(1)
            }
        }
        Interrupt.install(frontend.session)
        let status = frontend.main(actions)
        if status != 0 { throw ExitCode(status) }
    }
}

extension String {
    func trimmingCharacters() -> String {
        var slice = Substring(self)
        while let first = slice.first, first.isWhitespace { slice.removeFirst() }
        while let last = slice.last, last.isWhitespace { slice.removeLast() }
        return String(slice)
    }

    func replacingNewlines() -> String { String(map { $0 == "\n" ? " " : $0 }) }
}
