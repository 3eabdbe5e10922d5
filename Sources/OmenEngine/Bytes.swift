import LearnedIndex

/// The engine reads its files with the library's reader: damage names the file and the absolute offset.
typealias ByteReader = LearnedIndex.ByteReader<EngineError>

extension LearnedIndex.ByteReader where Failure == EngineError {
    init(_ bytes: [UInt8], file: String, base: Int = 0) {
        self.init(bytes, base: base) { reason, offset, _ in .corrupt(file: file, offset: offset, reason: reason) }
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
