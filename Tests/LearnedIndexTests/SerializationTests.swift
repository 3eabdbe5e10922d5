import Datasets
import LearnedIndex
import Testing

@Suite struct SerializationTests {
    static let keys = Distribution.books.keys(count: 3_000, seed: 8)

    static func model(_ kind: ModelKind) throws -> LearnedModel {
        try keys.withUnsafeBufferPointer { try LearnedModel(kind: kind, keys: $0) }
    }

    static func load(_ bytes: [UInt8]) throws -> LearnedModel {
        try bytes.withUnsafeBytes { try LearnedModel(deserializing: $0) }
    }

    static func loadRun(_ bytes: [UInt8]) throws -> ColdRun {
        try bytes.withUnsafeBytes { try ColdRun(deserializing: $0) }
    }

    @Test func crc32cMatchesTheStandardCheckValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([]) == 0)
        let bytes = (0..<1_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let split = bytes[..<333].withUnsafeBytes { first in
            bytes[333...].withUnsafeBytes { CRC32C.checksum($0, continuing: CRC32C.checksum(first)) }
        }
        #expect(split == CRC32C.checksum(bytes))
    }

    @Test("models round-trip", arguments: modelKinds)
    func modelsRoundTrip(_ kind: ModelKind) throws {
        let model = try Self.model(kind)
        let bytes = model.serialized()
        let loaded = try Self.load(bytes)
        #expect(loaded == model)
        #expect(loaded.serialized() == bytes)
        for key in probes(for: Self.keys, random: 100) { #expect(loaded.window(for: key) == model.window(for: key)) }
    }

    @Test func modelsWithRoutingLevelsRoundTrip() throws {
        let pgm = try Self.keys.withUnsafeBufferPointer {
            try PiecewiseLinearModel(keys: $0, epsilon: 4, directSearchLimit: 1)
        }
        #expect(pgm.levelCount > 1)
        let model = LearnedModel.piecewiseLinear(pgm)
        let loaded = try Self.load(model.serialized())
        #expect(loaded == model)
        for key in probes(for: Self.keys, random: 100) { #expect(loaded.window(for: key) == model.window(for: key)) }
    }

    @Test func layoutStartsWithMagicVersionAndLittleEndianLength() throws {
        let bytes = try Self.model(.linear).serialized()
        #expect(Array(bytes[0..<4]) == Array("OMLM".utf8))
        #expect(bytes[4] == 1 && bytes[5] == 0)
        #expect(bytes[6] == 3 && bytes[7] == 0)
        let length = (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[8 + $1]) << (8 * UInt64($1)) }
        #expect(Int(length) == bytes.count - 20)
    }

    @Test func runsRoundTripWithDeadMarks() throws {
        var run = try ColdRun(keys: Self.keys, payloads: Self.keys.indices.map { UInt64($0) * 3 },
                              kind: .piecewiseLinear(epsilon: 8))
        for position in stride(from: 0, to: run.count, by: 7) { run.markDead(at: position) }
        let loaded = try Self.loadRun(run.serialized())
        #expect(loaded == run)
        #expect(try Self.loadRun(ColdRun().serialized()) == ColdRun())
    }

    /// Truncations, single-bit flips and random bytes: every one a typed error, none a trap.
    @Test func damagedBlobsGiveTypedErrors() throws {
        var cases = 0
        var random = SplitMix64(seed: 12)
        for kind in [ModelKind.piecewiseLinear(epsilon: 4), .recursive(leaves: 16), .linear] {
            let bytes = try Self.model(kind).serialized()
            for length in 0..<bytes.count {
                #expect(throws: LearnedIndexError.self) { try Self.load(Array(bytes[..<length])) }
                cases += 1
            }
            for _ in 0..<2_000 {
                var damaged = bytes
                let bit = Int(random.next() % UInt64(bytes.count * 8))
                damaged[bit / 8] ^= 1 << UInt8(bit % 8)
                #expect(throws: LearnedIndexError.self) { try Self.load(damaged) }
                cases += 1
            }
        }
        for _ in 0..<3_000 {
            let noise = (0..<Int(random.next() % 300)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            #expect(throws: LearnedIndexError.self) { try Self.load(noise) }
            #expect(throws: LearnedIndexError.self) { try Self.loadRun(noise) }
            cases += 2
        }
        let run = try ColdRun(keys: Array(Self.keys.prefix(300)), payloads: Array(repeating: 1, count: 300), kind: .linear)
        let runBytes = run.serialized()
        for _ in 0..<2_000 {
            var damaged = runBytes
            let bit = Int(random.next() % UInt64(runBytes.count * 8))
            damaged[bit / 8] ^= 1 << UInt8(bit % 8)
            #expect(throws: LearnedIndexError.self) { try Self.loadRun(damaged) }
            cases += 1
        }
        #expect(cases >= 10_000)
    }

    /// Re-seals `bytes` after editing its body, so the damage passes the checksum.
    static func resealed(_ bytes: [UInt8], editing edit: (inout [UInt8]) -> Void) -> [UInt8] {
        var body = Array(bytes[20...])
        edit(&body)
        var result = Array(bytes[..<8])
        withUnsafeBytes(of: UInt64(body.count).littleEndian) { result += $0 }
        withUnsafeBytes(of: CRC32C.checksum(body).littleEndian) { result += $0 }
        return result + body
    }

    @Test func structuralDamageBehindAValidChecksumIsCorrupt() throws {
        let pgm = try Self.model(.piecewiseLinear(epsilon: 4)).serialized()
        // Body: epsilon, internal epsilon, key count, offset count, offsets..., starts..., lines...
        let zeroKeys = Self.resealed(pgm) { body in for i in 16..<24 { body[i] = 0 } }
        #expect(throws: LearnedIndexError.corrupt) { try Self.load(zeroKeys) }
        let hugeEpsilon = Self.resealed(pgm) { body in body[7] = 0x7F }
        #expect(throws: LearnedIndexError.corrupt) { try Self.load(hugeEpsilon) }
        let trailing = Self.resealed(pgm) { body in body.append(0) }
        #expect(throws: LearnedIndexError.corrupt) { try Self.load(trailing) }
        var wrongVersion = pgm
        wrongVersion[4] = 9
        #expect(throws: LearnedIndexError.unsupportedVersion(9)) { try Self.load(wrongVersion) }
        // Kind 1 is the piecewise-linear layout of 16-byte lines, which cannot be narrowed exactly.
        #expect(pgm[6] == 4 && pgm[7] == 0)
        var wideLines = pgm
        wideLines[6] = 1
        #expect(throws: LearnedIndexError.unsupportedVersion(1)) { try Self.load(wideLines) }
        var wrongMagic = pgm
        wrongMagic[0] = 0
        #expect(throws: LearnedIndexError.badMagic) { try Self.load(wrongMagic) }
        var flipped = pgm
        flipped[flipped.count - 1] ^= 0x10
        #expect(throws: LearnedIndexError.checksumMismatch) { try Self.load(flipped) }
        let unknownKind = Self.resealed(pgm) { _ in }
        var patched = unknownKind
        patched[6] = 42
        #expect(throws: LearnedIndexError.corrupt) { try Self.load(patched) }
    }
}
