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

    @Test func doublesFollowPostgresOrder() {
        var random = SplitMix64(seed: 2)
        var values: [Double] = [
            -.infinity, -.greatestFiniteMagnitude, -1, -.leastNormalMagnitude, -.leastNonzeroMagnitude, -0.0, 0.0,
            .leastNonzeroMagnitude, .leastNormalMagnitude, 1, .greatestFiniteMagnitude, .infinity, .nan,
            -.nan, .signalingNaN, Double(bitPattern: 0x7FF0_0000_0000_0001), Double(bitPattern: 0xFFFF_FFFF_FFFF_FFFF),
        ]
        for _ in 0..<250 { values.append(Double(bitPattern: random.next())) }
        checkOrder(values, NormalizedKey.encode, less: Self.postgresLess, equal: Self.postgresEqual)
        #expect(NormalizedKey.encode(-0.0) == NormalizedKey.encode(0.0))
        #expect(NormalizedKey.encode(Double.nan) == NormalizedKey.encode(Double.infinity) + 1)
        for value in values {
            let back = NormalizedKey.decodeDouble(NormalizedKey.encode(value))
            #expect(Self.postgresEqual(back, value))
            if value == 0 { #expect(back.sign == .plus) }
        }
    }

    @Test func floatsFollowPostgresOrderAndShareDoubleKeys() {
        var random = SplitMix64(seed: 3)
        var values: [Float] = [-.infinity, -.greatestFiniteMagnitude, -1, -0.0, 0, .leastNonzeroMagnitude, 1,
                               .greatestFiniteMagnitude, .infinity, .nan, -.nan]
        for _ in 0..<250 { values.append(Float(bitPattern: UInt32(truncatingIfNeeded: random.next()))) }
        checkOrder(values, NormalizedKey.encode,
                   less: { Self.postgresLess(Double($0), Double($1)) },
                   equal: { Self.postgresEqual(Double($0), Double($1)) })
        for value in values {
            #expect(NormalizedKey.encode(value) == NormalizedKey.encode(Double(value)))
            let back = NormalizedKey.decodeFloat(NormalizedKey.encode(value))
            #expect(back.map { Self.postgresEqual(Double($0), Double(value)) } == true)
            #expect(NormalizedKey.encode(raw: UInt64(value.bitPattern), as: .float4) == NormalizedKey.encode(value))
        }
        #expect(NormalizedKey.decodeFloat(NormalizedKey.encode(0.1 as Double)) == nil)
    }
}
