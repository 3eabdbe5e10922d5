/// Little-endian output.
struct ByteWriter {
    private(set) var bytes: [UInt8] = []

    mutating func u16(_ value: UInt16) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    mutating func u32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    mutating func u64(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    mutating func int(_ value: Int) { u64(UInt64(bitPattern: Int64(value))) }
    mutating func f64(_ value: Double) { u64(value.bitPattern) }
    mutating func raw(_ other: [UInt8]) { bytes += other }
}

/// Little-endian input that reports running off the end, or an implausible count, as a typed error.
struct ByteReader {
    private let bytes: UnsafeRawBufferPointer
    private(set) var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var remaining: Int { bytes.count - offset }

    private mutating func take<T: FixedWidthInteger>(_: T.Type) throws(LearnedIndexError) -> T {
        guard remaining >= MemoryLayout<T>.size else { throw .truncated }
        let value = bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
        return T(littleEndian: value)
    }

    mutating func u16() throws(LearnedIndexError) -> UInt16 { try take(UInt16.self) }
    mutating func u32() throws(LearnedIndexError) -> UInt32 { try take(UInt32.self) }
    mutating func u64() throws(LearnedIndexError) -> UInt64 { try take(UInt64.self) }
    mutating func f64() throws(LearnedIndexError) -> Double { Double(bitPattern: try take(UInt64.self)) }

    /// A count that must fit `0...limit`.
    mutating func count(limit: Int) throws(LearnedIndexError) -> Int {
        let value = try u64()
        guard value <= UInt64(limit) else { throw .corrupt }
        return Int(value)
    }

    /// `count` 64-bit words, refused before allocating when the blob cannot hold them.
    mutating func words(_ count: Int) throws(LearnedIndexError) -> [UInt64] {
        guard count >= 0 && count <= remaining / 8 else { throw .truncated }
        var result: [UInt64] = []
        result.reserveCapacity(count)
        for _ in 0..<count { result.append(try u64()) }
        return result
    }

    mutating func rest() -> UnsafeRawBufferPointer {
        defer { offset = bytes.count }
        return UnsafeRawBufferPointer(rebasing: bytes[offset...])
    }
}

/// The envelope of every serialised object:
///
///     magic u32 | version u16 | kind u16 | body length u64 | body CRC32C u32 | body
///
/// all little-endian. `docs/format.md` documents each body.
enum Envelope {
    static let headerSize = 20
    static let version: UInt16 = 1

    static func wrap(magic: UInt32, kind: UInt16, body: [UInt8]) -> [UInt8] {
        var writer = ByteWriter()
        writer.u32(magic)
        writer.u16(version)
        writer.u16(kind)
        writer.u64(UInt64(body.count))
        writer.u32(CRC32C.checksum(body))
        writer.raw(body)
        return writer.bytes
    }

    /// Checks the envelope and returns the kind, a reader over the body, and the envelope's total size.
    static func open(_ bytes: UnsafeRawBufferPointer, magic: UInt32) throws(LearnedIndexError)
        -> (kind: UInt16, body: UnsafeRawBufferPointer, size: Int)
    {
        var reader = ByteReader(bytes)
        guard try reader.u32() == magic else { throw .badMagic }
        let version = try reader.u16()
        guard version == Self.version else { throw .unsupportedVersion(version) }
        let kind = try reader.u16()
        let length = try reader.u64()
        let crc = try reader.u32()
        guard length <= UInt64(reader.remaining) else { throw .truncated }
        let body = UnsafeRawBufferPointer(rebasing: bytes[headerSize..<(headerSize + Int(length))])
        guard CRC32C.checksum(body) == crc else { throw .checksumMismatch }
        return (kind, body, headerSize + Int(length))
    }
}

extension LearnedModel {
    /// "OMLM", read as a little-endian u32.
    static let magic: UInt32 = 0x4D4C_4D4F

