/// A column's type. Timestamps are microseconds since 2000-01-01 UTC, as in PostgreSQL.
public enum ColumnType: UInt8, Sendable, CaseIterable {
    case int64 = 1, double, text, bool, timestamp
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
            throw .invalidSchema("the primary key must be int64 or timestamp, not \(columns[index].type)")
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
        case (.int64, .int64), (.double, .double), (.text, .text), (.bool, .bool), (.timestamp, .timestamp):
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

    public static func == (a: Value, b: Value) -> Bool {
        switch (a, b) {
        case (.null, .null): true
        case (.int64(let x), .int64(let y)), (.timestamp(let x), .timestamp(let y)): x == y
        case (.double(let x), .double(let y)): x == y || (x.isNaN && y.isNaN)
        case (.text(let x), .text(let y)): x == y
        case (.bool(let x), .bool(let y)): x == y
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
        }
    }

    /// The integer behind an int64 or timestamp value.
    public var integer: Int64? {
        switch self {
        case .int64(let value), .timestamp(let value): value
        default: nil
        }
    }
}
