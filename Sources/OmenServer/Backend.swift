import NIOConcurrencyHelpers
import NIOCore
import OmenEngine

/// One connection's side of the protocol after startup: its SQL session, prepared statements and
/// portals. It turns frontend messages into backend messages; the connection handler runs it on the
/// statement threads, one batch of messages at a time, so it is never used by two threads at once.
final class Backend {
    let session: SQLSession
    let limits: ServerLimits
    private(set) var output: ByteBuffer
    /// After an error in the extended protocol, messages are skipped until Sync (as PostgreSQL does).
    private var skippingUntilSync = false
    private var statements: [String: PreparedStatement] = [:]
    private var portals: [String: Portal] = [:]
    /// COPY ... FROM STDIN under way in a simple query: its statement, the data so far, and the query's
    /// statements after it.
    private var copyIn: (statement: Statement, data: [UInt8], rest: ArraySlice<Statement>)?
    /// Set once the connection must close (Terminate, or a fatal error).
    private(set) var closing = false
    private var settings = ServerSettings()

    init(session: SQLSession, limits: ServerLimits, allocator: ByteBufferAllocator) {
        self.session = session
        self.limits = limits
        output = allocator.buffer(capacity: 4096)
    }

    /// The bytes to send so far, handed over.
    func takeOutput() -> ByteBuffer {
        let bytes = output
        output.clear()
        return bytes
    }

    /// Whether every message of `messages` is quick work: the extended protocol's steps (Bind, Describe,
    /// Execute, Sync...) for prepared point reads and quick writes, no simple query, no other statement,
    /// no COPY.
    /// The connection handler runs such a batch on its event loop instead of a statement thread.
    func isQuick(_ messages: [FrontendMessage]) -> Bool {
        guard copyIn == nil, !skippingUntilSync else { return false }
        var bound: Set<String> = []
        for message in messages {
            switch message {
            case .bind(let portal, let statement, _, _, _):
                guard let prepared = statements[statement], prepared.isPointRead || prepared.isQuickWrite else { return false }
                bound.insert(portal)
            // A quick write returns no rows, so Describe does not run it (libpq describes every portal).
            case .execute(let portal, _), .describe(UInt8(ascii: "P"), let portal):
                guard bound.contains(portal) || portals[portal].map({ $0.prepared.isPointRead || $0.prepared.isQuickWrite }) == true else { return false }
            case .sync, .flush, .close: break
            default: return false
            }
        }
        return true
    }

    /// Whether the backend waits for CopyData (its messages then go on without a ReadyForQuery).
    var inCopy: Bool { copyIn != nil }

    /// The transaction status ReadyForQuery reports: idle, in a transaction, or in a failed one.
    private var status: UInt8 {
        session.inTransaction ? (session.transactionFailed ? UInt8(ascii: "E") : UInt8(ascii: "T")) : UInt8(ascii: "I")
    }

    func readyForQuery() { output.writeMessage(UInt8(ascii: "Z")) { $0.writeInteger(status) } }

