import NIOCore
import OmenEngine

/// PostgreSQL's type OIDs for the engine's types, and the other OIDs clients declare parameters with.
enum TypeOID {
    static let bool: Int32 = 16, int8: Int32 = 20, int2: Int32 = 21, int4: Int32 = 23, text: Int32 = 25, oid: Int32 = 26
    static let name: Int32 = 19, float4: Int32 = 700, float8: Int32 = 701, unknown: Int32 = 705
    static let bpchar: Int32 = 1042, varchar: Int32 = 1043, date: Int32 = 1082, timestamp: Int32 = 1114
    static let timestamptz: Int32 = 1184, interval: Int32 = 1186, numeric: Int32 = 1700, uuid: Int32 = 2950

    /// The OID a column of `type` is described with; a column of no known type is text.
    static func of(_ type: ColumnType?) -> Int32 {
        switch type {
        case .int64: int8
        case .double: float8
        case .text, nil: text
        case .bool: bool
        case .timestamp: timestamp
        case .date: date
        case .interval: interval
        case .uuid: uuid
        }
    }

    /// The engine type a declared parameter OID reads as; nil for 0 and unknown (the statement decides),
    /// and for a type the engine has no counterpart of.
    static func columnType(_ declared: Int32) -> ColumnType?? {
        switch declared {
        case 0, unknown: .some(nil)
        case int2, int4, int8, oid: .int64
        case float4, float8, numeric: .double
        case text, varchar, bpchar, name: .text
        case bool: .bool
        case date: .date
        case timestamp, timestamptz: .timestamp
        case interval: .interval
        case uuid: .uuid
        default: nil
        }
    }

    /// pg_type's typlen: the byte width of fixed-size types, -1 for variable ones.
    static func length(_ type: Int32) -> Int16 {
        switch type {
        case bool: 1
        case date: 4
        case int8, float8, timestamp, timestamptz: 8
        case interval, uuid: 16
        default: -1
        }
    }
}

enum ValueCodec {
    /// A parameter's value from its bytes, in text (0) or binary (1) format, as `type` (nil: text).
    static func decode(_ bytes: ByteBuffer, format: Int16, as type: ColumnType?) throws(SQLError) -> Value {
        var bytes = bytes
        if format == 0 {
            guard let text = String(validating: bytes.readableBytesView, as: UTF8.self) else {
                throw SQLError("22021", "invalid byte sequence for encoding \"UTF8\"")
            }
            guard let type, type != .text else { return .text(text) }
            return try Value(parsing: text, as: type)
        }
        guard format == 1 else { throw SQLError("08P01", "unsupported format code: \(format)") }
        func invalid() -> SQLError {
            SQLError("22P03", "incorrect binary data format in bind parameter",
                     hint: "A \(type?.sqlName ?? "text") parameter of \(bytes.readableBytes) bytes.")
        }
        switch type {
        case .text, nil:
            guard let text = String(validating: bytes.readableBytesView, as: UTF8.self) else {
                throw SQLError("22021", "invalid byte sequence for encoding \"UTF8\"")
            }
            return .text(text)
        case .int64:
            switch bytes.readableBytes {
            case 2: return .int64(Int64(bytes.readInteger(as: Int16.self)!))
            case 4: return .int64(Int64(bytes.readInteger(as: Int32.self)!))
            case 8: return .int64(bytes.readInteger(as: Int64.self)!)
            default: throw invalid()
            }
        case .double:
            switch bytes.readableBytes {
            case 4: return .double(Double(Float(bitPattern: bytes.readInteger(as: UInt32.self)!)))
            case 8: return .double(Double(bitPattern: bytes.readInteger(as: UInt64.self)!))
            default:
                guard let value = numeric(&bytes) else { throw invalid() }
                return .double(value)
            }
        case .bool:
            guard bytes.readableBytes == 1 else { throw invalid() }
            return .bool(bytes.readInteger(as: UInt8.self)! != 0)
        case .timestamp:
            guard bytes.readableBytes == 8 else { throw invalid() }
            return .timestamp(bytes.readInteger(as: Int64.self)!)
        case .date:
            guard bytes.readableBytes == 4 else { throw invalid() }
            return .date(Int64(bytes.readInteger(as: Int32.self)!))
        case .interval:
            guard bytes.readableBytes == 16 else { throw invalid() }
            let micros = bytes.readInteger(as: Int64.self)!
            let days = bytes.readInteger(as: Int32.self)!
            let months = bytes.readInteger(as: Int32.self)!
            return .interval(Interval(months: Int64(months), days: Int64(days), micros: micros))
        case .uuid:
            guard bytes.readableBytes == 16 else { throw invalid() }
            return .uuid(UUID(high: bytes.readInteger(as: UInt64.self)!, low: bytes.readInteger(as: UInt64.self)!))
        }
    }

