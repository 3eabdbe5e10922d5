import Datasets
import LearnedIndex
import Testing

@Suite struct NormalizedKeyTests {
    /// Checks that the encoding orders every pair of `values` exactly as `less` and `equal` do.
    func checkOrder<T>(_ values: [T], _ encode: (T) -> UInt64, less: (T, T) -> Bool, equal: (T, T) -> Bool) {
        for a in values {
            for b in values {
                let ka = encode(a)
                let kb = encode(b)
                if (ka < kb) != less(a, b) || (ka == kb) != equal(a, b) {
                    Issue.record("\(a) and \(b) encode to \(ka) and \(kb)")
                }
            }
        }
    }

    @Test func integersKeepOrderAndRoundTrip() {
        var random = SplitMix64(seed: 1)
        var int64s: [Int64] = [.min, .min + 1, -1, 0, 1, .max - 1, .max]
        for _ in 0..<300 { int64s.append(Int64(bitPattern: random.next() >> (random.next() % 64))) }
        int64s += int64s.map { 0 &- $0 }
        checkOrder(int64s, NormalizedKey.encode, less: <, equal: ==)
        for value in int64s { #expect(NormalizedKey.decodeInt64(NormalizedKey.encode(value)) == value) }
        #expect(NormalizedKey.encode(Int64.min) == 0)
        #expect(NormalizedKey.encode(Int64.max) == .max)

        var int32s: [Int32] = [.min, -1, 0, 1, .max]
        for _ in 0..<200 { int32s.append(Int32(truncatingIfNeeded: random.next())) }
        checkOrder(int32s, NormalizedKey.encode, less: <, equal: ==)
        for value in int32s { #expect(NormalizedKey.decodeInt32(NormalizedKey.encode(value)) == value) }

        var int16s: [Int16] = [.min, -1, 0, 1, .max]
        for _ in 0..<200 { int16s.append(Int16(truncatingIfNeeded: random.next())) }
        checkOrder(int16s, NormalizedKey.encode, less: <, equal: ==)
        for value in int16s { #expect(NormalizedKey.decodeInt16(NormalizedKey.encode(value)) == value) }
        #expect(NormalizedKey.decodeInt16(NormalizedKey.encode(Int64(Int16.max) + 1)) == nil)
    }

    @Test func dateAndTimestampInfinitiesSortAtTheEnds() {
        // PostgreSQL's DATEVAL_NOBEGIN/NOEND are the int32 extremes, DT_NOBEGIN/NOEND the int64 extremes.
        let dates: [Int32] = [.min, -2_451_545, 0, 8_000, .max]
        for (a, b) in zip(dates, dates.dropFirst()) {
            #expect(NormalizedKey.encode(raw: UInt64(bitPattern: Int64(a)), as: .date)
                < NormalizedKey.encode(raw: UInt64(bitPattern: Int64(b)), as: .date))
        }
        let stamps: [Int64] = [.min, -211_813_488_000_000_000, 0, 1_700_000_000_000_000, .max]
        for type in [KeyType.timestamp, .timestamptz] {
            for (a, b) in zip(stamps, stamps.dropFirst()) {
                #expect(NormalizedKey.encode(raw: UInt64(bitPattern: a), as: type)
                    < NormalizedKey.encode(raw: UInt64(bitPattern: b), as: type))
            }
        }
    }

    /// PostgreSQL's float order: NaN equals NaN and sorts above everything; -0.0 equals 0.0.
    static func postgresLess(_ a: Double, _ b: Double) -> Bool {
        if a.isNaN { return false }
        if b.isNaN { return true }
        return a < b
    }

    static func postgresEqual(_ a: Double, _ b: Double) -> Bool {
        a.isNaN ? b.isNaN : (!b.isNaN && a == b)
    }

    /// Checks PostgreSQL's float order on keys: distinct values order as their keys, and the keys of equal
    /// values (-0.0 and 0.0, any two NaNs) are distinct and share `equalRange`.
    func checkFloatOrder(_ values: [Double], same: (Int, Int) -> Bool, _ key: (Int) -> UInt64) {
        for a in values.indices {
            for b in values.indices {
                let ka = key(a)
                let kb = key(b)
                let equal = Self.postgresEqual(values[a], values[b])
                if equal != (NormalizedKey.equalRange(ofFloatKey: ka) == NormalizedKey.equalRange(ofFloatKey: kb))
                    || (!equal && (ka < kb) != Self.postgresLess(values[a], values[b]))
                    || (ka == kb) != same(a, b) {
                    Issue.record("\(values[a]) and \(values[b]) encode to \(ka) and \(kb)")
                }
            }
        }
    }

    @Test func doublesFollowPostgresOrderAndComeBackBitForBit() {
        var random = SplitMix64(seed: 2)
        var values: [Double] = [
            -.infinity, -.greatestFiniteMagnitude, -1, -.leastNormalMagnitude, -.leastNonzeroMagnitude, -0.0, 0.0,
            .leastNonzeroMagnitude, .leastNormalMagnitude, 1, .greatestFiniteMagnitude, .infinity, .nan,
            -.nan, .signalingNaN, -.signalingNaN, Double(bitPattern: 0x7FF0_0000_0000_0001),
            Double(bitPattern: 0xFFF0_0000_0000_0001), Double(bitPattern: 0x7FFF_FFFF_FFFF_FFFF),
            Double(bitPattern: 0xFFFF_FFFF_FFFF_FFFF),
        ]
        for _ in 0..<250 { values.append(Double(bitPattern: random.next())) }
        checkFloatOrder(values, same: { values[$0].bitPattern == values[$1].bitPattern }) { NormalizedKey.encode(values[$0]) }
        // The ends of the key space are -Infinity and the last NaN; zero's two keys are adjacent.
        #expect(NormalizedKey.encode(-Double.infinity) == 0)
        #expect(NormalizedKey.encode(Double(bitPattern: 0xFFFF_FFFF_FFFF_FFFF)) == .max)
        #expect(NormalizedKey.encode(Double.infinity) == NormalizedKey.positiveInfinity)
        #expect(NormalizedKey.encode(Double(bitPattern: 0x7FF0_0000_0000_0001)) == NormalizedKey.firstNaN)
        #expect(NormalizedKey.encode(-0.0) + 1 == NormalizedKey.encode(0.0))
        for value in values {
            let key = NormalizedKey.encode(value)
            #expect(NormalizedKey.decodeDoubleBits(key) == value.bitPattern)
            #expect(NormalizedKey.encode(raw: value.bitPattern, as: .float8) == key)
        }
        // Every key is some double's: decoding then encoding gives the key back.
        for _ in 0..<10_000 {
            let key = random.next()
            #expect(NormalizedKey.encode(doubleBits: NormalizedKey.decodeDoubleBits(key)) == key)
        }
    }

    @Test func floatsFollowPostgresOrderAndShareDoubleKeys() {
        var random = SplitMix64(seed: 3)
        var values: [Float] = [-.infinity, -.greatestFiniteMagnitude, -1, -0.0, 0, .leastNonzeroMagnitude, 1,
                               .greatestFiniteMagnitude, .infinity, .nan, -.nan, .signalingNaN,
                               Float(bitPattern: 0xFFFF_FFFF)]
        for _ in 0..<250 { values.append(Float(bitPattern: UInt32(truncatingIfNeeded: random.next()))) }
        checkFloatOrder(values.map { $0.isNaN ? .nan : Double($0) }, same: { values[$0].bitPattern == values[$1].bitPattern }) {
            NormalizedKey.encode(values[$0])
        }
        for value in values {
            let key = NormalizedKey.encode(value)
            if !value.isNaN { #expect(key == NormalizedKey.encode(Double(value))) }
            #expect(NormalizedKey.decodeFloatBits(key) == value.bitPattern)
            #expect(NormalizedKey.encode(raw: UInt64(value.bitPattern), as: .float4) == key)
        }
        #expect(NormalizedKey.decodeFloat(NormalizedKey.encode(0.1 as Double)) == nil)
        #expect(NormalizedKey.decodeFloat(NormalizedKey.encode(Double(bitPattern: 0x7FF0_0000_0000_0001))) == nil)
    }

    /// A uuid's key is its leading 64 bits: byte order implies key order, and only uuids sharing those
    /// bits share a key.
    @Test func uuidKeysFollowByteOrderByTheirLeadingBits() {
        var random = SplitMix64(seed: 4)
        var uuids: [[UInt8]] = [[UInt8](repeating: 0, count: 16), [UInt8](repeating: 0xFF, count: 16)]
        for _ in 0..<200 {
            var bytes = (0..<2).flatMap { _ in withUnsafeBytes(of: random.next()) { Array($0) } }
            uuids.append(bytes)
            bytes[8 + Int(random.next() % 8)] ^= 0x10    // the same leading 64 bits, another uuid
            uuids.append(bytes)
        }
        func key(_ bytes: [UInt8]) -> UInt64 { bytes.withUnsafeBytes { NormalizedKey.encode(uuid: $0) } }
        for a in uuids {
            for b in uuids {
                if a.lexicographicallyPrecedes(b) && key(a) > key(b) { Issue.record("\(a) < \(b) but keys \(key(a)) > \(key(b))") }
                if (key(a) == key(b)) != (a.prefix(8) == b.prefix(8)) { Issue.record("\(a) and \(b) share a key wrongly") }
            }
        }
        #expect(key([0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF] + [UInt8](repeating: 0, count: 8)) == 0x0123_4567_89AB_CDEF)
        #expect(NormalizedKey.encode(raw: 0x0123_4567_89AB_CDEF, as: .uuid) == 0x0123_4567_89AB_CDEF)
        #expect(KeyType.uuid.isLossy && !KeyType.int8.isLossy)
    }
}
