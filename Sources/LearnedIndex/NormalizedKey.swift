/// The PostgreSQL key types the library can normalise.
public enum KeyType: UInt8, CaseIterable, Sendable {
    case int2 = 1, int4, int8, float4, float8, date, timestamp, timestamptz, uuid

    /// Whether keys of this type stand for their values only in part (a uuid by its leading 64 bits):
    /// equal keys then need a comparison of the values themselves.
    public var isLossy: Bool { self == .uuid }
}

/// Order-preserving maps from native key values to `UInt64`: `a < b` natively iff `encode(a) < encode(b)`.
///
/// Integers (and PostgreSQL's date and timestamps, whose ±infinity are the integer extremes) flip the sign
/// bit. IEEE floats keep every bit: each bit pattern has its own key, so an index-only scan gives back the
/// stored datum, -0.0 and NaN payloads included. In PostgreSQL's order -0.0 equals 0.0 and every NaN
/// equals every other and sorts above +Infinity; so the non-NaN floats take the sign-flip map shifted down
/// past the keys below -Infinity (where negative NaNs would land), the NaNs of both signs fill the keys
/// above +Infinity, and PostgreSQL's equal values are adjacent keys (`equalRange`).
public enum NormalizedKey {
    /// NaN payloads per sign (the nonzero 52-bit fractions).
    @usableFromInline static let nanPayloads: UInt64 = (1 << 52) - 1
    /// The normalised +Infinity; every NaN normalises above it.
    public static let positiveInfinity: UInt64 = firstNaN - 1
    /// The lowest key of a NaN, the one after +Infinity's (NaNs differ by sign and payload).
    public static let firstNaN: UInt64 = 0xFFE0_0000_0000_0002

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
    public static func encode(_ value: Double) -> UInt64 { encode(doubleBits: value.bitPattern) }

    /// The key of the float8 with IEEE bits `bits` (the bits, never the value, so no payload is lost).
    @inlinable
    public static func encode(doubleBits bits: UInt64) -> UInt64 {
        let payload = bits & nanPayloads
        if bits & 0x7FF0_0000_0000_0000 == 0x7FF0_0000_0000_0000 && payload != 0 {
            return firstNaN + (bits >> 63) * nanPayloads + (payload - 1)
        }
        return (bits & (1 << 63) != 0 ? ~bits : bits | (1 << 63)) - nanPayloads
    }

    /// The IEEE bits of the float8 a key came from (every key is one's).
    @inlinable
    public static func decodeDoubleBits(_ key: UInt64) -> UInt64 {
        if key >= firstNaN {
            let index = key - firstNaN
            return (index / nanPayloads) << 63 | 0x7FF0_0000_0000_0000 | (index % nanPayloads + 1)
        }
        let flipped = key + nanPayloads
        return flipped & (1 << 63) != 0 ? flipped ^ (1 << 63) : ~flipped
    }

    @inlinable
    public static func decodeDouble(_ key: UInt64) -> Double { Double(bitPattern: decodeDoubleBits(key)) }

    /// A float4 has the key of the float8 it widens to; a NaN keeps its sign and its payload in the
    /// float8's top fraction bits (by bits: a hardware widening would quiet a signalling NaN).
    @inlinable
    public static func encode(floatBits bits: UInt32) -> UInt64 {
        let payload = UInt64(bits & 0x007F_FFFF)
        if bits & 0x7F80_0000 == 0x7F80_0000 && payload != 0 {
            return encode(doubleBits: UInt64(bits >> 31) << 63 | 0x7FF0_0000_0000_0000 | payload << 29)
        }
        return encode(doubleBits: Double(Float(bitPattern: bits)).bitPattern)
    }

    @inlinable
    public static func encode(_ value: Float) -> UInt64 { encode(floatBits: value.bitPattern) }

    /// The IEEE bits of the float4 a key came from, or nil when the key is a float8 no float4 equals.
    @inlinable
    public static func decodeFloatBits(_ key: UInt64) -> UInt32? {
        let bits = decodeDoubleBits(key)
        let payload = bits & nanPayloads
        if bits & 0x7FF0_0000_0000_0000 == 0x7FF0_0000_0000_0000 && payload != 0 {
            guard payload & (1 << 29 - 1) == 0 else { return nil }
            return UInt32(bits >> 63) << 31 | 0x7F80_0000 | UInt32(payload >> 29)
        }
        return Float(exactly: Double(bitPattern: bits))?.bitPattern
    }

    /// The `Float` a key came from, or nil when the key is a float8 no float4 equals.
    @inlinable
    public static func decodeFloat(_ key: UInt64) -> Float? { decodeFloatBits(key).map(Float.init(bitPattern:)) }

    /// The first key of the floats PostgreSQL holds equal to `value`: one key for both zeros and one for
    /// every NaN, for an image in which equal values have equal keys.
    @inlinable
    public static func equalityKey(_ value: Double) -> UInt64 { equalRange(ofFloatKey: encode(value)).lowerBound }

    /// The keys of the floats PostgreSQL holds equal to the float with key `key`: both zeros, or every NaN.
    @inlinable
    public static func equalRange(ofFloatKey key: UInt64) -> ClosedRange<UInt64> {
        if key >= firstNaN { return firstNaN...UInt64.max }
        let positiveZero = encode(doubleBits: 0)
        if key == positiveZero || key == positiveZero - 1 { return positiveZero - 1...positiveZero }
        return key...key
    }

    /// The key of a uuid: its leading 64 bits, big-endian, so that the keys order as the uuids' bytes do
    /// (`a < b` implies `encode(a) <= encode(b)`; uuids sharing those bits share a key).
    @inlinable
    public static func encode(uuid bytes: UnsafeRawBufferPointer) -> UInt64 {
        var key: UInt64 = 0
        for byte in bytes.prefix(8) { key = key << 8 | UInt64(byte) }
        return key
    }

    /// Normalises a PostgreSQL datum of `type` given as its raw 64-bit value (the integer for int2, int4,
    /// int8, date, timestamp and timestamptz, sign-extended; the IEEE bits for float4 and float8, float4 in
    /// the low 32 bits; a uuid's leading 64 bits, big-endian).
    @inlinable
    public static func encode(raw: UInt64, as type: KeyType) -> UInt64 {
        switch type {
        case .int2, .int4, .int8, .date, .timestamp, .timestamptz:
            return encode(Int64(bitPattern: raw))
        case .float4:
            return encode(floatBits: UInt32(truncatingIfNeeded: raw))
        case .float8:
            return encode(doubleBits: raw)
        case .uuid:
            return raw
        }
    }
}