    func handle(_ message: FrontendMessage) {
        if let copy = copyIn {
            switch message {
            case .copyData(let data):
                guard copy.data.count + data.readableBytes <= limits.statementMemory else {
                    copyIn = nil
                    error(SQLError("54000", "COPY data exceeds the statement memory limit of \(limits.statementMemory) bytes",
                                   hint: "Split the data into several COPY statements, or raise --statement-memory."))
                    endImplicitTransaction(commit: false)
                    readyForQuery()
                    return
                }
                copyIn!.data += data.readableBytesView
            case .copyDone:
                copyIn = nil
                do {
                    complete(try session.run(copy.statement, copyData: copy.data).tag)
                    runSimple(copy.rest)
                } catch {
                    self.error(error)
                    endImplicitTransaction(commit: false)
                    readyForQuery()
                }
            case .copyFail(let reason):
                copyIn = nil
                error(SQLError("57014", "COPY from stdin failed: \(reason)"))
                endImplicitTransaction(commit: false)
                readyForQuery()
            case .flush, .sync: break
            case .terminate: closing = true
            default:
                copyIn = nil
                error(SQLError("08P01", "unexpected message during COPY from stdin"))
                endImplicitTransaction(commit: false)
                readyForQuery()
            }
            return
        }
        if skippingUntilSync {
            switch message {
            case .sync: skippingUntilSync = false
            case .terminate: closing = true; return
            default: return
            }
        }
        switch message {
        case .query(let sql): simpleQuery(sql)
        case .parse(let name, let query, let types): parse(name, query, types)
        case .bind(let portal, let statement, let formats, let parameters, let resultFormats):
            bind(portal, statement, formats, parameters, resultFormats)
        case .describe(let kind, let name): describe(kind, name)
        case .execute(let portal, let maxRows): execute(portal, maxRows)
        case .close(let kind, let name):
            if kind == UInt8(ascii: "S") { statements[name] = nil } else { portals[name] = nil }
            output.writeMessage(UInt8(ascii: "3")) { _ in }
        case .sync:
            portals[""] = nil
            readyForQuery()
        case .flush: break
        case .terminate: closing = true
        case .copyData, .copyDone, .copyFail: break
        case .startup, .sslRequest, .gssRequest, .cancel, .password:
            fatal(SQLError("08P01", "unexpected message after startup"))
        }
    }

    /// The connection ends: an open transaction rolls back.
    func close() {
        if session.inTransaction { _ = try? session.execute("ROLLBACK") }
    }

    /// The answer to a command the server takes itself (SET, SHOW, catalog queries), nil for SQL the
    /// engine runs; with `run` false it only recognises.
    private func serverAnswer(_ sql: String, parameters: [Value] = [], run: Bool) throws(SQLError) -> QueryResult? {
        let words = sql.split(whereSeparator: { $0.isWhitespace || $0 == ";" }).map { $0.lowercased() }
        if words.first == "deallocate", (2...3).contains(words.count), words.count == 2 || words[1] == "prepare" {
            let name = words.last!
            if run {
                if name == "all" { statements = [:] } else if statements.removeValue(forKey: name) == nil {
                    throw SQLError("26000", "prepared statement \"\(name)\" does not exist")
                }
            }
            return QueryResult(columns: [], rows: [], tag: name == "all" ? "DEALLOCATE ALL" : "DEALLOCATE")
        }
        return try settings.answer(sql, session: run ? session : nil)
            ?? CatalogQueries.answer(sql, parameters: parameters, database: session.database)
    }

    // MARK: Simple query

    private func simpleQuery(_ sql: String) {
        do {
            if let answer = try serverAnswer(sql, run: true) {
                _ = sendSimple(answer)
                readyForQuery()
                return
            }
        } catch {
            self.error(error)
            readyForQuery()
            return
        }
        let statements: [Statement]
        do { statements = try Parser.parse(settings.substituted(sql)).map(Self.textCopyByDefault) } catch {
            self.error(error, sql: sql)
            readyForQuery()
            return
        }
        if statements.isEmpty {
            output.writeMessage(UInt8(ascii: "I")) { _ in }
            readyForQuery()
            return
        }
        currentSQL = sql
        if statements.count > 1 && !session.inTransaction && !statements.contains(where: Self.controlsTransaction) {
            do { _ = try session.run(.begin) } catch {
                self.error(error)
                return readyForQuery()
            }
            implicitTransaction = true
        }
        runSimple(statements[...])
    }

    /// A simple query of several statements outside BEGIN runs as one transaction, as in PostgreSQL: when
    /// one fails, the ones before it roll back too.
    private var implicitTransaction = false

    private static func controlsTransaction(_ statement: Statement) -> Bool {
        switch statement {
        case .begin, .commit, .rollback: true
        default: false
        }
    }

    /// Commits or rolls back the implicit transaction of a multi-statement query, if one is open.
    private func endImplicitTransaction(commit: Bool) {
        guard implicitTransaction else { return }
        implicitTransaction = false
        do { _ = try session.run(commit && !session.transactionFailed ? .commit : .rollback) } catch { self.error(error) }
    }

