#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import CEditLine
import OmenEngine

@main
struct OmenDB: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "omendb",
        abstract: "OmenDB: an embedded database for ordered data on learned indexes.",
        subcommands: [Shell.self, Import.self, Bench.self, Version.self, CrashWriter.self, CrashCheck.self],
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

    func open() throws -> Database {
        var options = Database.Options()
        options.repairLog = repairLog
        do {
            let database = try Database.open(db, options: options)
            for line in database.repairedLog { printError("omendb: repaired the log: moved aside \(line)") }
            return database
        } catch {
            printError("omendb: \(error)")
            if case .corrupt = error, !repairLog {
                printError("HINT: omendb --db \(db) --repair-log keeps the commits before the damage and moves the rest aside.")
            }
            throw ExitCode(2)
        }
    }
}

/// Writes to standard error (file descriptor 2, unbuffered).
func writeError(_ text: String) {
    var bytes = Array(text.utf8)
    _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
}

func printError(_ text: String) { writeError(text + "\n") }

/// The interactive shell, or `-c` statements.
struct Shell: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shell",
        abstract: "Run SQL: interactively (statements end with ';'), or from -c and exit.")

    @OptionGroup var database: DatabaseOption

    @Option(name: .customShort("c"), help: "Run these statements and exit (non-zero on error). Repeatable.")
    var commands: [String] = []

    @Flag(help: "Print query results as CSV.") var csv = false
    @Flag(help: "Print query results as JSON (one array of objects per query).") var json = false

    func validate() throws {
        if csv && json { throw ValidationError("--csv and --json exclude each other") }
    }

    var format: Output.Format { csv ? .csv : json ? .json : .table }

    func run() throws {
        let db = try database.open()
        defer { try? db.close() }
        let session = SQLSession(database: db)
        if !commands.isEmpty {
            for sql in commands {
                do {
                    for result in try session.execute(sql) { print(Output.render(result, format: format), terminator: "") }
                } catch {
                    printError(error.rendered(in: sql))
                    throw ExitCode(1)
                }
            }
            return
        }
        var shell = Interactive(session: session, format: format)
        shell.loop()
    }
}

/// The read-eval-print loop: a prompt, statements over several lines until `;`, backslash commands,
/// history kept in `~/.omendb_history`.
struct Interactive {
    let session: SQLSession
    var format: Output.Format
    var timing = false
    var history: [String] = []
    let terminal = isatty(0) == 1
    /// Kept across sessions, as psql keeps ~/.psql_history.
    let historyPath: String? = getenv("HOME").map { String(cString: $0) + "/.omendb_history" }

    init(session: SQLSession, format: Output.Format) {
        self.session = session
        self.format = format
    }

    mutating func loop() {
        if terminal {
            print("omendb \(OmenDB.version) — type \\? for help, \\q to quit.")
            if let historyPath { _ = read_history(historyPath) }
        }
        var buffer = ""
        while true {
            let prompt = buffer.isEmpty ? (session.inTransaction ? "omendb*=> " : "omendb=> ") : "omendb-> "
            guard let line = readInput(prompt) else { break }
            let trimmed = line.trimmingCharacters()
            if buffer.isEmpty && trimmed.hasPrefix("\\") {
                remember(trimmed)
                if !backslash(trimmed) { break }
                continue
            }
            buffer += buffer.isEmpty ? line : "\n" + line
            guard Self.complete(buffer) else { continue }
            remember(buffer)
            run(buffer)
            buffer = ""
        }
        if terminal {
            print("")
            if let historyPath { _ = write_history(historyPath) }
        }
    }

    /// A line from the terminal through libedit (arrow keys, history), or from standard input.
    func readInput(_ prompt: String) -> String? {
        guard terminal else { return readLine() }
        guard let raw = readline(prompt) else { return nil }
        defer { free(raw) }
        return String(cString: raw)
    }

    /// True when the text ends a statement: a `;` outside quotes and comments, with only space after.
    static func complete(_ text: String) -> Bool {
        var inString = false
        var inIdentifier = false
        var lastSemicolon = false
        var previous: Character = " "
        var inComment = false
        for character in text {
            if inComment {
                if character == "\n" { inComment = false }
                continue
            }
            if !inString && !inIdentifier && previous == "-" && character == "-" { inComment = true; lastSemicolon = false; continue }
            if character == "'" && !inIdentifier { inString.toggle() }
            if character == "\"" && !inString { inIdentifier.toggle() }
            if !inString && !inIdentifier && character == ";" { lastSemicolon = true }
            else if !character.isWhitespace { lastSemicolon = false }
            previous = character
        }
        return lastSemicolon && !inString && !inIdentifier
    }

    mutating func remember(_ entry: String) {
        history.append(entry)
        if terminal { _ = add_history(entry.replacingNewlines()) }
    }

    mutating func run(_ sql: String) {
        let clock = ContinuousClock()
        let start = clock.now
        do {
            for result in try session.execute(sql) { print(Output.render(result, format: format), terminator: "") }
        } catch {
            printError(error.rendered(in: sql))
        }
        if timing { print("Time: \(fixed(seconds(clock.now - start) * 1000, 3)) ms") }
    }

    /// Runs a backslash command; false to quit.
    mutating func backslash(_ command: String) -> Bool {
        let parts = command.split(separator: " ").map(String.init)
        switch parts[0] {
        case "\\q": return false
        case "\\timing":
            timing = parts.count > 1 ? parts[1] == "on" : !timing
            print("Timing is \(timing ? "on" : "off").")
        case "\\dt":
            let tables = session.database.schemas
            let rows = tables.map { [Value.text($0.name), .text("table")] }
            print(Output.render(QueryResult(columns: ["Name", "Type"], rows: rows, tag: "SELECT \(rows.count)"), format: format), terminator: "")
        case "\\d":
            if parts.count > 1 {
                describe(parts[1])
            } else {
                for schema in session.database.schemas { describe(schema.name) }
            }
        case "\\s":
            for (index, entry) in history.enumerated() { print("\(index + 1)  \(entry.replacingNewlines())") }
        case "\\?", "\\h":
            print("""
            \\d [TABLE]   describe a table (all tables without a name)
            \\dt          list tables
            \\timing      toggle timing of statements
            \\s           show this session's history
            \\q           quit
            SQL statements end with ';' and may span lines.
            """)
        default:
            printError("invalid command \(parts[0]); try \\? for help")
        }
        return true
    }

    func describe(_ name: String) {
        guard let schema = try? session.database.schema(name) else {
            printError("Did not find any relation named \"\(name)\".")
            return
        }
        let rows = schema.columns.enumerated().map { index, column in
            [Value.text(column.name), .text(column.type.sqlName),
             .text(column.nullable ? "" : "not null"), .text(index == schema.primaryKey ? "primary key (learned index)" : "")]
        }
        print("Table \"\(name)\"")
        print(Output.render(QueryResult(columns: ["Column", "Type", "Nullable", "Key"], rows: rows, tag: ""), format: format), terminator: "")
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
