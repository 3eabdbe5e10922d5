#if canImport(Glibc)
import Glibc
#endif

/// CSV as PostgreSQL's COPY writes it: comma-separated, `"` quotes (doubled inside), an unquoted empty
/// field is NULL, a quoted empty field is the empty string.
public enum CSV {
    public struct Field: Equatable, Sendable {
        public var text: String
        public var quoted: Bool
    }

    public struct Record: Equatable, Sendable {
        public var fields: [Field]
        /// 1-based line where the record starts.
        public var line: Int
    }

    /// Splits `bytes` into records; a quote left open is an error naming its line.
    public static func parse(_ bytes: [UInt8]) throws(SQLError) -> [Record] {
        var records: [Record] = []
        var fields: [Field] = []
        var field: [UInt8] = []
        var quoted = false
        var inQuotes = false
        var line = 1
        var recordLine = 1
        var index = 0
        var atRecordStart = true
        func endField() {
            fields.append(Field(text: String(decoding: field, as: UTF8.self), quoted: quoted))
            field.removeAll(keepingCapacity: true)
            quoted = false
        }
        while index < bytes.count {
            let byte = bytes[index]
            if inQuotes {
                if byte == 34 {
                    if index + 1 < bytes.count && bytes[index + 1] == 34 {
                        field.append(34)
                        index += 2
                        continue
                    }
                    inQuotes = false
                } else {
                    if byte == 10 { line += 1 }
                    field.append(byte)
                }
                index += 1
                continue
            }
            switch byte {
            case 34 where field.isEmpty && !quoted:
                inQuotes = true
                quoted = true
                atRecordStart = false
            case 44:
                endField()
                atRecordStart = false
            case 10, 13:
                if byte == 13 && index + 1 < bytes.count && bytes[index + 1] == 10 { index += 1 }
                if !atRecordStart || !fields.isEmpty || !field.isEmpty {
                    endField()
                    records.append(Record(fields: fields, line: recordLine))
                    fields = []
                }
                line += 1
                recordLine = line
                atRecordStart = true
            default:
                field.append(byte)
                atRecordStart = false
            }
            index += 1
        }
        if inQuotes { throw SQLError("22P04", "unterminated CSV quoted field starting on line \(recordLine)") }
        if !atRecordStart || !fields.isEmpty || !field.isEmpty {
            endField()
            records.append(Record(fields: fields, line: recordLine))
        }
        return records
    }

    /// One field as a value of `column`'s type; errors name the line.
    public static func value(_ field: Field, for column: Column, line: Int) throws(SQLError) -> Value {
        if field.text.isEmpty && !field.quoted {
            guard column.nullable else {
                throw SQLError("23502", "null value in column \"\(column.name)\" violates not-null constraint (line \(line))")
            }
            return .null
        }
        let text = field.text
        func bad() -> SQLError {
            SQLError("22P02", "invalid input syntax for type \(column.type.sqlName): \"\(text)\" (line \(line), column \(column.name))")
        }
        switch column.type {
        case .int64:
            guard let value = Int64(text.trimmingSpaces) else { throw bad() }
            return .int64(value)
        case .double:
            switch text.trimmingSpaces.lowercased() {
            case "nan": return .double(.nan)
            case "infinity", "inf": return .double(.infinity)
            case "-infinity", "-inf": return .double(-.infinity)
            default:
                guard let value = Double(text.trimmingSpaces) else { throw bad() }
                return .double(value)
            }
        case .text: return .text(text)
        case .bool:
            switch text.trimmingSpaces.lowercased() {
            case "t", "true", "1", "yes", "y", "on": return .bool(true)
            case "f", "false", "0", "no", "n", "off": return .bool(false)
            default: throw bad()
            }
        case .timestamp:
            // An integer is no timestamp (it would become microseconds after 2000): refused like any other.
            guard let micros = Timestamps.parse(text) else { throw bad() }
            return .timestamp(micros)
        case .date:
            guard let days = Timestamps.parseDate(text) else { throw bad() }
            return .date(days)
        case .interval:
            guard let interval = Timestamps.parseInterval(text) else { throw bad() }
            return .interval(interval)
        case .uuid:
            guard let id = UUID(parsing: text) else { throw bad() }
            return .uuid(id)
        }
    }

    /// Every record of `bytes` as a row of `schema`, all or an error (nothing is inserted on error).
    public static func rows(_ bytes: [UInt8], schema: TableSchema, header: Bool) throws(SQLError) -> [[Value]] {
        var records = try parse(bytes)
        if header && !records.isEmpty { records.removeFirst() }
        var rows: [[Value]] = []
        rows.reserveCapacity(records.count)
        let columns = schema.visibleColumns
        for record in records {
            guard record.fields.count == columns.count else {
                throw SQLError("22P04", "line \(record.line) has \(record.fields.count) fields, table \(schema.name) has \(columns.count) columns")
            }
            var row: [Value] = []
            for (field, column) in zip(record.fields, columns) {
                row.append(try value(field, for: column, line: record.line))
            }
            if schema.hasRowIDs { row.append(.null) }
            rows.append(row)
        }
        return rows
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

    /// COPY FROM a file, or (`path` nil) from the data passed with the statement.
    static func copyFrom(_ executor: Executor, _ table: TableReference, path: String?, data: [UInt8]?, header: Bool) throws(SQLError) -> QueryResult {
        let schema = try executor.schema(table)
        let bytes: [UInt8]
        if let path {
            do { bytes = try Files.read(path) } catch {
                throw SQLError("58P01", "could not open file \"\(path)\" for reading: \(error)")
            }
        } else {
            guard let data else {
                throw SQLError("57P03", "COPY FROM STDIN needs its data passed with the statement", at: table.token,
                               hint: "SQLSession.execute(_:copyData:) takes it; the omendb shell reads it from its input.")
            }
            bytes = data
        }
        let rows = try rows(bytes, schema: schema, header: header)
        if !rows.isEmpty { try executor.insertRows(table.name, schema: schema, rows) }
        return QueryResult(columns: [], rows: [], tag: "COPY \(rows.count)")
    }

    /// COPY TO a file, or (`path` nil) into the result's `copyData`.
    static func copyTo(_ executor: Executor, _ table: TableReference, path: String?, header: Bool) throws(SQLError) -> QueryResult {
        let schema = try executor.schema(table)
        let batches = try executor.engine { () throws(EngineError) in try executor.transaction.scanBatches(table.name) }
        var text = header ? schema.visibleColumns.map(\.name).joined(separator: ",") + "\n" : ""
        var count = 0
        for batch in batches {
            for row in 0..<batch.count {
                text += batch.columns.prefix(schema.visibleColumns.count).map { field($0.value(at: row)) }.joined(separator: ",") + "\n"
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