    /// The query text errors point into.
    private var currentSQL = ""

    /// Runs a simple query's statements in turn until one fails or one is COPY FROM STDIN, which waits for
    /// its data; then ReadyForQuery.
    private func runSimple(_ statements: ArraySlice<Statement>) {
        var rest = statements
        while let statement = rest.popFirst() {
            if case .copyFrom(_, let columns, nil, _, _) = statement {
                copyIn = (statement, [], rest)
                let count = columns?.count ?? 0
                output.writeMessage(UInt8(ascii: "G")) { body in
                    body.writeInteger(UInt8(0))
                    body.writeInteger(Int16(count))
                    for _ in 0..<count { body.writeInteger(Int16(0)) }
                }
                return
            }
            do {
                guard sendSimple(try session.run(statement), of: statement) else {
                    endImplicitTransaction(commit: false)
                    return readyForQuery()
                }
            } catch {
                self.error(error, sql: currentSQL)
                endImplicitTransaction(commit: false)
                return readyForQuery()
            }
        }
        endImplicitTransaction(commit: true)
        readyForQuery()
    }

    // MARK: Extended query

    /// COPY without a FORMAT is text, PostgreSQL's default, which its clients write and read (psycopg's
    /// `write_row`, psql's `\copy` without options, pg_dump); the embedded engine's default is CSV.
    static func textCopyByDefault(_ statement: Statement) -> Statement {
        switch statement {
        case .copyFrom(let table, let columns, let path, let header, nil): .copyFrom(table: table, columns: columns, path: path, header: header, format: .text)
        case .copyTo(let table, let path, let header, nil): .copyTo(table: table, path: path, header: header, format: .text)
        default: statement
        }
    }

    /// The highest `$n` in `sql`, outside quotes: how many parameters a server answer's text takes.
    static func parameterCount(_ sql: String) -> Int {
        var highest = 0, quote: Character?
        var rest = sql[...]
        while let character = rest.popFirst() {
            if let open = quote {
                if character == open { quote = nil }
            } else if character == "'" || character == "\"" {
                quote = character
            } else if character == "$" {
                let digits = rest.prefix { $0.isASCII && $0.isNumber }
                highest = max(highest, Int(digits.prefix(5)) ?? 0)
            }
        }
        return highest
    }

    private func parse(_ name: String, _ sql: String, _ declaredOIDs: [Int32]) {
        if !name.isEmpty && statements[name] != nil {
            return error(SQLError("42P05", "prepared statement \"\(name)\" already exists"), extended: true)
        }
        var declared: [ColumnType?] = []
        for oid in declaredOIDs {
            guard let type = TypeOID.columnType(oid) else {
                return error(SQLError("0A000", "parameters of type OID \(oid) are not supported",
                                      hint: "Parameters may be bigint, integer, smallint, double precision, real, numeric, text, boolean, timestamp, date, interval or uuid."), extended: true)
            }
            declared.append(type)
        }
        var prepared = PreparedStatement(sql: sql, statement: nil, parameterTypes: [])
        if (try? serverAnswer(sql, run: false)) != nil {
            // The server's own answers take their parameters as text.
            prepared.parameterTypes = (0..<Self.parameterCount(sql)).map { $0 < declared.count ? declared[$0] : nil }
        } else {
            do {
                let parsed = try Parser.parse(settings.substituted(sql))
                guard parsed.count <= 1 else {
                    return error(SQLError("42601", "cannot insert multiple commands into a prepared statement"), extended: true)
                }
                prepared.statement = parsed.first.map(Self.textCopyByDefault)
            } catch {
                return self.error(error, sql: sql, extended: true)
            }
            if let statement = prepared.statement {
                prepared.parameterTypes = session.parameterTypes(statement, sql: sql, declared: declared)
                prepared.isPointRead = session.isPointRead(statement)
                prepared.isQuickWrite = session.isQuickWrite(statement)
                prepared.pointRead = session.pointRead(statement)
            }
        }
        statements[name] = prepared
        output.writeMessage(UInt8(ascii: "1")) { _ in }
    }

