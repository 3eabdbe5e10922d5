#if canImport(Glibc)
import Glibc
#endif
import CEditLine
import OmenEngine
import Synchronization

/// What the shell runs, in the order given: a `-c` text or a `-f` file.
enum Action {
    case command(String)
    case file(String)
}

/// What ends a run before its input ends: `\q`, or a script stopped with an exit status (psql's: 3 for an
/// error under ON_ERROR_STOP and for Ctrl-C; 1 for an error in -c).
enum Halt: Error {
    case quit
    case stop(Int32)
}

/// Ctrl-C. SIGINT raises this flag and asks the session to cancel its running statement (both lock-free
/// stores); the shell polls the flag before each statement, while printing rows, while reading COPY data and
/// at the prompt, and the engine stops a running statement with 57014.
enum Interrupt {
    static let flag = Atomic<Bool>(false)
    /// Set once, before the handler is installed, and only read by it.
    nonisolated(unsafe) static var cancellation: Cancellation?

    static func install(_ session: SQLSession) {
        flag.store(false, ordering: .relaxed)  // initialised here, before the handler can be the first to touch it
        cancellation = session.cancellation
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in
            Interrupt.flag.store(true, ordering: .relaxed)
            Interrupt.cancellation?.request()
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0  // no SA_RESTART: a blocked read or write returns EINTR, so the flag is seen at once
        sigaction(SIGINT, &action, nil)
    }

    /// True once for each Ctrl-C.
    static func take() -> Bool { flag.exchange(false, ordering: .relaxed) }
}

/// Where lines come from: the terminal through libedit (prompt, editing, history), a stream (a pipe, -f,
/// `\i`), or the text of a -c.
final class Input {
    enum Source {
        case terminal
        case stream(UnsafeMutablePointer<FILE>, owned: Bool)
        case text([Substring])
    }

    let source: Source
    private var position = 0
    /// Standard input as a stream (Swift 6 refuses the global `stdin`).
    nonisolated(unsafe) static let standard = fdopen(0, "r")!

    init(_ source: Source) { self.source = source }

    /// A script file, `-` for standard input; nil (errno set) when it cannot be opened.
    convenience init?(file path: String) {
        if path == "-" {
            self.init(.stream(Input.standard, owned: false))
        } else {
            guard let file = fopen(path, "r") else { return nil }
            self.init(.stream(file, owned: true))
        }
    }

    deinit { if case .stream(let file, owned: true) = source { fclose(file) } }

    var interactive: Bool {
        if case .terminal = source { return true }
        return false
    }

    /// The next line, without its newline; nil at the end, or when Ctrl-C interrupted the read.
    func line(_ prompt: String) -> String? {
        switch source {
        case .terminal:
            guard let raw = readline(prompt) else { return nil }
            defer { free(raw) }
            return String(cString: raw)
        case .stream(let file, _):
            return Self.line(of: file)
        case .text(let lines):
            guard position < lines.count else { return nil }
            position += 1
            return String(lines[position - 1])
        }
    }

    /// A line of COPY FROM STDIN data: from the input itself, as psql reads it, but from standard input for -c.
    func dataLine() -> String? {
        if case .text = source { return Self.line(of: Self.standard) }
        return line(">> ")
    }

    static func line(of file: UnsafeMutablePointer<FILE>) -> String? {
        var buffer: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(buffer) }
        let count = getline(&buffer, &capacity, file)
        guard count >= 0, let buffer else { return nil }
        let length = count > 0 && buffer[count - 1] == 10 ? count - 1 : count
        return String(decoding: UnsafeRawBufferPointer(start: buffer, count: length), as: UTF8.self)
    }
}

/// The shell as psql users know it, over a SQLSession: statements over several lines until `;`, backslash
/// commands, COPY data through the shell, and the error policy of scripts.
struct Frontend {
    let session: SQLSession
    var format: Output.Format
    var expanded = false
    var timing = false
    var variables: [String: String] = [:]
    /// Where results go: standard output, or the file `\o` named.
    var output: Int32 = 1
    /// Statements that failed in scripts: a script's exit status is 1 if any did.
    var failures = 0
    var history: [String] = []
    /// Kept across sessions, as psql keeps ~/.psql_history.
    let historyPath: String? = getenv("HOME").map { String(cString: $0) + "/.omendb_history" }

