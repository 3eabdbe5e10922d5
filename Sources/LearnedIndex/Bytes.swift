/// Little-endian output into a growing byte array: the library's blobs and the engine's files.
public struct ByteWriter: Sendable {
    public var bytes: [UInt8] = []

    @inlinable public init() {}

    @inlinable public mutating func u8(_ value: UInt8) { bytes.append(value) }
    @inlinable public mutating func u16(_ value: UInt16) { append(value) }
    @inlinable public mutating func u32(_ value: UInt32) { append(value) }
    @inlinable public mutating func u64(_ value: UInt64) { append(value) }
    @inlinable public mutating func i64(_ value: Int64) { append(UInt64(bitPattern: value)) }
    @inlinable public mutating func int(_ value: Int) { i64(Int64(value)) }
    @inlinable public mutating func f64(_ value: Double) { append(value.bitPattern) }

    @inlinable
    mutating func append<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Unsigned LEB128.
    @inlinable
    public mutating func varint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    /// A varint length, then the UTF-8 bytes.
    public mutating func string(_ value: String) {
        var text = value
        text.withUTF8 { utf8 in
            varint(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    @inlinable public mutating func raw(_ other: [UInt8]) { bytes.append(contentsOf: other) }

    /// Doubles in one copy (IEEE little-endian, the layout of every platform this builds for).
    public mutating func f64s(_ values: [Double]) {
        assert(1.littleEndian == 1)
        values.withUnsafeBytes { bytes.append(contentsOf: $0) }
    }

    /// A length- and CRC32C-framed block: `[u32 length][u32 crc][payload]`.
    public mutating func block(_ payload: [UInt8]) {
        blockHeader(payload)
        raw(payload)
    }

    /// The length and checksum that frame `payload` as a block.
    public mutating func blockHeader(_ payload: [UInt8]) {
        u32(UInt32(payload.count))
        u32(CRC32C.checksum(payload))
    }

    /// Inserts `value` as a varint before the bytes from `offset` on (a length known only after them).
    public mutating func insertVarint(_ value: UInt64, at offset: Int) {
        var prefix = ByteWriter()
        prefix.varint(value)
        bytes.insert(contentsOf: prefix.bytes, at: offset)
    }
}

/// Little-endian input that never reads past its bytes. Damage is reported as `Failure`, made by `fail`
/// from a reason, the absolute offset (`base` plus the offset read to) and whether the bytes ran out: a
/// typed error of the library for its blobs, one naming the file for the engine's.
public struct ByteReader<Failure: Error> {
    public let bytes: [UInt8]
    /// Where `bytes` begins in whatever holds them.
    public let base: Int
    @usableFromInline var position = 0
    public let fail: (_ reason: String, _ offset: Int, _ truncated: Bool) -> Failure

    /// How far reading has come.
    @inlinable public var offset: Int { position }

    public init(_ bytes: [UInt8], base: Int = 0,
                fail: @escaping (_ reason: String, _ offset: Int, _ truncated: Bool) -> Failure) {
        self.bytes = bytes
        self.base = base
        self.fail = fail
    }

    @inlinable public var isAtEnd: Bool { position == bytes.count }
    @inlinable public var remaining: Int { bytes.count - position }

    /// The failure for damage found at the current offset.
    public func corrupt(_ reason: String) -> Failure { fail(reason, base + position, false) }

    @usableFromInline
    func truncated() -> Failure { fail("ends inside a field", base + position, true) }

    @inlinable public mutating func u8() throws(Failure) -> UInt8 { try fixed() }
    @inlinable public mutating func u16() throws(Failure) -> UInt16 { try fixed() }
    @inlinable public mutating func u32() throws(Failure) -> UInt32 { try fixed() }
    @inlinable public mutating func u64() throws(Failure) -> UInt64 { try fixed() }
    @inlinable public mutating func i64() throws(Failure) -> Int64 { Int64(bitPattern: try fixed()) }
    @inlinable public mutating func f64() throws(Failure) -> Double { Double(bitPattern: try fixed()) }

    @inlinable
    mutating func fixed<T: FixedWidthInteger>() throws(Failure) -> T {
        guard remaining >= MemoryLayout<T>.size else { throw truncated() }
        let value = bytes.withUnsafeBytes { [position] in $0.loadUnaligned(fromByteOffset: position, as: T.self) }
        position += MemoryLayout<T>.size
        return T(littleEndian: value)
    }

    /// A u64 count that must fit `0...limit`.
    public mutating func fixedCount(limit: Int) throws(Failure) -> Int {
        let value = try u64()
        guard value <= UInt64(limit) else { throw corrupt("count \(value) out of range") }
        return Int(value)
    }

    /// `count` 64-bit words, refused before allocating when the bytes cannot hold them.
    public mutating func words(_ count: Int) throws(Failure) -> [UInt64] {
        guard count >= 0 && count <= remaining / 8 else { throw truncated() }
        var result: [UInt64] = []
        result.reserveCapacity(count)
        for _ in 0..<count { result.append(try u64()) }
        return result
    }

    /// `count` doubles written by `ByteWriter.f64s`.
    public mutating func f64s(_ count: Int) throws(Failure) -> [Double] {
        let raw = try bytes(count * 8)
        return [Double](unsafeUninitializedCapacity: count) { buffer, initialized in
            raw.withUnsafeBytes { source in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: source)
            }
            initialized = count
        }
    }

    @inlinable
    public mutating func varint() throws(Failure) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try u8()
            guard shift < 64 else { throw corrupt("varint too long") }
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
    }

    /// A varint count no larger than `limit`.
    @inlinable
    public mutating func count(limit: Int) throws(Failure) -> Int {
        let value = try varint()
        guard value <= UInt64(limit) else { throw corrupt("count \(value) out of range") }
        return Int(value)
    }

    @inlinable
    public mutating func bytes(_ count: Int) throws(Failure) -> ArraySlice<UInt8> {
        guard count >= 0, remaining >= count else { throw truncated() }
        defer { position += count }
        return bytes[position..<position + count]
    }

    /// The next `count` bytes, as a reader of their own that reports offsets where they lie.
    public mutating func reader(_ count: Int) throws(Failure) -> ByteReader {
        let start = base + offset
        return ByteReader(Array(try bytes(count)), base: start, fail: fail)
    }

    /// The bytes not read yet.
    public mutating func rest() -> ArraySlice<UInt8> {
        defer { position = bytes.count }
        return bytes[position...]
    }

    public mutating func string() throws(Failure) -> String {
        let length = try count(limit: remaining)
        return String(decoding: try bytes(length), as: UTF8.self)
    }

    /// A block written by `ByteWriter.block`, its checksum verified.
    public mutating func block() throws(Failure) -> ByteReader {
        let start = base + offset
        let length = Int(try u32())
        let crc = try u32()
        guard remaining >= length else { throw corrupt("block of \(length) bytes overruns the file") }
        let payload = try reader(length)
        guard CRC32C.checksum(payload.bytes) == crc else { throw fail("block checksum mismatch", start, false) }
        return payload
    }
}