    private func bind(_ name: String, _ statementName: String, _ formats: [Int16], _ parameters: [ByteBuffer?], _ resultFormats: [Int16]) {
        guard let prepared = statements[statementName] else {
            return error(SQLError("26000", "prepared statement \"\(statementName)\" does not exist"), extended: true)
        }
        if !name.isEmpty && portals[name] != nil {
            return error(SQLError("42P03", "cursor \"\(name)\" already exists"), extended: true)
        }
        guard parameters.count == prepared.parameterTypes.count else {
            return error(SQLError("08P01", "bind message supplies \(parameters.count) parameters, but prepared statement \"\(statementName)\" requires \(prepared.parameterTypes.count)"), extended: true)
        }
        guard formats.count <= 1 || formats.count == parameters.count else {
            return error(SQLError("08P01", "bind message has \(formats.count) parameter formats but \(parameters.count) parameters"), extended: true)
        }
        var values: [Value] = []
        values.reserveCapacity(parameters.count)
        for (index, parameter) in parameters.enumerated() {
            guard let parameter else {
                values.append(.null)
                continue
            }
            let format = formats.isEmpty ? 0 : formats.count == 1 ? formats[0] : formats[index]
            do {
                values.append(try ValueCodec.decode(parameter, format: format, as: prepared.parameterTypes[index]))
            } catch {
                var error = error
                error.message += " (parameter $\(index + 1))"
                return self.error(error, extended: true)
            }
        }
        portals[name] = Portal(prepared: prepared, statement: statementName, parameters: values, resultFormats: resultFormats)
        output.writeMessage(UInt8(ascii: "2")) { _ in }
    }

    private func describe(_ kind: UInt8, _ name: String) {
        if kind == UInt8(ascii: "S") {
            guard var prepared = statements[name] else {
                return error(SQLError("26000", "prepared statement \"\(name)\" does not exist"), extended: true)
            }
            output.writeMessage(UInt8(ascii: "t")) { body in
                body.writeInteger(Int16(prepared.parameterTypes.count))
                for type in prepared.parameterTypes { body.writeInteger(TypeOID.of(type)) }
            }
            guard let statement = prepared.statement else {
                let nulls = [Value](repeating: .null, count: prepared.parameterTypes.count)
                guard let answer = try? serverAnswer(prepared.sql, parameters: nulls, run: false), !answer.columns.isEmpty else {
                    return output.writeMessage(UInt8(ascii: "n")) { _ in }
                }
                return rowDescription(answer.columns, answer.types, formats: [])
            }
            do {
                prepared.result = try session.describe(statement, parameterCount: prepared.parameterTypes.count)
            } catch {
                return self.error(error, sql: prepared.sql, extended: true)
            }
            statements[name] = prepared
            if let result = prepared.result {
                rowDescription(result.names, result.types, formats: [])
            } else {
                output.writeMessage(UInt8(ascii: "n")) { _ in }
            }
            return
        }
        guard var portal = portals[name] else {
            return error(SQLError("34000", "portal \"\(name)\" does not exist"), extended: true)
        }
        if portal.result == nil {
            guard portal.prepared.statement.map(returnsRows) ?? true else { return output.writeMessage(UInt8(ascii: "n")) { _ in } }
            // The portal runs now, so that its columns' types are the rows' own; Execute sends the rows.
            guard run(&portal) else { return }
            portals[name] = portal
        }
        let result = portal.result!
        if result.columns.isEmpty { return output.writeMessage(UInt8(ascii: "n")) { _ in } }
        rowDescription(result.columns, portal.types, formats: portal.resultFormats)
    }

    private func returnsRows(_ statement: Statement) -> Bool {
        switch statement {
        case .query, .explain: true
        case .insert(_, _, _, _, let returning), .update(_, _, _, let returning), .delete(_, _, let returning): !returning.isEmpty
        default: false
        }
    }

