/// A column's type. Timestamps are microseconds since 2000-01-01 UTC, as in PostgreSQL.
public enum ColumnType: UInt8, Sendable, CaseIterable {
    case int64 = 1, double, text, bool, timestamp
    /// Days since 2000-01-01, as timestamps count microseconds from it.
    case date
    case interval
    case uuid

    /// The type's name in SQL.
    public var sqlName: String {
        switch self {
        case .int64: "bigint"
        case .double: "double precision"
        case .text: "text"
        case .bool: "boolean"
        case .timestamp: "timestamp"
        case .date: "date"
        case .interval: "interval"
        case .uuid: "uuid"
        }
    }
}

/// A UUID's 16 bytes as two big-endian halves, so that comparing (high, low) is PostgreSQL's order:
/// unsigned, byte by byte.
public struct UUID: Hashable, Comparable, Sendable {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// PostgreSQL's input forms: 32 hex digits in either case, a hyphen allowed after any group of four,
    /// the whole optionally in braces (`a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11`, `{A0EEBC99...}`).
    public init?(parsing text: String) {
        var bytes = Array(text.utf8)
        if bytes.first == UInt8(ascii: "{") {
            guard bytes.last == UInt8(ascii: "}"), bytes.count >= 2 else { return nil }
            bytes = Array(bytes[1..<(bytes.count - 1)])
        }
        var value: UInt128 = 0
        var digits = 0
        var previousHyphen = false
        for byte in bytes {
            if byte == UInt8(ascii: "-") {
                guard digits > 0, digits % 4 == 0, digits < 32, !previousHyphen else { return nil }
                previousHyphen = true
                continue
            }
            guard digits < 32, let digit = Self.hexDigit(byte) else { return nil }
            value = value << 4 | UInt128(digit)
            digits += 1
            previousHyphen = false
        }
        guard digits == 32, !previousHyphen else { return nil }
        self.init(high: UInt64(truncatingIfNeeded: value >> 64), low: UInt64(truncatingIfNeeded: value))
    }

    private static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// A random (version 4) UUID, as gen_random_uuid() makes.
    public static func random() -> UUID {
        var generator = SystemRandomNumberGenerator()
        let high = generator.next() & ~0xF000 | 0x4000
        let low = generator.next() & ~(UInt64(0xC) << 60) | UInt64(0x8) << 60
        return UUID(high: high, low: low)
    }

