/// A column's type. Timestamps are microseconds since 2000-01-01 UTC, as in PostgreSQL.
public enum ColumnType: UInt8, Sendable, CaseIterable {
    case int64 = 1, double, text, bool, timestamp
    /// Days since 2000-01-01, as timestamps count microseconds from it.
    case date
    case interval

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
        }
    }
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

/// A table's columns and its ordered primary key (an int64 or timestamp column, never null).
public struct TableSchema: Equatable, Sendable {
    public var name: String
    public var columns: [Column]
    public var primaryKey: Int

    /// Checks the shape: a name, unique column names, a primary key of an ordered integer type.
    public init(name: String, columns: [Column], primaryKey: String) throws(EngineError) {
        guard !name.isEmpty, !columns.isEmpty else { throw .invalidSchema("a table needs a name and columns") }
        var seen = Set<String>()
        for column in columns where !seen.insert(column.name).inserted {
            throw .invalidSchema("column \"\(column.name)\" appears twice")
        }
        guard let index = columns.firstIndex(where: { $0.name == primaryKey }) else {
            throw .invalidSchema("primary key column \"\(primaryKey)\" does not exist")
        }
        guard columns[index].type == .int64 || columns[index].type == .timestamp else {
            throw .invalidSchema("the primary key must be a BIGINT, INTEGER or TIMESTAMP column")
        }
        self.name = name
        self.columns = columns
        self.columns[index].nullable = false
        self.primaryKey = index
    }

    /// The index of the column called `name`.
    public func columnIndex(_ name: String) -> Int? { columns.firstIndex { $0.name == name } }

    /// Checks a row against the columns: count, types and NOT NULL. Integers widen to doubles.
    func validate(_ row: [Value]) throws(EngineError) -> [Value] {
        guard row.count == columns.count else {
            throw .invalidRow("\(name) has \(columns.count) columns, the row has \(row.count) values")
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
             (.date, .date), (.interval, .interval):
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

    public static func == (a: Value, b: Value) -> Bool {
        switch (a, b) {
        case (.null, .null): true
        case (.int64(let x), .int64(let y)), (.timestamp(let x), .timestamp(let y)): x == y
        case (.double(let x), .double(let y)): x == y || (x.isNaN && y.isNaN)
        case (.text(let x), .text(let y)): x == y
        case (.bool(let x), .bool(let y)): x == y
        case (.date(let x), .date(let y)): x == y
        case (.interval(let x), .interval(let y)): x == y
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