    /// Runs a portal's statement (or server command); false, with the error sent, when it fails.
    private func run(_ portal: inout Portal) -> Bool {
        guard let statement = portal.prepared.statement else {
            do {
                portal.result = try serverAnswer(portal.prepared.sql, parameters: portal.parameters, run: true)
                    ?? QueryResult(columns: [], rows: [], tag: "")
            } catch {
                self.error(error, extended: true)
                return false
            }
            portal.types = portal.result!.types
            return true
        }
        if case .copyFrom(_, _, nil, _, _) = statement {
            error(SQLError("0A000", "COPY FROM STDIN is taken by the simple query protocol only",
                           hint: "Send the COPY statement as a simple query (psql's \\copy and psycopg's cursor.copy do)."), extended: true)
            return false
        }
        do {
            if let read = portal.prepared.pointRead, let shape = portal.prepared.pointReadShape,
               let rows = try session.readRow(read, parameters: portal.parameters) {
                portal.take(QueryResult(columns: shape.names, rows: rows, tag: "SELECT \(rows.count)", types: shape.types))
            } else {
                let result = try session.run(statement, parameters: portal.parameters)
                portal.take(result)
                if portal.prepared.pointRead != nil, portal.prepared.pointReadShape == nil, !result.types.contains(nil),
                   statements[portal.statement]?.sql == portal.prepared.sql {
                    statements[portal.statement]?.pointReadShape = (result.columns, result.types)
                }
            }
        } catch {
            self.error(error, sql: portal.prepared.sql, extended: true)
            return false
        }
        return true
    }

    private func execute(_ name: String, _ maxRows: Int32) {
        guard var portal = portals[name] else {
            return error(SQLError("34000", "portal \"\(name)\" does not exist"), extended: true)
        }
        if portal.result == nil, deferringCommits, portal.prepared.isQuickWrite, let statement = portal.prepared.statement {
            let pending = PendingCommit()
            do {
                guard let result = try session.run(statement, parameters: portal.parameters, whenDurable: pending.deliver) else {
                    pendingCommit = (name, maxRows, pending)
                    return
                }
                portal.take(result)
            } catch {
                return self.error(error, sql: portal.prepared.sql, extended: true)
            }
        } else if portal.result == nil {
            guard run(&portal) else { return }
        }
        send(&portal, name, maxRows)
    }

    /// Whether a quick write's commit may leave its Execute waiting for the disk (`pendingCommit`) rather
    /// than block the thread: set while the connection's event loop runs the messages.
    var deferringCommits = false

    /// The Execute whose commit waits for the disk: the portal, its row limit, and the outcome to come.
    private(set) var pendingCommit: (portal: String, maxRows: Int32, commit: PendingCommit)?

    /// Ends the Execute that waited for its commit, now that the outcome has come: its rows and
    /// CommandComplete, or the commit's error.
    func resumeAfterCommit() {
        guard let (name, maxRows, pending) = pendingCommit, let outcome = pending.outcome else { return }
        pendingCommit = nil
        guard var portal = portals[name] else { return }
        switch outcome {
        case .success(let result):
            portal.take(result)
            send(&portal, name, maxRows)
        case .failure(let error):
            self.error(error, sql: portal.prepared.sql, extended: true)
        }
    }

    /// Sends up to `maxRows` more of a portal's result (all for 0), then CommandComplete or PortalSuspended.
    private func send(_ portal: inout Portal, _ name: String, _ maxRows: Int32) {
        let result = portal.result!
        if portal.prepared.statement == nil && result.tag.isEmpty {
            return output.writeMessage(UInt8(ascii: "I")) { _ in }
        }
        if let data = result.copyData {
            copyOut(data, of: portal.prepared.statement)
            return complete(result.tag)
        }
        let end = maxRows > 0 ? min(result.rows.count, portal.sent + Int(maxRows)) : result.rows.count
        guard dataRows(result.rows[portal.sent..<end], types: portal.types, formats: portal.resultFormats, extended: true) else { return }
        portal.sent = end
        portals[name] = portal
        if end < result.rows.count { return output.writeMessage(UInt8(ascii: "s")) { _ in } }
        complete(result.tag)
    }