    init(session: SQLSession, format: Output.Format) {
        self.session = session
        self.format = format
    }

    var onErrorStop: Bool { variables["ON_ERROR_STOP"].flatMap(Self.boolean) ?? false }

    /// Runs the actions in order, or standard input without any; the exit status.
    mutating func main(_ actions: [Action]) -> Int32 {
        let terminal = actions.isEmpty && isatty(0) == 1
        if terminal {
            say("omendb \(OmenDB.version) — type \\? for help, \\q to quit.\n")
            if let historyPath { _ = read_history(historyPath) }
        }
        defer {
            if terminal {
                say("\n")
                if let historyPath { _ = write_history(historyPath) }
            }
        }
        do throws(Halt) {
            if actions.isEmpty { try run(Input(terminal ? .terminal : .stream(Input.standard, owned: false))) }
            for action in actions {
                switch action {
                case .command(let text):
                    try run(Input(.text(text.split(separator: "\n", omittingEmptySubsequences: false))))
                case .file(let path):
                    guard let input = Input(file: path) else {
                        printError("omendb: \(path): \(errnoText())")
                        return 1
                    }
                    try run(input)
                }
            }
        } catch {
            if case .stop(let status) = error { return status }
        }
        return terminal || failures == 0 ? 0 : 1
    }

    /// Runs `input` to its end: backslash commands at the start of a line, each statement once its `;` is
    /// read and, at the end of a script, the last one without.
    mutating func run(_ input: Input) throws(Halt) {
        var buffer = ""
        while true {
            // A Ctrl-C that no statement took ends a script, as psql's (status 3); the prompt forgets it.
            if Interrupt.take() && !input.interactive { throw .stop(3) }
            let prompt = buffer.isEmpty ? (session.inTransaction ? "omendb*=> " : "omendb=> ") : "omendb-> "
            let line = input.line(prompt)
            if Interrupt.take() {
                guard input.interactive else { throw .stop(3) }
                // At the prompt Ctrl-C drops the line and the statement begun, as psql.
                buffer = ""
                say("\n")
                continue
            }
            guard let line else { break }
            do throws(Halt) {
                try handle(line, &buffer, input)
            } catch {
                // A script that \i ran at the prompt stopped: back to the prompt.
                guard input.interactive, case .stop = error else { throw error }
            }
        }
        if !input.interactive && !buffer.isEmpty { _ = try execute(buffer, input) }
    }

    /// One line: a backslash command, or more of the statement in `buffer`, running what it completes.
    mutating func handle(_ line: String, _ buffer: inout String, _ input: Input) throws(Halt) {
        let trimmed = line.trimmingCharacters()
        if buffer.isEmpty && trimmed.hasPrefix("\\") {
            remember(trimmed, input)
            try backslash(trimmed, input)
            return
        }
        buffer += buffer.isEmpty ? line : "\n" + line
        let (statements, rest) = Statements.split(buffer)
        if !statements.isEmpty { remember(buffer, input) }
        buffer = rest
        for statement in statements {
            guard try execute(statement, input) else { return }
        }
    }

    /// Keeps what was typed at the terminal for `\s` and the arrow keys (not what scripts ran).
    mutating func remember(_ entry: String, _ input: Input) {
        guard input.interactive else { return }
        history.append(entry)
        _ = add_history(entry.replacingNewlines())
    }

    /// Runs one statement; false when Ctrl-C cancelled it, and the rest of its line must not run.
    mutating func execute(_ sql: String, _ input: Input) throws(Halt) -> Bool {
        let clock = ContinuousClock()
        let start = clock.now
        defer { if timing { say("Time: \(fixed(seconds(clock.now - start) * 1000, 3)) ms\n") } }
        do throws(Abort) {
            if Interrupt.take() { throw .cancel }
            if let copy = Copy(statement: sql) {
                try transfer(copy, input)
            } else {
                for result in try query(sql) { try show(result) }
            }
            return true
        } catch {
            return try report(error, input)
        }
    }

    /// Reports what stopped a statement or command, and stops a script where psql would; false after Ctrl-C.
    mutating func report(_ abort: Abort, _ input: Input) throws(Halt) -> Bool {
        printError(abort.message)
        failures += 1
        if case .cancel = abort {
            if !input.interactive { throw .stop(3) }
            return false
        }
        if case .text = input.source { throw .stop(1) }
        if onErrorStop && !input.interactive { throw .stop(3) }
        return true
    }

