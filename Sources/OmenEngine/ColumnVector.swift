/// One column's values, stored flat by type, with a null flag per row. Only the array of the column's
/// type is used; int64, timestamp and date columns share `integers`.
public struct ColumnVector: Equatable, Sendable {
    public let type: ColumnType
    public internal(set) var integers: [Int64] = []
    public internal(set) var doubles: [Double] = []
    public internal(set) var texts: [String] = []
    public internal(set) var bools: [Bool] = []
    public internal(set) var intervals: [Interval] = []
    public internal(set) var uuids: [UUID] = []
    public internal(set) var nulls: [Bool] = []

    public init(type: ColumnType) { self.type = type }

    /// A column of integers (int64 or timestamp) with no nulls.
    public init(type: ColumnType, integers: [Int64]) {
        precondition(type == .int64 || type == .timestamp)
        self.type = type
        self.integers = integers
        self.nulls = Array(repeating: false, count: integers.count)
    }

    /// A double column with no nulls.
    public init(doubles: [Double]) {
        self.type = .double
        self.doubles = doubles
        self.nulls = Array(repeating: false, count: doubles.count)
    }

    public var count: Int { nulls.count }

    public mutating func reserveCapacity(_ capacity: Int) {
        nulls.reserveCapacity(capacity)
        switch type {
        case .int64, .timestamp, .date: integers.reserveCapacity(capacity)
        case .double: doubles.reserveCapacity(capacity)
        case .text: texts.reserveCapacity(capacity)
        case .bool: bools.reserveCapacity(capacity)
        case .interval: intervals.reserveCapacity(capacity)
        case .uuid: uuids.reserveCapacity(capacity)
        }
    }

    /// Appends a value already coerced to this column's type (or null).
    public mutating func append(_ value: Value) {
        nulls.append(value == .null)
        switch type {
        case .int64, .timestamp, .date: integers.append(value.integer ?? 0)
        case .double:
            if case .double(let number) = value { doubles.append(number) } else { doubles.append(0) }
        case .text:
            if case .text(let text) = value { texts.append(text) } else { texts.append("") }
        case .bool:
            if case .bool(let flag) = value { bools.append(flag) } else { bools.append(false) }
        case .interval:
            if case .interval(let span) = value { intervals.append(span) } else { intervals.append(Interval()) }
        case .uuid:
            if case .uuid(let id) = value { uuids.append(id) } else { uuids.append(UUID(high: 0, low: 0)) }
        }
    }

    /// Drops the last row.
    mutating func removeLast() {
        nulls.removeLast()
        switch type {
        case .int64, .timestamp, .date: integers.removeLast()
        case .double: doubles.removeLast()
        case .text: texts.removeLast()
        case .bool: bools.removeLast()
        case .interval: intervals.removeLast()
        case .uuid: uuids.removeLast()
        }
    }

    /// Appends row `index` of `other`, a column of the same type.
    public mutating func append(from other: ColumnVector, at index: Int) {
        nulls.append(other.nulls[index])
        switch type {
        case .int64, .timestamp, .date: integers.append(other.integers[index])
        case .double: doubles.append(other.doubles[index])
        case .text: texts.append(other.texts[index])
        case .bool: bools.append(other.bools[index])
        case .interval: intervals.append(other.intervals[index])
        case .uuid: uuids.append(other.uuids[index])
        }
    }

    /// Appends every row of `other`, a column of the same type.
    public mutating func append(contentsOf other: ColumnVector) {
        append(from: other, rows: 0..<other.count)
    }

    /// Appends rows `range` of `other`, a column of the same type, in one copy per array.
    public mutating func append(from other: ColumnVector, rows range: Range<Int>) {
        nulls.append(contentsOf: other.nulls[range])
        switch type {
        case .int64, .timestamp, .date: integers.append(contentsOf: other.integers[range])
        case .double: doubles.append(contentsOf: other.doubles[range])
        case .text: texts.append(contentsOf: other.texts[range])
        case .bool: bools.append(contentsOf: other.bools[range])
        case .interval: intervals.append(contentsOf: other.intervals[range])
        case .uuid: uuids.append(contentsOf: other.uuids[range])
        }
    }

    /// The value in row `index`.
    public func value(at index: Int) -> Value {
        if nulls[index] { return .null }
        switch type {
        case .int64: return .int64(integers[index])
        case .timestamp: return .timestamp(integers[index])
        case .double: return .double(doubles[index])
        case .text: return .text(texts[index])
        case .bool: return .bool(bools[index])
        case .date: return .date(integers[index])
        case .interval: return .interval(intervals[index])
        case .uuid: return .uuid(uuids[index])
        }
    }
}

/// Rows stored column by column: the unit of batch inserts, scans and segment files.
public struct RowBatch: Equatable, Sendable {
    public internal(set) var columns: [ColumnVector]

    /// An empty batch with one column per schema column.
    public init(schema: TableSchema) {
        columns = schema.columns.map { ColumnVector(type: $0.type) }
    }

    /// A batch from whole columns, all of one length.
    public init(columns: [ColumnVector]) {
        precondition(Set(columns.map(\.count)).count <= 1, "columns of different lengths")
        self.columns = columns
    }

    public var count: Int { columns.first?.count ?? 0 }

    /// Row `index` as values.
    public func row(_ index: Int) -> [Value] { columns.map { $0.value(at: index) } }

    /// Every row as values.
    public var rows: [[Value]] { (0..<count).map(row) }

    /// Appends a row already validated against the schema.
    public mutating func append(_ row: [Value]) {
        for index in columns.indices { columns[index].append(row[index]) }
    }

    /// Appends rows `range` of `other`.
    public mutating func append(from other: RowBatch, rows range: Range<Int>) {
        for column in columns.indices { columns[column].append(from: other.columns[column], rows: range) }
    }

    /// Appends row `index` of `other`.
    public mutating func append(from other: RowBatch, at index: Int) {
        for column in columns.indices { columns[column].append(from: other.columns[column], at: index) }
    }

    mutating func reserveCapacity(_ capacity: Int) {
        for index in columns.indices { columns[index].reserveCapacity(capacity) }
    }
}