    // MARK: Results

    /// Sends a simple query statement's result: RowDescription and rows, or COPY TO STDOUT's data, then
    /// CommandComplete; false (an error sent instead) when the rows pass the statement memory limit.
    private func sendSimple(_ result: QueryResult, of statement: Statement? = nil) -> Bool {
        if let data = result.copyData {
            copyOut(data, of: statement)
        } else if !result.columns.isEmpty {
            rowDescription(result.columns, result.types, formats: [])
            guard dataRows(result.rows[...], types: result.types, formats: [], extended: false) else { return false }
        }
        complete(result.tag)
        return true
    }

    /// COPY TO STDOUT's data, one CopyData message per row as PostgreSQL sends it (psycopg's `rows()`
    /// reads a row from each); a CSV row ends at a newline outside quotes.
    private func copyOut(_ data: [UInt8], of statement: Statement?) {
        var columns = 0, csv = false
        if case .copyTo(let table, _, _, let format) = statement {
            columns = session.database.schemas.first { $0.name == table.name }?.visibleColumns.count ?? 0
            csv = format == .csv
        }
        output.writeMessage(UInt8(ascii: "H")) { body in
            body.writeInteger(UInt8(0))
            body.writeInteger(Int16(columns))
            for _ in 0..<columns { body.writeInteger(Int16(0)) }
        }
        var start = 0, quoted = false
        for (index, byte) in data.enumerated() {
            if csv && byte == UInt8(ascii: "\"") { quoted.toggle() }
            guard byte == UInt8(ascii: "\n"), !quoted else { continue }
            output.writeMessage(UInt8(ascii: "d")) { $0.writeBytes(data[start...index]) }
            start = index + 1
        }
        if start < data.count { output.writeMessage(UInt8(ascii: "d")) { $0.writeBytes(data[start...]) } }
        output.writeMessage(UInt8(ascii: "c")) { _ in }
    }

    private func complete(_ tag: String) {
        output.writeMessage(UInt8(ascii: "C")) { $0.writeCString(tag) }
    }

    private func rowDescription(_ names: [String], _ types: [ColumnType?], formats: [Int16]) {
        output.writeMessage(UInt8(ascii: "T")) { body in
            body.writeInteger(Int16(names.count))
            for (index, name) in names.enumerated() {
                let oid = TypeOID.of(index < types.count ? types[index] : nil)
                body.writeCString(name)
                body.writeInteger(Int32(0))
                body.writeInteger(Int16(0))
                body.writeInteger(oid)
                body.writeInteger(TypeOID.length(oid))
                body.writeInteger(Int32(-1))
                body.writeInteger(Self.format(formats, index))
            }
        }
    }

    private static func format(_ formats: [Int16], _ index: Int) -> Int16 {
        formats.isEmpty ? 0 : formats.count == 1 ? formats[0] : index < formats.count ? formats[index] : 0
    }

    /// Writes the rows; false (and an error sent instead) when they pass the statement memory limit.
    private func dataRows(_ rows: ArraySlice<[Value]>, types: [ColumnType?], formats: [Int16], extended: Bool) -> Bool {
        let start = output.writerIndex
        for row in rows {
            output.writeMessage(UInt8(ascii: "D")) { body in
                body.writeInteger(Int16(row.count))
                for (index, value) in row.enumerated() {
                    ValueCodec.write(value, type: index < types.count ? types[index] : nil, format: Self.format(formats, index), to: &body)
                }
            }
            if output.writerIndex - start > limits.statementMemory {
                output.moveWriterIndex(to: start)
                error(SQLError("54000", "the result exceeds the statement memory limit of \(limits.statementMemory) bytes",
                               hint: "Fetch it in parts (LIMIT and OFFSET, or a key range), or raise --statement-memory."),
                      extended: extended)
                return false
            }
        }
        return true
    }

    // MARK: Errors

