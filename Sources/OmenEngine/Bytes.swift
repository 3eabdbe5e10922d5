import LearnedIndex

/// Little-endian encoding into a growing byte array.
struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func u8(_ value: UInt8) { bytes.append(value) }
    mutating func u16(_ value: UInt16) { append(value) }
    mutating func u32(_ value: UInt32) { append(value) }
    mutating func u64(_ value: UInt64) { append(value) }
    mutating func i64(_ value: Int64) { append(UInt64(bitPattern: value)) }
    mutating func f64(_ value: Double) { append(value.bitPattern) }

    private mutating func append<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Unsigned LEB128.
    mutating func varint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    mutating func string(_ value: String) {
        var text = value
        text.withUTF8 { utf8 in
            varint(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    mutating func raw(_ other: [UInt8]) { bytes.append(contentsOf: other) }

    /// Doubles in one copy (IEEE little-endian, the layout of every platform this builds for).
    mutating func f64s(_ values: [Double]) {
        assert(1.littleEndian == 1)
        values.withUnsafeBytes { bytes.append(contentsOf: $0) }
    }

    /// A length- and CRC32C-framed block: `[u32 length][u32 crc][payload]`.
    mutating func block(_ payload: [UInt8]) {
        blockHeader(payload)
        raw(payload)
    }

    /// The length and checksum that frame `payload` as a block.
    mutating func blockHeader(_ payload: [UInt8]) {
        u32(UInt32(payload.count))
        u32(CRC32C.checksum(payload))
    }

    /// Inserts `value` as a varint before the bytes from `offset` on (a length known only after them).
    mutating func insertVarint(_ value: UInt64, at offset: Int) {
        var prefix = ByteWriter()
        prefix.varint(value)
        bytes.insert(contentsOf: prefix.bytes, at: offset)
    }
}

/// Little-endian decoding that never reads past its bytes: damage gives `EngineError.corrupt` naming the
/// file and the absolute offset.
struct ByteReader {
    let bytes: [UInt8]
    let file: String
    /// Where `bytes` starts in the file.
    let base: Int
    private(set) var offset = 0

    init(_ bytes: [UInt8], file: String, base: Int = 0) {
        self.bytes = bytes
        self.file = file
        self.base = base
    }

    var isAtEnd: Bool { offset == bytes.count }
    var remaining: Int { bytes.count - offset }

    func corrupt(_ reason: String) -> EngineError { .corrupt(file: file, offset: base + offset, reason: reason) }

    mutating func u8() throws(EngineError) -> UInt8 { try fixed() }
    mutating func u16() throws(EngineError) -> UInt16 { try fixed() }
    mutating func u32() throws(EngineError) -> UInt32 { try fixed() }
    mutating func u64() throws(EngineError) -> UInt64 { try fixed() }
    mutating func i64() throws(EngineError) -> Int64 { Int64(bitPattern: try fixed()) }
    mutating func f64() throws(EngineError) -> Double { Double(bitPattern: try fixed()) }

    private mutating func fixed<T: FixedWidthInteger>() throws(EngineError) -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { throw corrupt("ends inside a field") }
        var value: T = 0
        for index in 0..<size { value |= T(bytes[offset + index]) << (8 * index) }
        offset += size
        return value
    }

    /// `count` doubles written by `ByteWriter.f64s`.
    mutating func f64s(_ count: Int) throws(EngineError) -> [Double] {
        let raw = try bytes(count * 8)
        return [Double](unsafeUninitializedCapacity: count) { buffer, initialized in
            raw.withUnsafeBytes { source in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: source)
            }
            initialized = count
        }
    }

    mutating func varint() throws(EngineError) -> UInt64 {
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

    /// A count no larger than `limit`.
    mutating func count(limit: Int) throws(EngineError) -> Int {
        let value = try varint()
        guard value <= UInt64(limit) else { throw corrupt("count \(value) out of range") }
        return Int(value)
    }

    mutating func bytes(_ count: Int) throws(EngineError) -> ArraySlice<UInt8> {
        guard count >= 0, remaining >= count else { throw corrupt("ends inside a field") }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    mutating func string() throws(EngineError) -> String {
        let length = try count(limit: remaining)
        return String(decoding: try bytes(length), as: UTF8.self)
    }

    /// A block written by `ByteWriter.block`, its checksum verified.
    mutating func block() throws(EngineError) -> ByteReader {
        let start = offset
        let length = Int(try u32())
        let crc = try u32()
        guard remaining >= length else { throw corrupt("block of \(length) bytes overruns the file") }
        let payload = Array(bytes[offset..<offset + length])
        guard CRC32C.checksum(payload) == crc else {
            throw EngineError.corrupt(file: file, offset: base + start, reason: "block checksum mismatch")
        }
        let reader = ByteReader(payload, file: file, base: base + offset)
        offset += length
        return reader
    }
}

/// Integers packed at a fixed bit width after subtracting their minimum (frame of reference); sorted
/// unique keys are delta-coded first, so a time series packs into a few bytes per row.
enum IntegerPacking {
    static func encode(_ values: [Int64], deltas: Bool, into writer: inout ByteWriter) {
        var coded = values.map { UInt64(bitPattern: $0) }
        if deltas {
            for index in stride(from: coded.count - 1, to: 0, by: -1) { coded[index] &-= coded[index - 1] }
        }
        let base = coded.dropFirst(deltas ? 1 : 0).min() ?? 0
        let first = coded.first ?? 0
        var spread: UInt64 = 0
        for index in coded.indices.dropFirst(deltas ? 1 : 0) {
            coded[index] &-= base
            spread |= coded[index]
        }
        let width = UInt8(64 - spread.leadingZeroBitCount)
        writer.u8(deltas ? 1 : 0)
        writer.u64(first)
        writer.u64(base)
        writer.u8(width)
        guard width > 0 else { return }
        var word: UInt64 = 0
        var used = 0
        for value in coded.dropFirst(deltas ? 1 : 0) {
            word |= value << UInt64(used)
            if used + Int(width) >= 64 {
                writer.u64(word)
                let spill = used + Int(width) - 64
                word = spill > 0 ? value >> UInt64(Int(width) - spill) : 0
                used = spill
            } else {
                used += Int(width)
            }
        }
        if used > 0 { writer.u64(word) }
    }

    static func decode(count: Int, from reader: inout ByteReader) throws(EngineError) -> [Int64] {
        let deltas = try reader.u8()
        guard deltas <= 1 else { throw reader.corrupt("unknown integer coding") }
        let first = try reader.u64()
        let base = try reader.u64()
        let width = Int(try reader.u8())
        guard width <= 64 else { throw reader.corrupt("bit width \(width)") }
        let packed = count - Int(deltas)
        guard count > 0 else { return [] }
        var values = [UInt64](repeating: base, count: count)
        if width > 0 && packed > 0 {
            let words = (packed * width + 63) / 64
            guard reader.remaining >= words * 8 else { throw reader.corrupt("packed integers overrun the block") }
            let mask: UInt64 = width == 64 ? .max : (1 << UInt64(width)) - 1
            var bit = 0
            var cache: [UInt64] = []
            cache.reserveCapacity(words)
            for _ in 0..<words { cache.append(try reader.u64()) }
            for index in 0..<packed {
                let word = bit >> 6
                let shift = bit & 63
                var value = cache[word] >> UInt64(shift)
                if shift + width > 64 { value |= cache[word + 1] << UInt64(64 - shift) }
                values[index + Int(deltas)] = base &+ (value & mask)
                bit += width
            }
        }
        if deltas == 1 {
            values[0] = first
            for index in 1..<count { values[index] &+= values[index - 1] }
        }
        return values.map { Int64(bitPattern: $0) }
    }
}

/// The byte layout of flag sets and columns, shared by segment files and log records.
enum ColumnCoding {
    static func encodeFlags(_ flags: [Bool], into writer: inout ByteWriter) {
        let set = flags.indices.filter { flags[$0] }
        writer.varint(UInt64(set.count))
        var previous = 0
        for index in set {
            writer.varint(UInt64(index - previous))
            previous = index
        }
    }

    static func decodeFlags(count: Int, from reader: inout ByteReader) throws(EngineError) -> [Bool] {
        var flags = [Bool](repeating: false, count: count)
        let set = try reader.count(limit: count)
        var position = 0
        for _ in 0..<set {
            position += try reader.count(limit: count)
            guard position < count else { throw reader.corrupt("flag position \(position) past \(count) rows") }
            flags[position] = true
        }
        return flags
    }

    static func encode(_ column: ColumnVector, into writer: inout ByteWriter) {
        encodeFlags(column.nulls, into: &writer)
        switch column.type {
        case .int64, .timestamp, .date: IntegerPacking.encode(column.integers, deltas: false, into: &writer)
        case .double: writer.f64s(column.doubles)
        case .text: for value in column.texts { writer.string(value) }
        case .bool: encodeFlags(column.bools, into: &writer)
        case .interval:
            for part in [\Interval.months, \.days, \.micros] {
                IntegerPacking.encode(column.intervals.map { $0[keyPath: part] }, deltas: false, into: &writer)
            }
        case .uuid:
            for half in [\UUID.high, \.low] {
                IntegerPacking.encode(column.uuids.map { Int64(bitPattern: $0[keyPath: half]) }, deltas: false, into: &writer)
            }
        }
    }

    static func decode(_ type: ColumnType, count: Int, from reader: inout ByteReader) throws(EngineError) -> ColumnVector {
        var column = ColumnVector(type: type)
        column.nulls = try decodeFlags(count: count, from: &reader)
        switch type {
        case .int64, .timestamp, .date: column.integers = try IntegerPacking.decode(count: count, from: &reader)
        case .double:
            guard reader.remaining >= count * 8 else { throw reader.corrupt("double column overruns its block") }
            column.doubles = try reader.f64s(count)
        case .text:
            column.texts.reserveCapacity(count)
            for _ in 0..<count { column.texts.append(try reader.string()) }
        case .bool: column.bools = try decodeFlags(count: count, from: &reader)
        case .interval:
            let months = try IntegerPacking.decode(count: count, from: &reader)
            let days = try IntegerPacking.decode(count: count, from: &reader)
            let micros = try IntegerPacking.decode(count: count, from: &reader)
            column.intervals = (0..<count).map { Interval(months: months[$0], days: days[$0], micros: micros[$0]) }
        case .uuid:
            let high = try IntegerPacking.decode(count: count, from: &reader)
            let low = try IntegerPacking.decode(count: count, from: &reader)
            column.uuids = (0..<count).map { UUID(high: UInt64(bitPattern: high[$0]), low: UInt64(bitPattern: low[$0])) }
        }
        return column
    }
}