    func query(_ sql: String, copyData: [UInt8]? = nil) throws(Abort) -> [QueryResult] {
        do { return try session.execute(sql, copyData: copyData) } catch {
            // The engine stopped the statement for Ctrl-C: the shell's own cancel, reported once.
            if error.code == "57014" {
                _ = Interrupt.take()
                throw .cancel
            }
            throw .error(error.rendered(in: sql))
        }
    }

    /// Prints a result where results go. Ctrl-C stops rows; a command tag is printed whole, as its statement is done.
    func show(_ result: QueryResult) throws(Abort) {
        let text = Output.render(result, format: expanded && format == .table ? .expanded : format)
        try writeAll(output, Array(text.utf8), cancellable: !result.columns.isEmpty)
    }

    /// Messages (not results) go to standard output whatever `\o` says, as psql's.
    func say(_ text: String) { try? writeAll(1, Array(text.utf8)) }

    /// A COPY whose data passes through the shell: the engine's COPY FROM STDIN takes it with the
    /// statement, COPY TO STDOUT gives it back with the result.
    func transfer(_ copy: Copy, _ input: Input) throws(Abort) {
        var data: [UInt8]?
        if copy.from {
            switch copy.target {
            case .file(let path): data = try readFile(path)
            case .standard: data = try copyData(input)
            }
        }
        let results = try query(copy.statement, copyData: data)
        if !copy.from {
            let bytes = results.last?.copyData ?? []
            switch copy.target {
            case .file(let path): try writeFile(path, bytes)
            case .standard:
                // No COPY tag after the data, which it could be taken for (as psql's \copy to stdout).
                return try writeAll(output, bytes, cancellable: true)
            }
        }
        for result in results { try show(result) }
    }

    /// COPY FROM STDIN's data: the lines up to `\.` or the end of the input.
    func copyData(_ input: Input) throws(Abort) -> [UInt8] {
        if input.interactive {
            say("Enter data to be copied followed by a newline.\nEnd with a backslash and a period on a line by itself, or an EOF signal.\n")
        }
        var data: [UInt8] = []
        while true {
            let line = input.dataLine()
            if Interrupt.take() {
                if input.interactive { say("\n") }  // the error under the `>>` prompt, not after it
                throw .cancel
            }
            guard let line, line != "\\." else { return data }
            data += line.utf8
            data.append(10)
        }
    }

    /// Runs a backslash command.
    mutating func backslash(_ line: String, _ input: Input) throws(Halt) {
        let name = String(line.prefix { !$0.isWhitespace })
        let argument = String(line.dropFirst(name.count)).trimmingCharacters()
        switch name {
        case "\\q": throw .quit
        case "\\i", "\\include":
            guard let script = Input(file: argument) else {
                _ = try report(.error("\(argument): \(errnoText())"), input)
                return
            }
            try run(script)
        default:
            do throws(Abort) { try command(name, argument, input) } catch { _ = try report(error, input) }
        }
    }

