#if canImport(Glibc)
import Glibc
#endif

/// CSV as PostgreSQL's COPY writes it: comma-separated, `"` quotes (doubled inside), an unquoted empty
/// field is NULL, a quoted empty field is the empty string. Read by `Loader`, a streaming parse straight
/// into a table's column vectors, which `omendb import` and COPY FROM share.
public enum CSV {
    /// What the first line is: data, a line to skip (COPY's HEADER), or the file's column names
    /// (`omendb import --header`, COPY's HEADER MATCH).
    public enum Header: Sendable {
        case none, skip, match
    }

    /// A bad record stops the load (`stop`), or is left out and reported (`skip`).
    public enum OnError: String, Sendable {
        case stop, skip
    }

    /// A record that did not load: its first line, the column at fault (nil for the record's shape),
    /// the error, and the record's bytes as the file has them (without the line end).
    public struct Reject: Sendable {
        public var line: Int
        public var column: String?
        public var error: SQLError
        public var record: [UInt8]
    }

    /// The file's columns and the load's rules.
    public struct Options: Sendable {
        /// The table columns the file's fields fill, in order (COPY t (a, b)); nil for the header's
        /// names with `.match`, else the table's columns.
        public var columns: [String]?
        public var header: Header
        public var timestampFormat: TimestampFormat
        public var onError: OnError

        public init(columns: [String]? = nil, header: Header = .none, timestampFormat: TimestampFormat = .standard,
                    onError: OnError = .stop) {
            self.columns = columns
            self.header = header
            self.timestampFormat = timestampFormat
            self.onError = onError
        }
    }

    /// Loads a CSV file into `table` within `transaction`, reading it in chunks (memory stays at a chunk
    /// and its rows, besides what the transaction holds). `progress` gets the bytes parsed and the file's
    /// size after each chunk; `reject` each skipped record. Returns the rows inserted and skipped.
    public static func load(
        file path: String, into table: String, transaction: Transaction, options: Options,
        progress: (Int, Int) -> Void = { _, _ in }, reject: (Reject) throws(SQLError) -> Void = { _ throws(SQLError) in }
    ) throws(SQLError) -> (rows: Int, rejected: Int) {
        let schema: TableSchema
        do throws(EngineError) { schema = try transaction.database.schema(table) } catch { throw SQLError(error) }
        var loader = try Loader(schema: schema, options: options)
        try loader.load(file: path, insert: { (batch) throws(SQLError) in
            do throws(EngineError) { try transaction.insert(table, batch: batch) } catch { throw SQLError(error) }
        }, progress: progress, reject: reject)
        return (loader.rows, loader.rejected)
    }

    /// Parses records into typed column vectors; `parse` is fed the input in pieces, `takeBatch` hands
    /// over the rows parsed so far.
    struct Loader {
        let schema: TableSchema
        var options: Options
        /// The column (index into the visible columns) each field of a record fills.
        private var targets: [Int] = []
        private var columns: [ColumnVector]
        private var bound: [Bool]
        private var needsHeader: Bool
        /// The unescaped text of a quoted field.
        private var scratch: [UInt8] = []
        private(set) var line = 1
        /// Rows in the column vectors, not yet taken.
        private var pending = 0
        private(set) var rows = 0
        private(set) var rejected = 0

        init(schema: TableSchema, options: Options) throws(SQLError) {
            self.schema = schema
            self.options = options
            columns = schema.visibleColumns.map { ColumnVector(type: $0.type) }
            bound = Array(repeating: false, count: columns.count)
            needsHeader = options.header != .none
            if let names = options.columns { try bind(names) }
            else if options.header != .match { try bind(schema.visibleColumns.map(\.name)) }
        }

        /// Maps the file's fields to the named columns: an unknown or repeated name is an error, and so is
        /// leaving out a NOT NULL column (every row would violate it).
        private mutating func bind(_ names: [String]) throws(SQLError) {
            targets = []
            for name in names {
                guard let index = schema.columnIndex(name) else {
                    throw SQLError("42703", "column \"\(name)\" of relation \"\(schema.name)\" does not exist")
                }
                guard !bound[index] else { throw SQLError("42701", "column \"\(name)\" specified more than once") }
                bound[index] = true
                targets.append(index)
            }
            for (index, column) in schema.visibleColumns.enumerated() where !bound[index] && !column.nullable {
                throw SQLError("23502", "null value in column \"\(column.name)\" of relation \"\(schema.name)\" violates not-null constraint",
                               hint: "The file has no column \"\(column.name)\"; name it in the header or the column list.")
            }
        }

