extension ByteReader where Failure == LearnedIndexError {
    /// A reader of a library blob: running out of bytes is `.truncated`, any other damage `.corrupt`.
    init(blob bytes: some Collection<UInt8>) {
        self.init(Array(bytes)) { _, _, truncated in truncated ? .truncated : .corrupt }
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
        var reader = ByteReader(blob: bytes.prefix(headerSize))
        guard try reader.u32() == magic else { throw .badMagic }
        let version = try reader.u16()
        guard version == Self.version else { throw .unsupportedVersion(version) }
        let kind = try reader.u16()
        let length = try reader.u64()
        let crc = try reader.u32()
        guard length <= UInt64(bytes.count - headerSize) else { throw .truncated }
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

    /// Reads the model at the start of `bytes` (others may follow it) and says how many bytes it took.
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(LearnedIndexError) -> (model: LearnedModel, size: Int) {
        let (kind, body, size) = try Envelope.open(bytes, magic: magic)
        var reader = ByteReader(blob: body)
        let maximumKeys = Int(Int32.max) << 16
        let model: LearnedModel
        switch kind {
        case 1:
            // The piecewise-linear layout before 32-bit lines: not read (its lines cannot be narrowed
            // without losing the bound); rebuild the model.
            throw .unsupportedVersion(1)
        case 4:
            let epsilon = try reader.fixedCount(limit: PiecewiseLinearModel.maximumEpsilon)
            let internalEpsilon = try reader.fixedCount(limit: PiecewiseLinearModel.maximumEpsilon)
            let keyCount = try reader.fixedCount(limit: PiecewiseLinearModel.maximumKeyCount)
            let offsetCount = try reader.fixedCount(limit: 64)
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
            let keyCount = try reader.fixedCount(limit: Int(UInt32.max))
            let leafCount = try reader.fixedCount(limit: RecursiveModelIndex.maximumLeaves)
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
            let keyCount = try reader.fixedCount(limit: maximumKeys)
            let function = LinearFunction(origin: try reader.u64(), slope: try reader.f64(), intercept: try reader.f64())
            let error = ErrorBound(below: try reader.fixedCount(limit: keyCount), above: try reader.fixedCount(limit: keyCount))
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
        var reader = ByteReader(blob: body)
        let count = try reader.fixedCount(limit: reader.remaining / 16)
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
            let rest = Array(reader.rest())
            let decoded: (model: LearnedModel, size: Int)
            do {
                decoded = try rest.withUnsafeBytes { try LearnedModel.decode($0) }
            } catch {
                // withUnsafeBytes forgets the error's type; decode throws only LearnedIndexError.
                throw error as? LearnedIndexError ?? .corrupt
            }
            guard decoded.model.keyCount == count, decoded.size == rest.count else { throw .corrupt }
            model = decoded.model
        }
        guard reader.remaining == 0 else { throw .corrupt }
        self.init(keys: keys, payloads: payloads, model: model, dead: dead)
    }
}