    /// The canonical form, lower-case 8-4-4-4-12.
    public var text: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(36)
        for nibble in 0..<32 {
            if nibble == 8 || nibble == 12 || nibble == 16 || nibble == 20 { out.append(UInt8(ascii: "-")) }
            let half = nibble < 16 ? high : low
            out.append(digits[Int(half >> (60 - 4 * UInt64(nibble % 16)) & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func < (a: UUID, b: UUID) -> Bool { (a.high, a.low) < (b.high, b.low) }
}

/// PostgreSQL's interval: months, days and microseconds, kept apart because a month and a day have no
/// fixed length (added to a timestamp, `1 month` moves the calendar, `30 days` the clock). Compared and
/// grouped as PostgreSQL does, by the span with a month counted as 30 days.
public struct Interval: Hashable, Sendable {
    public var months: Int64
    public var days: Int64
    public var micros: Int64

    public init(months: Int64 = 0, days: Int64 = 0, micros: Int64 = 0) {
        self.months = months
        self.days = days
        self.micros = micros
    }

    static let microsPerDay: Int128 = 86_400_000_000

    /// The span in microseconds, a month as 30 days (exact: 128 bits).
    var span: Int128 { (Int128(months) * 30 + Int128(days)) * Self.microsPerDay + Int128(micros) }

    public static func == (a: Interval, b: Interval) -> Bool { a.span == b.span }
    public func hash(into hasher: inout Hasher) { hasher.combine(span) }
}

/// One typed column of a table.
public struct Column: Equatable, Sendable {
    public var name: String
    public var type: ColumnType
    public var nullable: Bool

    public init(_ name: String, _ type: ColumnType, nullable: Bool = true) {
        self.name = name
        self.type = type
        self.nullable = nullable
    }
}

/// A table's columns and its primary key. Rows are stored ordered by a 64-bit integer, the storage key:
/// the primary key itself when it is a BIGINT or TIMESTAMP column; for a TEXT or UUID key, a row id the
/// engine assigns, kept in a last column that SQL does not see, while a unique index over the key column
/// enforces and serves the key (SQLite's rowid tables).
public struct TableSchema: Equatable, Sendable {
    public var name: String
    /// Every column, the row id last when there is one.
    public var columns: [Column]
    /// The declared primary key column.
    public var primaryKey: Int
    /// The column whose integers order the stored rows: `primaryKey`, or the row id.
    public var storageKey: Int

    /// Checks the shape: a name, unique column names, a primary key of a BIGINT, TIMESTAMP, TEXT or UUID column.
    public init(name: String, columns: [Column], primaryKey: String) throws(EngineError) {
        guard !name.isEmpty, !columns.isEmpty else { throw .invalidSchema("a table needs a name and columns") }
        var seen = Set<String>()
        for column in columns where !seen.insert(column.name).inserted {
            throw .invalidSchema("column \"\(column.name)\" appears twice")
        }
        guard !seen.contains(Self.rowIDName) else { throw .invalidSchema("a column needs a name") }
        guard let index = columns.firstIndex(where: { $0.name == primaryKey }) else {
            throw .invalidSchema("primary key column \"\(primaryKey)\" does not exist")
        }
        let type = columns[index].type
        guard [.int64, .timestamp, .text, .uuid].contains(type) else {
            throw .invalidSchema("the primary key must be a BIGINT, INTEGER, TIMESTAMP, TEXT or UUID column")
        }
        self.name = name
        self.columns = columns
        self.columns[index].nullable = false
        self.primaryKey = index
        storageKey = index
        if type == .text || type == .uuid {
            storageKey = columns.count
            self.columns.append(Column(Self.rowIDName, .int64, nullable: false))
        }
    }

    /// The row id column's name: empty, which no SQL name can be.
    static let rowIDName = ""

    /// Whether rows are stored by an assigned row id (a TEXT or UUID primary key).
    public var hasRowIDs: Bool { storageKey != primaryKey }

    /// The columns SQL sees: all but the row id.
    public var visibleColumns: ArraySlice<Column> { hasRowIDs ? columns.dropLast() : columns[...] }

    /// The index of the visible column called `name`.
    public func columnIndex(_ name: String) -> Int? { visibleColumns.firstIndex { $0.name == name } }

    /// Checks a row against the columns: count, types and NOT NULL. Integers widen to doubles. A row of a
    /// table with row ids may leave the row id out (or NULL): the engine assigns it.
    func validate(_ row: [Value]) throws(EngineError) -> [Value] {
        var row = row
        if hasRowIDs && row.count == columns.count - 1 { row.append(.int64(0)) }
        if hasRowIDs && row.count == columns.count && row[storageKey] == .null { row[storageKey] = .int64(0) }
        guard row.count == columns.count else {
            throw .invalidRow("\(name) has \(visibleColumns.count) columns, the row has \(row.count) values")
        }
        var checked = row
        for (index, column) in columns.enumerated() {
            checked[index] = try column.coerce(row[index])
        }
        return checked
    }
}

extension Column {
    /// `value` as this column stores it, or a typed error.
    func coerce(_ value: Value) throws(EngineError) -> Value {
        switch (type, value) {
        case (_, .null):
            if !nullable { throw .nullViolation(column: name) }
            return .null
        case (.int64, .int64), (.double, .double), (.text, .text), (.bool, .bool), (.timestamp, .timestamp),
             (.date, .date), (.interval, .interval), (.uuid, .uuid):
            return value
        case (.double, .int64(let integer)):
            return .double(Double(integer))
        case (.timestamp, .int64(let integer)):
            return .timestamp(integer)
        default:
            throw .typeMismatch(column: name, expected: type)
        }
    }
}

/// One value of a row. Equality is SQL's grouping equality, as PostgreSQL's: every NaN equals every NaN
/// (one group, one DISTINCT value), and -0.0 equals 0.0.
public enum Value: Hashable, Sendable {
    case null
    case int64(Int64)
    case double(Double)
    case text(String)
    case bool(Bool)
    case timestamp(Int64)
    /// Days since 2000-01-01.
    case date(Int64)
    case interval(Interval)
    case uuid(UUID)

    public static func == (a: Value, b: Value) -> Bool {
        switch (a, b) {
        case (.null, .null): true
        case (.int64(let x), .int64(let y)), (.timestamp(let x), .timestamp(let y)): x == y
        case (.double(let x), .double(let y)): x == y || (x.isNaN && y.isNaN)
        case (.text(let x), .text(let y)): x == y
        case (.bool(let x), .bool(let y)): x == y
        case (.date(let x), .date(let y)): x == y
        case (.interval(let x), .interval(let y)): x == y
        case (.uuid(let x), .uuid(let y)): x == y
        default: false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case .int64(let x): hasher.combine(1); hasher.combine(x)
        case .double(let x): hasher.combine(2); hasher.combine(x.isNaN ? Double.nan.bitPattern : (x == 0 ? 0 : x.bitPattern))
        case .text(let x): hasher.combine(3); hasher.combine(x)
        case .bool(let x): hasher.combine(4); hasher.combine(x)
        case .timestamp(let x): hasher.combine(5); hasher.combine(x)
        case .date(let x): hasher.combine(6); hasher.combine(x)
        case .interval(let x): hasher.combine(7); hasher.combine(x)
        case .uuid(let x): hasher.combine(8); hasher.combine(x)
        }
    }

    /// The value's type; nil for NULL, which has none.
    public var type: ColumnType? {
        switch self {
        case .null: nil
        case .int64: .int64
        case .double: .double
        case .text: .text
        case .bool: .bool
        case .timestamp: .timestamp
        case .date: .date
        case .interval: .interval
        case .uuid: .uuid
        }
    }

    /// The integer behind an int64, timestamp or date value.
    public var integer: Int64? {
        switch self {
        case .int64(let value), .timestamp(let value), .date(let value): value
        default: nil
        }
    }
}