    /// Sends `error` as an ErrorResponse; `sql` is the text its line and column point into.
    private func error(_ error: SQLError, sql: String? = nil, extended: Bool = false) {
        output.writeMessage(UInt8(ascii: "E")) { body in
            Self.fields(of: error, severity: "ERROR", sql: sql, into: &body)
        }
        if extended { skippingUntilSync = true }
    }

    /// Sends a FATAL error and closes the connection.
    func fatal(_ error: SQLError) {
        output.writeMessage(UInt8(ascii: "E")) { body in Self.fields(of: error, severity: "FATAL", sql: nil, into: &body) }
        closing = true
    }

    static func fields(of error: SQLError, severity: String, sql: String?, into body: inout ByteBuffer) {
        func field(_ code: Character, _ text: String) {
            body.writeInteger(code.asciiValue!)
            body.writeCString(text)
        }
        field("S", severity)
        field("V", severity)
        field("C", error.code)
        field("M", error.message)
        if let hint = error.hint { field("H", hint) }
        if let sql, let line = error.line, let column = error.column, let position = Self.position(in: sql, line: line, column: column) {
            field("P", String(position))
        }
        body.writeInteger(UInt8(0))
    }

    /// The 1-based character position of `line`:`column` in `sql`, as ErrorResponse's P field counts.
    static func position(in sql: String, line: Int, column: Int) -> Int? {
        var currentLine = 1
        var position = 1
        for scalar in sql.unicodeScalars {
            if currentLine == line { return position + column - 1 }
            if scalar == "\n" { currentLine += 1 }
            position += 1
        }
        return currentLine == line ? position + column - 1 : nil
    }
}

/// A statement parsed by Parse: its text, the statement (nil for an empty query or a server command such
/// as SET), its parameters' types, and once described, its result's columns.
struct PreparedStatement {
    var sql: String
    var statement: Statement?
    var parameterTypes: [ColumnType?]
    var result: ResultDescription?
    /// A one-row read by primary key (SQLSession.isPointRead).
    var isPointRead = false
    /// A few rows written, or BEGIN, COMMIT, ROLLBACK (SQLSession.isQuickWrite).
    var isQuickWrite = false
    /// `SELECT columns FROM t WHERE key = $n`, run without the planner once its first run gave the
    /// result's column names and types (`pointReadShape`).
    var pointRead: PointRead?
    var pointReadShape: (names: [String], types: [ColumnType?])?
}

/// A bound statement: its parameter values and result formats, and once run, its result and how many
/// rows Execute has sent.
struct Portal {
    var prepared: PreparedStatement
    /// The prepared statement's name.
    var statement: String
    var parameters: [Value]
    var resultFormats: [Int16]
    var result: QueryResult?
    var types: [ColumnType?] = []
    var sent = 0

    init(prepared: PreparedStatement, statement: String, parameters: [Value], resultFormats: [Int16]) {
        self.prepared = prepared
        self.statement = statement
        self.parameters = parameters
        self.resultFormats = resultFormats
    }

    /// The statement's result, its rows going out with the types Describe gave the client, if it
    /// described the statement.
    mutating func take(_ result: QueryResult) {
        self.result = result
        types = prepared.result?.types ?? result.types
    }
}

/// A commit's outcome, delivered by the log's flusher thread to the connection that waits for it.
final class PendingCommit: @unchecked Sendable {
    private let lock = NIOLock()
    private var result: Result<QueryResult, SQLError>?
    private var waiter: (@Sendable () -> Void)?

    var outcome: Result<QueryResult, SQLError>? { lock.withLock { result } }

    @Sendable func deliver(_ outcome: Result<QueryResult, SQLError>) {
        let waiter = lock.withLock { () -> (@Sendable () -> Void)? in
            result = outcome
            return self.waiter
        }
        waiter?()
    }

    /// Calls `body` once the outcome is in (at once if it is already).
    func whenDelivered(_ body: @escaping @Sendable () -> Void) {
        let ready = lock.withLock { () -> Bool in
            if result == nil { waiter = body }
            return result != nil
        }
        if ready { body() }
    }
}