        /// The rows parsed since the last call, with NULLs for the columns the file does not have.
        mutating func takeBatch() -> RowBatch {
            let count = pending
            pending = 0
            var out = schema.visibleColumns.map { ColumnVector(type: $0.type) }
            swap(&out, &columns)
            for index in out.indices where !bound[index] {
                for _ in 0..<count { out[index].append(.null) }
            }
            for index in columns.indices { columns[index].reserveCapacity(count) }
            return RowBatch(columns: out)
        }

        /// Reads `path` in chunks of `chunkSize` bytes (more for a longer record), parsing each and passing
        /// its rows to `insert`.
        mutating func load(file path: String, chunkSize: Int = 1 << 22, insert: (RowBatch) throws(SQLError) -> Void,
                           progress: (Int, Int) -> Void, reject: (Reject) throws(SQLError) -> Void) throws(SQLError) {
            let fd = open(path, O_RDONLY)
            guard fd >= 0 else { throw SQLError("58P01", "could not open file \"\(path)\" for reading: \(String(cString: strerror(errno)))") }
            defer { close(fd) }
            var status = stat()
            let size = fstat(fd, &status) == 0 ? Int(status.st_size) : 0
            var buffer = [UInt8](repeating: 0, count: chunkSize)
            var filled = 0
            var parsed = 0
            var final = false
            progress(0, size)
            while !final {
                if filled == buffer.count { buffer.append(contentsOf: repeatElement(0, count: buffer.count)) }
                let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + filled, $0.count - filled) }
                if count < 0 {
                    if errno == EINTR { continue }
                    throw SQLError("58030", "could not read file \"\(path)\": \(String(cString: strerror(errno)))")
                }
                final = count == 0
                filled += count
                let consumed = try buffer.withUnsafeBufferPointer { (bytes) throws(SQLError) in
                    try parse(UnsafeBufferPointer(rebasing: bytes[..<filled]), final: final, reject: reject)
                }
                buffer.withUnsafeMutableBytes { raw in
                    _ = memmove(raw.baseAddress!, raw.baseAddress! + consumed, filled - consumed)
                }
                filled -= consumed
                parsed += consumed
                let batch = takeBatch()
                if batch.count > 0 { try insert(batch) }
                progress(parsed, max(size, parsed))
            }
        }

        /// Parses all of `bytes` (COPY FROM STDIN's data), passing the rows to `insert`.
        mutating func load(_ bytes: [UInt8], insert: (RowBatch) throws(SQLError) -> Void) throws(SQLError) {
            _ = try bytes.withUnsafeBufferPointer { (bytes) throws(SQLError) in
                try parse(bytes, final: true, reject: { _ throws(SQLError) in })
            }
            let batch = takeBatch()
            if batch.count > 0 { try insert(batch) }
        }

        /// Parses the whole records at the front of `bytes` (every record when `final`: no more input
        /// follows) into the column vectors; returns the bytes consumed. A bad record is thrown (with its
        /// line and column), or with `skip` left out and passed to `reject`.
        mutating func parse(_ bytes: UnsafeBufferPointer<UInt8>, final: Bool,
                            reject: (Reject) throws(SQLError) -> Void) throws(SQLError) -> Int {
            let end = bytes.count
            var position = 0
            while position < end {
                let start = position
                let startLine = line
                let byte = bytes[position]
                if byte == 10 || byte == 13 {
                    // A blank line holds no record.
                    if byte == 13 && position + 1 == end && !final { return start }
                    position += byte == 13 && position + 1 < end && bytes[position + 1] == 10 ? 2 : 1
                    line += 1
                    continue
                }
                if needsHeader {
                    guard let stop = Self.recordEnd(bytes, from: position, final: final) else { return start }
                    try header(UnsafeBufferPointer(rebasing: bytes[start..<stop.end]))
                    line += stop.lines
                    position = stop.next
                    continue
                }
                var slot = 0
                var failure: (error: SQLError, column: String?)?
                var complete = true
                fields: while true {
                    // One field: quoted (unescaped into `scratch`) or up to the next delimiter.
                    var fieldStart = position
                    var quoted = false
                    if position < end && bytes[position] == 34 {
                        quoted = true
                        scratch.removeAll(keepingCapacity: true)
                        position += 1
                        var closed = false
                        while position < end {
                            let c = bytes[position]
                            if c == 34 {
                                if position + 1 < end && bytes[position + 1] == 34 {
                                    scratch.append(34)
                                    position += 2
                                    continue
                                }
                                if position + 1 == end && !final { break }
                                closed = true
                                position += 1
                                break
                            }
                            if c == 10 { line += 1 }
                            scratch.append(c)
                            position += 1
                        }
                        if !closed {
                            if !final {
                                complete = false
                                break fields
                            }
                            throw SQLError("22P04", "unterminated CSV quoted field (line \(startLine))")
                        }
                        // Text after the closing quote belongs to the field, as PostgreSQL reads it.
                        while position < end, bytes[position] != 44, bytes[position] != 10, bytes[position] != 13 {
                            scratch.append(bytes[position])
                            position += 1
                        }
                    } else {
                        while position < end {
                            let c = bytes[position]
                            if c == 44 || c == 10 || c == 13 { break }
                            position += 1
                        }
                    }
                    if position == end && !final {
                        complete = false
                        break fields
                    }
                    if failure == nil {
                        if slot < targets.count {
                            let column = targets[slot]
                            do throws(SQLError) {
                                if quoted {
                                    try scratch.withUnsafeBufferPointer { (field) throws(SQLError) in
                                        try store(field, quoted: true, column: column, line: startLine)
                                    }
                                } else {
                                    try store(UnsafeBufferPointer(rebasing: bytes[fieldStart..<position]), quoted: false,
                                              column: column, line: startLine)
                                }
                            } catch {
                                failure = (error, schema.columns[column].name)
                            }
                        } else if slot == targets.count {
                            failure = (SQLError("22P04", "extra data after last expected column (line \(startLine))"), nil)
                        }
                    }
                    fieldStart = position
                    slot += 1
                    guard position < end, bytes[position] == 44 else { break }
                    position += 1
                }
                let recordEnd = position
                if complete && position < end && bytes[position] == 13 {
                    if position + 1 < end { position += bytes[position + 1] == 10 ? 2 : 1 }
                    else if final { position += 1 } else { complete = false }
                } else if position < end {
                    position += 1
                }
                guard complete else {
                    discardRow()
                    line = startLine
                    return start
                }
                line += 1
                if failure == nil && slot < targets.count {
                    let missing = schema.columns[targets[slot]].name
                    failure = (SQLError("22P04", "missing data for column \"\(missing)\" (line \(startLine))"), missing)
                }
                guard let failure else {
                    rows += 1
                    pending += 1
                    continue
                }
                discardRow()
                if options.onError == .stop { throw failure.error }
                rejected += 1
                try reject(Reject(line: startLine, column: failure.column, error: failure.error,
                                  record: Array(bytes[start..<recordEnd])))
            }
            return position
        }

        /// Drops the values the record being parsed appended.
        private mutating func discardRow() {
            for index in columns.indices where columns[index].count > pending { columns[index].removeLast() }
        }

        /// Where the record starting at `position` ends (its line end, the lines it takes, and where the
        /// next begins), or nil when it runs past `bytes` and more input follows.
        private static func recordEnd(_ bytes: UnsafeBufferPointer<UInt8>, from position: Int, final: Bool)
            -> (end: Int, lines: Int, next: Int)? {
            var index = position
            var inQuotes = false
            var lines = 0
            while index < bytes.count {
                let byte = bytes[index]
                if byte == 34 { inQuotes.toggle() }
                else if byte == 10 && inQuotes { lines += 1 }
                else if (byte == 10 || byte == 13) && !inQuotes {
                    if byte == 13 && index + 1 == bytes.count && !final { return nil }
                    let next = byte == 13 && index + 1 < bytes.count && bytes[index + 1] == 10 ? index + 2 : index + 1
                    return (index, lines + 1, next)
                }
                index += 1
            }
            return final ? (index, lines + 1, index) : nil
        }

        /// Reads the header record: with `.match`, binds the file's columns to its names (or checks them
        /// against the column list); with `.skip`, ignores it.
        private mutating func header(_ record: UnsafeBufferPointer<UInt8>) throws(SQLError) {
            needsHeader = false
            guard options.header == .match else { return }
            let names = try Self.names(record)
            if let expected = options.columns {
                for (index, name) in names.enumerated() where index >= expected.count || name != expected[index] {
                    throw SQLError("22P04", "column name mismatch in header line field \(index + 1): got \"\(name)\", expected \"\(index < expected.count ? expected[index] : "")\"")
                }
                guard names.count == expected.count else { throw SQLError("22P04", "wrong number of fields in header line: got \(names.count), expected \(expected.count)") }
                return
            }
            try bind(names)
        }

        /// The names in a header record: fields split as data, each valid UTF-8.
        private static func names(_ record: UnsafeBufferPointer<UInt8>) throws(SQLError) -> [String] {
            var names: [String] = []
            var field: [UInt8] = []
            var inQuotes = false
            var index = 0
            while index <= record.count {
                let byte: UInt8 = index < record.count ? record[index] : 44
                if inQuotes {
                    if byte == 34 && index + 1 < record.count && record[index + 1] == 34 { field.append(34); index += 1 }
                    else if byte == 34 { inQuotes = false }
                    else { field.append(byte) }
                } else if byte == 34 {
                    inQuotes = true
                } else if byte == 44 {
                    guard let name = String(validating: field, as: UTF8.self) else {
                        throw invalidUTF8(field, at: " (line 1, the header)")
                    }
                    names.append(name.trimmingSpaces == Substring(name) ? name : String(name.trimmingSpaces))
                    field = []
                } else {
                    field.append(byte)
                }
                index += 1
            }
            return names
        }

        /// Appends one field's value to column `index`'s vector: NULL for an unquoted empty field, else
        /// the value its text names, or an error naming the line and column.
        private mutating func store(_ field: UnsafeBufferPointer<UInt8>, quoted: Bool, column index: Int, line: Int) throws(SQLError) {
            let type = columns[index].type
            if field.isEmpty && !quoted {
                guard schema.columns[index].nullable else {
                    let name = schema.columns[index].name
                    throw SQLError("23502", "null value in column \"\(name)\" of relation \"\(schema.name)\" violates not-null constraint (line \(line))")
                }
                columns[index].append(.null)
                return
            }
            do throws(FieldError) {
                switch type {
                case .int64: columns[index].integers.append(try Self.integer(field))
                case .double: columns[index].doubles.append(try Self.double(field))
                case .timestamp: columns[index].integers.append(try options.timestampFormat.parse(field))
                case .date: columns[index].integers.append(Timestamps.day(try options.timestampFormat.parse(field)))
                case .text: columns[index].texts.append(try Self.text(field))
                case .bool:
                    switch try Self.text(field).trimmingSpaces.lowercased() {
                    case "t", "true", "1", "yes", "y", "on": columns[index].bools.append(true)
                    case "f", "false", "0", "no", "n", "off": columns[index].bools.append(false)
                    default: throw .syntax
                    }
                case .interval:
                    guard let interval = Timestamps.parseInterval(try Self.text(field)) else { throw .syntax }
                    columns[index].intervals.append(interval)
                case .uuid:
                    guard let id = UUID(parsing: try Self.text(field)) else { throw .syntax }
                    columns[index].uuids.append(id)
                }
                columns[index].nulls.append(false)
            } catch {
                throw conversionError(error, field, column: index, line: line)
            }
        }

        /// PostgreSQL's error for text that is no value of the column's type, with its line and column.
        private func conversionError(_ error: FieldError, _ field: UnsafeBufferPointer<UInt8>, column index: Int, line: Int) -> SQLError {
            let column = schema.columns[index]
            let at = " (line \(line), column \(column.name))"
            if field.contains(0) || String(validating: field, as: UTF8.self) == nil { return CSV.invalidUTF8(field, at: at) }
            let text = String(decoding: field, as: UTF8.self)
            switch (column.type, error) {
            case (.timestamp, .range), (.date, .range):
                return SQLError("22008", "date/time field value out of range: \"\(text)\"" + at)
            case (.timestamp, _), (.date, _):
                let digits = !text.isEmpty && text.allSatisfy(\.isNumber) && options.timestampFormat == .standard
                return SQLError("22007", "invalid input syntax for type \(column.type.sqlName): \"\(text)\"" + at,
                                hint: digits ? "A number is no timestamp; --timestamp-format epoch-s, epoch-ms or epoch-us reads it as one." : nil)
            case (.interval, _): return SQLError("22007", "invalid input syntax for type interval: \"\(text)\"" + at)
            case (.int64, .range): return SQLError("22003", "value \"\(text)\" is out of range for type bigint" + at)
            case (.double, .range): return SQLError("22003", "\"\(text)\" is out of range for type double precision" + at)
            default: return SQLError("22P02", "invalid input syntax for type \(column.type.sqlName): \"\(text)\"" + at)
            }
        }

        /// A bigint's text: optional spaces and sign, decimal digits; past 64 bits is `.range`.
        static func integer(_ field: UnsafeBufferPointer<UInt8>) throws(FieldError) -> Int64 {
            var cursor = ByteCursor(field)
            cursor.trimSpaces()
            let negative = cursor.skip(UInt8(ascii: "-"))
            if !negative { _ = cursor.skip(UInt8(ascii: "+")) }
            guard !cursor.atEnd else { throw .syntax }
            var magnitude: UInt64 = 0
            while let byte = cursor.peek {
                let digit = byte &- 48
                guard digit < 10 else { throw .syntax }
                let (times, overflow) = magnitude.multipliedReportingOverflow(by: 10)
                let (sum, carry) = times.addingReportingOverflow(UInt64(digit))
                guard !overflow, !carry else { throw .range }
                magnitude = sum
                cursor.index += 1
            }
            if negative {
                guard magnitude <= UInt64(Int64.max) + 1 else { throw .range }
                return Int64(truncatingIfNeeded: 0 &- magnitude)
            }
            guard magnitude <= UInt64(Int64.max) else { throw .range }
            return Int64(magnitude)
        }

        /// Powers of ten a double holds exactly (Clinger's fast path).
        private static let exactPowers: [Double] = (0...22).map { power in (0..<power).reduce(1.0) { value, _ in value * 10 } }

        /// A double's text as PostgreSQL's float8in reads it (strtod's forms: digits, exponents, NaN,
        /// Infinity); a finite text past the range, or a nonzero one that underflows to zero, is `.range`.
        /// Short decimals take an exact fast path (an integer mantissa times or over a power of ten).
        static func double(_ field: UnsafeBufferPointer<UInt8>) throws(FieldError) -> Double {
            var cursor = ByteCursor(field)
            cursor.trimSpaces()
            let negative = cursor.skip(UInt8(ascii: "-"))
            if !negative { _ = cursor.skip(UInt8(ascii: "+")) }
            var mantissa: UInt64 = 0
            var digits = 0
            var scale = 0
            while let byte = cursor.peek, byte &- 48 < 10, digits < 18 {
                mantissa = mantissa * 10 + UInt64(byte &- 48)
                digits += 1
                cursor.index += 1
            }
            if cursor.skip(UInt8(ascii: ".")) {
                while let byte = cursor.peek, byte &- 48 < 10, digits < 18 {
                    mantissa = mantissa * 10 + UInt64(byte &- 48)
                    digits += 1
                    scale += 1
                    cursor.index += 1
                }
            }
            if cursor.atEnd && digits > 0 && mantissa < 1 << 53 && scale <= 22 {
                let magnitude = Double(mantissa) / exactPowers[scale]
                return negative ? -magnitude : magnitude
            }
            return try strtodField(field)
        }

        /// The whole field through strtod (in the C locale's number format, as float8in reads it).
        private static func strtodField(_ field: UnsafeBufferPointer<UInt8>) throws(FieldError) -> Double {
            var text = [CChar](repeating: 0, count: field.count + 1)
            for index in field.indices { text[index] = CChar(bitPattern: field[index]) }
            var trailing = field.count
            while trailing > 0, text[trailing - 1] == 32 { trailing -= 1 }
            return try text.withUnsafeBufferPointer { (buffer) throws(FieldError) -> Double in
                var stop: UnsafeMutablePointer<CChar>?
                errno = 0
                let value = strtod(buffer.baseAddress!, &stop)
                guard let stop, stop != UnsafeMutablePointer(mutating: buffer.baseAddress!),
                      stop - UnsafeMutablePointer(mutating: buffer.baseAddress!) == trailing else { throw .syntax }
                if errno == ERANGE && (value == 0 || value.isInfinite) { throw .range }
                return value
            }
        }

        /// A text field: valid UTF-8 without NUL bytes (PostgreSQL refuses both), else `.syntax`.
        static func text(_ field: UnsafeBufferPointer<UInt8>) throws(FieldError) -> String {
            var ascii = true
            for byte in field where byte >= 0x80 || byte == 0 {
                ascii = false
                break
            }
            if ascii { return String(decoding: field, as: UTF8.self) }
            guard !field.contains(0), let text = String(validating: field, as: UTF8.self) else { throw .syntax }
            return text
        }
    }

    /// PostgreSQL's 22021 for bytes that are no UTF-8 (or hold a NUL), showing the first bad sequence.
    static func invalidUTF8(_ bytes: some Collection<UInt8>, at place: String) -> SQLError {
        let bytes = Array(bytes)
        var index = 0
        var length = 1
        while index < bytes.count {
            let lead = bytes[index]
            length = lead < 0x80 ? 1 : lead >= 0xC2 && lead <= 0xDF ? 2 : lead >= 0xE0 && lead <= 0xEF ? 3 : lead >= 0xF0 && lead <= 0xF4 ? 4 : 1
            if lead == 0 { break }
            if lead >= 0x80 && (length == 1 || index + length > bytes.count
                                || String(validating: bytes[index..<index + length], as: UTF8.self) == nil) { break }
            index += length
        }
        let shown = bytes[min(index, bytes.count)..<min(index + length, bytes.count)]
        let hex = shown.map { ($0 < 16 ? "0x0" : "0x") + String($0, radix: 16) }.joined(separator: " ")
        return SQLError("22021", "invalid byte sequence for encoding \"UTF8\": \(hex)" + place)
    }
    /// A value as a CSV field.
    public static func field(_ value: Value) -> String {
        switch value {
        case .null: return ""
        case .text(let text):
            if text.isEmpty || text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
                return "\"" + text.replacingAll("\"", with: "\"\"") + "\""
            }
            return text
        default: return Evaluate.text(value)
        }
    }

    /// COPY FROM a file, or (`path` nil) from the data passed with the statement: the same load as
    /// `omendb import`, into the statement's transaction; text-format data is read as the CSV it stands for.
    static func copyFrom(_ executor: Executor, _ table: TableReference, columns: [String]?, path: String?, data: [UInt8]?,
                         header: Header, format: CopyFormat) throws(SQLError) -> QueryResult {
        let schema = try executor.schema(table)
        var loader = try Loader(schema: schema, options: Options(columns: columns, header: header))
        let insert = { (batch: RowBatch) throws(SQLError) in
            try executor.checkCancelled()
            try executor.engine { () throws(EngineError) in try executor.transaction.insert(table.name, batch: batch) }
        }
        if let path, format == .csv {
            try loader.load(file: path, insert: insert, progress: { _, _ in }, reject: { _ throws(SQLError) in })
        } else {
            let bytes: [UInt8]
            if let path {
                do { bytes = try Files.read(path) } catch { throw SQLError("58P01", "could not read file \"\(path)\": \(error)") }
            } else if let data {
                bytes = data
            } else {
                throw SQLError("57P03", "COPY FROM STDIN needs its data passed with the statement", at: table.token,
                               hint: "SQLSession.execute(_:copyData:) takes it; the omendb shell reads it from its input.")
            }
            try loader.load(format == .text ? try CopyText.csv(fromText: bytes) : bytes, insert: insert)
        }
        return QueryResult(columns: [], rows: [], tag: "COPY \(loader.rows)")
    }

    /// COPY TO a file, or (`path` nil) into the result's `copyData`.
    static func copyTo(_ executor: Executor, _ table: TableReference, path: String?, header: Bool, format: CopyFormat) throws(SQLError) -> QueryResult {
        let schema = try executor.schema(table)
        let batches = try executor.engine { () throws(EngineError) in try executor.transaction.scanBatches(table.name) }
        let separator = format == .csv ? "," : "\t"
        let field = format == .csv ? field : CopyText.field
        var text = header ? schema.visibleColumns.map { field(.text($0.name)) }.joined(separator: separator) + "\n" : ""
        var count = 0
        for batch in batches {
            for row in 0..<batch.count {
                text += batch.columns.prefix(schema.visibleColumns.count).map { field($0.value(at: row)) }.joined(separator: separator) + "\n"
                count += 1
            }
            try executor.checkCancelled()
        }
        guard let path else { return QueryResult(columns: [], rows: [], tag: "COPY \(count)", copyData: Array(text.utf8)) }
        do { try Files.replace(path, with: Array(text.utf8), directory: Self.directory(of: path)) } catch {
            throw SQLError("58P01", "could not write file \"\(path)\": \(error)")
        }
        return QueryResult(columns: [], rows: [], tag: "COPY \(count)")
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}

extension String {
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for character in self {
            if character == target { out += replacement } else { out.append(character) }
        }
        return out
    }
}