    /// The backslash commands other than `\q` and `\i`.
    mutating func command(_ name: String, _ argument: String, _ input: Input) throws(Abort) {
        switch name {
        case "\\timing":
            timing = try Self.switched(timing, argument, name)
            say("Timing is \(timing ? "on" : "off").\n")
        case "\\x":
            expanded = try Self.switched(expanded, argument, name)
            say("Expanded display is \(expanded ? "on" : "off").\n")
        case "\\o", "\\out":
            if output != 1 { close(output) }
            output = 1
            if !argument.isEmpty {
                let fd = open(argument, O_WRONLY | O_CREAT | O_TRUNC, 0o666)
                guard fd >= 0 else { throw .error("\(argument): \(errnoText())") }
                output = fd
            }
        case "\\copy":
            guard let copy = Copy(arguments: argument) else {
                throw .error("\\copy: expected TABLE FROM|TO 'FILE'|STDIN|STDOUT [WITH] [(options)]")
            }
            try transfer(copy, input)
        case "\\set":
            let words = argument.split(separator: " ")
            guard let variable = words.first else {
                return say(variables.sorted { $0.key < $1.key }.map { "\($0.key) = '\($0.value)'\n" }.joined())
            }
            try set(String(variable), words.dropFirst().joined())
        case "\\unset":
            variables[argument] = nil
        case "\\dt":
            let rows = session.database.schemas.map { [Value.text($0.name), .text("table")] }
            try show(QueryResult(columns: ["Name", "Type"], rows: rows, tag: "SELECT \(rows.count)"))
        case "\\d":
            for table in argument.isEmpty ? session.database.schemas.map(\.name) : [argument] { try describe(table) }
        case "\\s":
            for (index, entry) in history.enumerated() { say("\(index + 1)  \(entry.replacingNewlines())\n") }
        case "\\?", "\\h":
            say("""
            \\d [TABLE]        describe a table (all tables without a name)
            \\dt               list tables
            \\x [on|off]       toggle expanded display (one line a column)
            \\timing [on|off]  toggle timing of statements
            \\o [FILE]         send results to FILE (truncated), or back to standard output
            \\i FILE           run the statements and commands of FILE
            \\copy TABLE FROM|TO 'FILE'|STDIN|STDOUT [WITH] [(FORMAT csv, HEADER)]
                              COPY with the file read or written by the shell
            \\set [NAME [VALUE]], \\unset NAME
                              variables; ON_ERROR_STOP on stops a script at its first error (status 3)
            \\s                show this session's history
            \\q                quit
            SQL statements end with ';' and may span lines; COPY TABLE FROM STDIN reads CSV lines up to \\.
            Ctrl-C cancels the statement or clears the line.

            """)
        default:
            throw .error("invalid command \(name); try \\? for help")
        }
    }

    func describe(_ name: String) throws(Abort) {
        guard let schema = try? session.database.schema(name) else {
            throw .error("Did not find any relation named \"\(name)\".")
        }
        let indexes = session.database.indexes(on: name)
        let rows = schema.visibleColumns.enumerated().map { index, column in
            let secondary = indexes.filter { $0.column == column.name && !$0.isPrimaryKey }.map { "index \($0.name) (learned)" }
            let primary = !schema.hasRowIDs ? "primary key (learned index)"
                : "primary key (unique index \(schema.name)_pkey, \(column.type == .text ? "hashed" : "learned"))"
            let key = (index == schema.primaryKey ? [primary] : []) + secondary
            return [Value.text(column.name), .text(column.type.sqlName), .text(column.nullable ? "" : "not null"),
                    .text(key.joined(separator: ", "))]
        }
        try writeAll(output, Array("Table \"\(name)\"\n".utf8))
        try show(QueryResult(columns: ["Column", "Type", "Nullable", "Key"], rows: rows, tag: ""))
    }

    /// `\set NAME VALUE` and `-v NAME=VALUE`; ON_ERROR_STOP takes only a boolean.
    mutating func set(_ name: String, _ value: String) throws(Abort) {
        if name == "ON_ERROR_STOP" && Self.boolean(value) == nil { throw .error(Self.unrecognized(value, name)) }
        variables[name] = value
    }

    /// A setting's new value: the argument's, or the other one without an argument.
    static func switched(_ current: Bool, _ argument: String, _ name: String) throws(Abort) -> Bool {
        if argument.isEmpty { return !current }
        guard let value = boolean(argument) else { throw .error(unrecognized(argument, name)) }
        return value
    }

    /// psql's booleans: on/off, true/false, yes/no, 1/0, in any case.
    static func boolean(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "on", "true", "t", "yes", "y", "1": true
        case "off", "false", "f", "no", "n", "0": false
        default: nil
        }
    }

    static func unrecognized(_ value: String, _ name: String) -> String {
        "unrecognized value \"\(value)\" for \"\(name)\": Boolean expected"
    }
}

/// A COPY whose data passes through the shell: `\copy TABLE FROM|TO 'FILE'|STDIN|STDOUT [WITH] [(options)]`,
/// and the statements COPY TABLE FROM STDIN and COPY TABLE TO STDOUT, whose data the shell reads or writes.
struct Copy {
    enum Target: Equatable {
        case standard
        case file(String)
    }

    var table: String
    var from: Bool
    var target: Target
    /// What follows the target (its options), WITH dropped.
    var options: String