    /// A binary numeric (digit count, weight, sign, scale, then base-10000 digits) as a double.
    private static func numeric(_ bytes: inout ByteBuffer) -> Double? {
        guard let count = bytes.readInteger(as: Int16.self), let weight = bytes.readInteger(as: Int16.self),
              let sign = bytes.readInteger(as: UInt16.self), bytes.readInteger(as: Int16.self) != nil,
              count >= 0, bytes.readableBytes == Int(count) * 2 else { return nil }
        if sign == 0xC000 { return .nan }
        if sign == 0xD000 { return .infinity }
        if sign == 0xF000 { return -.infinity }
        var text = ""
        for _ in 0..<count {
            let digit = bytes.readInteger(as: Int16.self)!
            guard (0..<10_000).contains(digit) else { return nil }
            let part = String(digit)
            text += String(repeating: "0", count: 4 - part.count) + part
        }
        guard let mantissa = Double(text.isEmpty ? "0" : text) else { return nil }
        let value = mantissa * pow10(4 * (Int(weight) + 1 - Int(count)))
        return sign == 0x4000 ? -value : value
    }

    private static func pow10(_ exponent: Int) -> Double {
        Double("1e\(exponent)") ?? 0
    }

    /// Writes `value` as one DataRow field (length, then bytes; -1 for NULL) for a column described as
    /// `type`, in text (0) or binary (1) format. A value of another type than the column's goes as text.
    static func write(_ value: Value, type: ColumnType?, format: Int16, to buffer: inout ByteBuffer) {
        var value = value
        if type == .double, case .int64(let x) = value { value = .double(Double(x)) }
        if value == .null {
            buffer.writeInteger(Int32(-1))
            return
        }
        if format == 1 && value.type == type {
            switch value {
            case .int64(let x), .timestamp(let x):
                buffer.writeInteger(Int32(8))
                buffer.writeInteger(x)
                return
            case .double(let x):
                buffer.writeInteger(Int32(8))
                buffer.writeInteger(x.bitPattern)
                return
            case .bool(let x):
                buffer.writeInteger(Int32(1))
                buffer.writeInteger(UInt8(x ? 1 : 0))
                return
            case .date(let x) where Int64(Int32(truncatingIfNeeded: x)) == x:
                buffer.writeInteger(Int32(4))
                buffer.writeInteger(Int32(x))
                return
            case .interval(let x) where Int64(Int32(truncatingIfNeeded: x.days)) == x.days && Int64(Int32(truncatingIfNeeded: x.months)) == x.months:
                buffer.writeInteger(Int32(16))
                buffer.writeInteger(x.micros)
                buffer.writeInteger(Int32(x.days))
                buffer.writeInteger(Int32(x.months))
                return
            case .uuid(let x):
                buffer.writeInteger(Int32(16))
                buffer.writeInteger(x.high)
                buffer.writeInteger(x.low)
                return
            default: break
            }
        }
        if case .double(let x) = value, type == .double, format == 0 {
            writeText(Self.floatText(x), to: &buffer)
            return
        }
        writeText(value.text, to: &buffer)
    }

    private static func writeText(_ text: String, to buffer: inout ByteBuffer) {
        let lengthAt = buffer.writerIndex
        buffer.writeInteger(Int32(0))
        let count = buffer.writeString(text)
        buffer.setInteger(Int32(count), at: lengthAt)
    }

    /// float8's text output as PostgreSQL 12 and later give it (shortest exact form, exponent past 1e15 and
    /// below 1e-4), so that clients parse back the same double.
    static func floatText(_ x: Double) -> String {
        if x.isNaN { return "NaN" }
        if x.isInfinite { return x > 0 ? "Infinity" : "-Infinity" }
        if x == 0 { return x.sign == .minus ? "-0" : "0" }
        return Value.double(x).text
    }
}
