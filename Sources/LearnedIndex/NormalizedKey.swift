/// The PostgreSQL key types the library can normalise.
public enum KeyType: UInt8, CaseIterable, Sendable {
    case int2 = 1, int4, int8, float4, float8, date, timestamp, timestamptz
}

/// Order-preserving maps from native key values to `UInt64`: `a < b` natively iff `encode(a) < encode(b)`.
///
/// Integers (and PostgreSQL's date and timestamps, whose ±infinity are the integer extremes) flip the sign
/// bit. IEEE floats flip every bit when negative and only the sign bit otherwise, after folding -0.0 onto
/// +0.0 and every NaN onto one value just above +Infinity, which is how PostgreSQL orders them.
public enum NormalizedKey {
    /// The normalised +Infinity; every NaN normalises to the value after it.
    public static let positiveInfinity: UInt64 = encode(Double.infinity)
    /// The normalised NaN.
    public static let nan: UInt64 = positiveInfinity &+ 1

    @inlinable
    public static func encode(_ value: Int64) -> UInt64 {
        UInt64(bitPattern: value) ^ (1 << 63)
    }

    @inlinable
    public static func decodeInt64(_ key: UInt64) -> Int64 {
        Int64(bitPattern: key ^ (1 << 63))
    }

    @inlinable
    public static func encode(_ value: Int32) -> UInt64 { encode(Int64(value)) }

    @inlinable
    public static func encode(_ value: Int16) -> UInt64 { encode(Int64(value)) }

    /// The `Int32` a key came from, or nil when the key encodes a value outside `Int32`.
    @inlinable
    public static func decodeInt32(_ key: UInt64) -> Int32? { Int32(exactly: decodeInt64(key)) }

    /// The `Int16` a key came from, or nil when the key encodes a value outside `Int16`.
    @inlinable
    public static func decodeInt16(_ key: UInt64) -> Int16? { Int16(exactly: decodeInt64(key)) }

    @inlinable
    public static func encode(_ value: Double) -> UInt64 {
        if value.isNaN { return nan }
        let bits = (value == 0 ? 0.0 : value).bitPattern
        return bits & (1 << 63) != 0 ? ~bits : bits | (1 << 63)
    }

    /// Widening to `Double` is exact and monotone, so float4 shares float8's order and NaN.
    @inlinable
    public static func encode(_ value: Float) -> UInt64 { encode(Double(value)) }

    /// The `Double` a key came from (NaN for the NaN key; -0.0 comes back as +0.0).
    @inlinable
    public static func decodeDouble(_ key: UInt64) -> Double {
        if key == nan { return .nan }
        let bits = key & (1 << 63) != 0 ? key ^ (1 << 63) : ~key
        return Double(bitPattern: bits)
    }

    /// The `Float` a key came from, or nil when the key encodes a value `Float` cannot hold exactly.
    @inlinable
    public static func decodeFloat(_ key: UInt64) -> Float? {
        let value = decodeDouble(key)
        if value.isNaN { return .nan }
        return Float(exactly: value)
    }

    /// Normalises a PostgreSQL datum of `type` given as its raw 64-bit value (the integer for int2, int4,
    /// int8, date, timestamp and timestamptz, sign-extended; the IEEE bits for float4 and float8, float4 in
    /// the low 32 bits).
    @inlinable
    public static func encode(raw: UInt64, as type: KeyType) -> UInt64 {
        switch type {
        case .int2, .int4, .int8, .date, .timestamp, .timestamptz:
            return encode(Int64(bitPattern: raw))
        case .float4:
            return encode(Float(bitPattern: UInt32(truncatingIfNeeded: raw)))
        case .float8:
            return encode(Double(bitPattern: raw))
        }
    }
}