    private var kindCode: UInt16 {
        switch self {
        case .piecewiseLinear: 4
        case .recursive: 2
        case .linear: 3
        }
    }

    /// The model's bytes: the envelope around a kind-specific body.
    public func serialized() -> [UInt8] {
        var body = ByteWriter()
        switch self {
        case .piecewiseLinear(let model):
            body.int(model.epsilon)
            body.int(model.internalEpsilon)
            body.int(model.keyCount)
            body.int(model.levelOffsets.count)
            for offset in model.levelOffsets { body.int(offset) }
            for start in model.starts { body.u64(start) }
            for line in model.lines {
                body.u32(line.slope.bitPattern)
                body.u32(UInt32(bitPattern: line.intercept))
            }
        case .recursive(let model):
            body.int(model.keyCount)
            body.int(model.leafCount)
            body.u64(model.firstKey)
            body.u64(model.root.origin)
            body.f64(model.root.slope)
            body.f64(model.root.intercept)
            for leaf in model.leaves {
                body.f64(leaf.slope)
                body.f64(leaf.intercept)
                body.u32(leaf.below)
                body.u32(leaf.above)
            }
        case .linear(let model):
            body.int(model.keyCount)
            body.u64(model.function.origin)
            body.f64(model.function.slope)
            body.f64(model.function.intercept)
            body.int(model.error.below)
            body.int(model.error.above)
        }
        return Envelope.wrap(magic: Self.magic, kind: kindCode, body: body.bytes)
    }

    /// Reads a model written by `serialized()`. Any damage gives a typed error: the envelope catches
    /// truncation and flipped bits, and the structure is checked so that no lookup can leave its arrays.
    public init(deserializing bytes: UnsafeRawBufferPointer) throws(LearnedIndexError) {
        self = try Self.decode(bytes).model
    }

    /// Reads a model and says how many bytes it took.
    static func decode(_ bytes: UnsafeRawBufferPointer) throws(LearnedIndexError) -> (model: LearnedModel, size: Int) {
        let (kind, body, size) = try Envelope.open(bytes, magic: magic)
        var reader = ByteReader(body)
        let maximumKeys = Int(Int32.max) << 16
        let model: LearnedModel
        switch kind {
        case 1:
            // The piecewise-linear layout before 32-bit lines: not read (its lines cannot be narrowed
            // without losing the bound); rebuild the model.
            throw .unsupportedVersion(1)
        case 4:
            let epsilon = try reader.count(limit: PiecewiseLinearModel.maximumEpsilon)
            let internalEpsilon = try reader.count(limit: PiecewiseLinearModel.maximumEpsilon)
            let keyCount = try reader.count(limit: PiecewiseLinearModel.maximumKeyCount)
            let offsetCount = try reader.count(limit: 64)
            let offsets = try reader.words(offsetCount).map { Int(truncatingIfNeeded: $0) }
            guard keyCount >= 1, offsets.count >= 2, offsets[0] == 0,
                  zip(offsets, offsets.dropFirst()).allSatisfy({ $0.0 < $0.1 && $0.1 <= maximumKeys })
            else { throw .corrupt }
            let total = offsets[offsets.count - 1]
            let starts = try reader.words(total)
            let lineWords = try reader.words(total)
            let lines = lineWords.map {
                SegmentLine(slope: Float(bitPattern: UInt32(truncatingIfNeeded: $0)),
                            intercept: Int32(truncatingIfNeeded: $0 >> 32))
            }
            for level in 0..<(offsets.count - 1) {
                let range = offsets[level]..<offsets[level + 1]
                guard starts[range.lowerBound] == 0,
                      zip(starts[range], starts[range].dropFirst()).allSatisfy({ $0.0 < $0.1 })
                else { throw .corrupt }
            }
            guard lines.allSatisfy({ $0.slope >= 0 && $0.slope.isFinite }) else {
                throw .corrupt
            }
            model = .piecewiseLinear(PiecewiseLinearModel(
                epsilon: epsilon, internalEpsilon: internalEpsilon, keyCount: keyCount,
                starts: starts, lines: lines, levelOffsets: offsets))
        case 2:
            let keyCount = try reader.count(limit: Int(UInt32.max))
            let leafCount = try reader.count(limit: RecursiveModelIndex.maximumLeaves)
            let firstKey = try reader.u64()
            let root = LinearFunction(origin: try reader.u64(), slope: try reader.f64(), intercept: try reader.f64())
            guard keyCount >= 1, leafCount >= 1, leafCount <= reader.remaining / 24, Self.isValid(root) else {
                throw .corrupt
            }
            var leaves: [RecursiveModelIndex.Leaf] = []
            leaves.reserveCapacity(leafCount)
            for _ in 0..<leafCount {
                let leaf = RecursiveModelIndex.Leaf(
                    slope: try reader.f64(), intercept: try reader.f64(), below: try reader.u32(), above: try reader.u32())
                guard Self.isValid(LinearFunction(origin: firstKey, slope: leaf.slope, intercept: leaf.intercept)),
                      Int(leaf.below) <= keyCount, Int(leaf.above) <= keyCount
                else { throw .corrupt }
                leaves.append(leaf)
            }
            model = .recursive(RecursiveModelIndex(keyCount: keyCount, root: root, firstKey: firstKey, leaves: leaves))
        case 3:
            let keyCount = try reader.count(limit: maximumKeys)
            let function = LinearFunction(origin: try reader.u64(), slope: try reader.f64(), intercept: try reader.f64())
            let error = ErrorBound(below: try reader.count(limit: keyCount), above: try reader.count(limit: keyCount))
            guard keyCount >= 1, Self.isValid(function) else { throw .corrupt }
            model = .linear(LinearModel(function: function, error: error, keyCount: keyCount))
        default:
            throw .corrupt
        }
        guard reader.remaining == 0 else { throw .corrupt }
        return (model, size)
    }