    /// A COPY statement to or from the standard streams; nil for any other (the engine runs those).
    init?(statement sql: String) {
        guard let tokens = try? Lexer.tokenize(sql), tokens.first?.kind == .keyword("COPY") else { return nil }
        self.init(tokens.dropFirst(), in: sql, bareFile: false)
        guard target == .standard else { return nil }
    }

    /// `\copy`'s arguments, where a file name may go unquoted, as in psql.
    init?(arguments: String) {
        guard let tokens = try? Lexer.tokenize(arguments) else { return nil }
        self.init(tokens[...], in: arguments, bareFile: true)
    }

    private init?(_ tokens: ArraySlice<Token>, in text: String, bareFile: Bool) {
        let tokens = Array(tokens)
        guard tokens.count >= 3, case .identifier = tokens[0].kind else { return nil }
        switch tokens[1].kind {
        case .keyword("FROM"): from = true
        case .identifier("to"): from = false
        default: return nil
        }
        table = tokens[0].text
        var rest = Self.text(after: tokens[1], in: text).drop { $0.isWhitespace }
        if rest.first == "'" {
            let quoted = String(rest)
            guard let literal = (try? Lexer.tokenize(quoted))?.first, case .string(let path) = literal.kind else { return nil }
            target = .file(path)
            rest = Self.text(after: literal, in: quoted)[...]
        } else {
            let word = rest.prefix { !$0.isWhitespace && $0 != "(" && $0 != ";" }
            rest = rest.dropFirst(word.count)
            if word.lowercased() == (from ? "stdin" : "stdout") {
                target = .standard
            } else {
                guard bareFile, !word.isEmpty else { return nil }
                target = .file(String(word))
            }
        }
        rest = rest.drop { $0.isWhitespace }
        if rest.prefix(while: \.isLetter).lowercased() == "with" { rest = rest.dropFirst(4) }
        options = String(rest)
    }

    /// The engine's COPY of the same table and options, its data passed with the statement or result.
    var statement: String { "COPY \(table) \(from ? "FROM STDIN" : "TO STDOUT") \(options)" }

    /// The text after `token`, whose line and column count Unicode scalars from 1.
    static func text(after token: Token, in text: String) -> String {
        let scalars = text.unicodeScalars
        var index = scalars.startIndex
        var line = 1
        var column = 1
        while index < scalars.endIndex && (line, column) < (token.line, token.column) {
            if scalars[index] == "\n" { line += 1; column = 1 } else { column += 1 }
            index = scalars.index(after: index)
        }
        let end = scalars.index(index, offsetBy: token.text.unicodeScalars.count, limitedBy: scalars.endIndex) ?? scalars.endIndex
        return String(scalars[end...])
    }
}

/// Statements as the shell sends them: text cut at each `;` outside quotes and comments (as the engine's
/// lexer reads them), psql's way of running a line's statements one by one.
enum Statements {
    /// The complete statements without their `;`, and the rest ("" when it is only space and comments).
    static func split(_ text: String) -> (complete: [String], rest: String) {
        enum State { case code, string, identifier, lineComment, blockComment }
        let chars = Array(text.unicodeScalars)
        var statements: [String] = []
        var state = State.code
        var start = 0
        var significant = false
        func piece(_ end: Int) -> String {
            var piece = ""
            piece.unicodeScalars.append(contentsOf: chars[start..<end])
            return piece
        }
        var index = 0
        while index < chars.count {
            let c = chars[index]
            let next: Unicode.Scalar? = index + 1 < chars.count ? chars[index + 1] : nil
            switch state {
            case .code:
                if c == "-" && next == "-" {
                    state = .lineComment
                } else if c == "/" && next == "*" {
                    state = .blockComment
                    index += 1
                } else if c == ";" {
                    if significant { statements.append(piece(index)) }
                    start = index + 1
                    significant = false
                } else if !c.properties.isWhitespace {
                    significant = true
                    if c == "'" { state = .string } else if c == "\"" { state = .identifier }
                }
            // A doubled quote leaves the string and enters it again.
            case .string: if c == "'" { state = .code }
            case .identifier: if c == "\"" { state = .code }
            case .lineComment: if c == "\n" { state = .code }
            case .blockComment:
                if c == "*" && next == "/" {
                    state = .code
                    index += 1
                }
            }
            index += 1
        }
        return (statements, significant ? piece(chars.count) : "")
    }
}