    private static func isValid(_ function: LinearFunction) -> Bool {
        function.slope >= 0 && function.slope.isFinite && function.intercept.isFinite
    }
}

extension ColdRun {
    /// "OMLR", read as a little-endian u32.
    static let magic: UInt32 = 0x524C_4D4F

    /// The run's bytes: count, keys, payloads, dead marks, then the model's own envelope (absent when
    /// the run is empty), all inside the run's envelope.
    public func serialized() -> [UInt8] {
        var body = ByteWriter()
        body.int(count)
        for key in keys { body.u64(key) }
        for payload in payloads { body.u64(payload) }
        for word in dead.words { body.u64(word) }
        if let model { body.raw(model.serialized()) }
        return Envelope.wrap(magic: Self.magic, kind: 0, body: body.bytes)
    }

    /// Reads a run written by `serialized()`; damage gives a typed error.
    public init(deserializing bytes: UnsafeRawBufferPointer) throws(LearnedIndexError) {
        let (kind, body, _) = try Envelope.open(bytes, magic: Self.magic)
        guard kind == 0 else { throw .corrupt }
        var reader = ByteReader(body)
        let count = try reader.count(limit: reader.remaining / 16)
        let keys = try reader.words(count)
        let payloads = try reader.words(count)
        var dead = Bitmap(count: count)
        dead.words = try reader.words(dead.words.count)
        guard zip(keys, keys.dropFirst()).allSatisfy({ $0.0 <= $0.1 }),
              count % 64 == 0 || (dead.words.last ?? 0) >> UInt64(count % 64) == 0
        else { throw .corrupt }
        let model: LearnedModel?
        if count == 0 {
            model = nil
        } else {
            let rest = reader.rest()
            let (decoded, size) = try LearnedModel.decode(rest)
            guard decoded.keyCount == count, size == rest.count else { throw .corrupt }
            model = decoded
        }
        guard reader.remaining == 0 else { throw .corrupt }
        self.init(keys: keys, payloads: payloads, model: model, dead: dead)
    }
}
