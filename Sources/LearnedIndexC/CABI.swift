import COmenABI
import LearnedIndex

// The C ABI declared in include/omendb_learned.h. Every entry point checks its pointers, catches every
// typed error and returns a status code: nothing here may trap, because it runs inside PostgreSQL.

extension omen_status {
    init(_ error: LearnedIndexError) {
        switch error {
        case .emptyKeySet: self = OMEN_ERR_EMPTY
        case .unsortedKeys: self = OMEN_ERR_UNSORTED
        case .invalidArgument: self = OMEN_ERR_INVALID_ARGUMENT
        case .truncated: self = OMEN_ERR_TRUNCATED
        case .badMagic: self = OMEN_ERR_BAD_MAGIC
        case .unsupportedVersion: self = OMEN_ERR_VERSION
        case .checksumMismatch: self = OMEN_ERR_CHECKSUM
        case .corrupt: self = OMEN_ERR_CORRUPT
        }
    }
}

extension KeyType {
    /// The library's key type of the header's, or nil for a value the header does not name.
    init?(_ keyType: omen_key_type) {
        switch keyType {
        case OMEN_KEY_INT2: self = .int2
        case OMEN_KEY_INT4: self = .int4
        case OMEN_KEY_INT8: self = .int8
        case OMEN_KEY_FLOAT4: self = .float4
        case OMEN_KEY_FLOAT8: self = .float8
        case OMEN_KEY_DATE: self = .date
        case OMEN_KEY_TIMESTAMP: self = .timestamp
        case OMEN_KEY_TIMESTAMPTZ: self = .timestamptz
        case OMEN_KEY_UUID: self = .uuid
        default: return nil
        }
    }
}

final class BuilderBox {
    var builder: ModelBuilder?
    init(_ builder: ModelBuilder) { self.builder = builder }
}

final class ModelBox {
    let model: LearnedModel
    /// Serialised once, on first request.
    var bytes: [UInt8]?
    init(_ model: LearnedModel) { self.model = model }
}

private func model(_ handle: OpaquePointer?) -> ModelBox? {
    guard let handle else { return nil }
    return Unmanaged<ModelBox>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
}

@_cdecl("omen_key_from_int64")
public func omenKeyFromInt64(_ value: Int64) -> UInt64 { NormalizedKey.encode(value) }

@_cdecl("omen_key_from_float8")
public func omenKeyFromFloat8(_ bits: UInt64) -> UInt64 { NormalizedKey.encode(doubleBits: bits) }

@_cdecl("omen_key_from_float4")
public func omenKeyFromFloat4(_ bits: UInt32) -> UInt64 { NormalizedKey.encode(floatBits: bits) }

@_cdecl("omen_key_from_uuid")
public func omenKeyFromUUID(_ bytes: UnsafePointer<UInt8>?) -> UInt64 {
    guard let bytes else { return 0 }
    return NormalizedKey.encode(uuid: UnsafeRawBufferPointer(start: bytes, count: 16))
}

@_cdecl("omen_key_type_is_lossy")
public func omenKeyTypeIsLossy(_ keyType: omen_key_type) -> Bool {
    KeyType(keyType)?.isLossy ?? false
}

@_cdecl("omen_key_to_int64")
public func omenKeyToInt64(_ key: UInt64) -> Int64 { NormalizedKey.decodeInt64(key) }

@_cdecl("omen_key_to_float8")
public func omenKeyToFloat8(_ key: UInt64) -> UInt64 { NormalizedKey.decodeDoubleBits(key) }

@_cdecl("omen_key_to_float4")
public func omenKeyToFloat4(_ key: UInt64, _ bits: UnsafeMutablePointer<UInt32>?) -> Bool {
    guard let bits, let value = NormalizedKey.decodeFloatBits(key) else { return false }
    bits.pointee = value
    return true
}

@_cdecl("omen_float_key_equal_range")
public func omenFloatKeyEqualRange(_ key: UInt64, _ lo: UnsafeMutablePointer<UInt64>?, _ hi: UnsafeMutablePointer<UInt64>?) {
    let range = NormalizedKey.equalRange(ofFloatKey: key)
    lo?.pointee = range.lowerBound
    hi?.pointee = range.upperBound
}

@_cdecl("omen_builder_create")
public func omenBuilderCreate(
    _ kind: omen_model_kind, _ param: UInt64, _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> omen_status {
    guard let out else { return OMEN_ERR_INVALID_ARGUMENT }
    out.pointee = nil
    let modelKind: ModelKind
    switch kind {
    case OMEN_MODEL_PGM:
        guard param <= UInt64(PiecewiseLinearModel.maximumEpsilon) else { return OMEN_ERR_INVALID_ARGUMENT }
        modelKind = .piecewiseLinear(epsilon: Int(param))
    case OMEN_MODEL_RMI:
        guard param <= UInt64(RecursiveModelIndex.maximumLeaves) else { return OMEN_ERR_INVALID_ARGUMENT }
        modelKind = .recursive(leaves: Int(param))
    case OMEN_MODEL_LINEAR:
        modelKind = .linear
    default:
        return OMEN_ERR_INVALID_ARGUMENT
    }
    do {
        let box = BuilderBox(try ModelBuilder(kind: modelKind))
        out.pointee = OpaquePointer(Unmanaged.passRetained(box).toOpaque())
        return OMEN_OK
    } catch {
        return omen_status(error)
    }
}

@_cdecl("omen_builder_resume")
public func omenBuilderResume(
    _ handle: OpaquePointer?, _ count: UInt64, _ lastKey: UInt64, _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> omen_status {
    guard let out else { return OMEN_ERR_INVALID_ARGUMENT }
    out.pointee = nil
    guard let box = model(handle), count <= UInt64(Int.max) else { return OMEN_ERR_INVALID_ARGUMENT }
    do {
        let builder = BuilderBox(try ModelBuilder(resuming: box.model, count: Int(count), lastKey: lastKey))
        out.pointee = OpaquePointer(Unmanaged.passRetained(builder).toOpaque())
        return OMEN_OK
    } catch {
        return omen_status(error)
    }
}

@_cdecl("omen_builder_add")
public func omenBuilderAdd(_ handle: OpaquePointer?, _ keys: UnsafePointer<UInt64>?, _ count: UInt) -> omen_status {
    guard let handle, count <= UInt(Int.max) else { return OMEN_ERR_INVALID_ARGUMENT }
    let box = Unmanaged<BuilderBox>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
    guard count > 0 else { return OMEN_OK }
    guard let keys, var builder = box.builder else { return OMEN_ERR_INVALID_ARGUMENT }
    box.builder = nil
    do {
        try builder.add(UnsafeBufferPointer(start: keys, count: Int(count)))
        box.builder = builder
        return OMEN_OK
    } catch {
        return omen_status(error)
    }
}

@_cdecl("omen_builder_next_pass")
public func omenBuilderNextPass(_ handle: OpaquePointer?, _ more: UnsafeMutablePointer<Int32>?) -> omen_status {
    guard let handle, let more else { return OMEN_ERR_INVALID_ARGUMENT }
    more.pointee = 0
    let box = Unmanaged<BuilderBox>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
    guard var builder = box.builder else { return OMEN_ERR_INVALID_ARGUMENT }
    box.builder = nil
    do {
        more.pointee = try builder.nextPass() ? 1 : 0
        box.builder = builder
        return OMEN_OK
    } catch {
        return omen_status(error)
    }
}

@_cdecl("omen_builder_finish")
public func omenBuilderFinish(_ handle: OpaquePointer?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> omen_status {
    guard let handle else { return OMEN_ERR_INVALID_ARGUMENT }
    let box = Unmanaged<BuilderBox>.fromOpaque(UnsafeRawPointer(handle)).takeRetainedValue()
    guard let out, let builder = box.builder else { return OMEN_ERR_INVALID_ARGUMENT }
    out.pointee = nil
    box.builder = nil
    do {
        let model = ModelBox(try builder.finish())
        out.pointee = OpaquePointer(Unmanaged.passRetained(model).toOpaque())
        return OMEN_OK
    } catch {
        return omen_status(error)
    }
}

@_cdecl("omen_builder_free")
public func omenBuilderFree(_ handle: OpaquePointer?) {
    guard let handle else { return }
    Unmanaged<BuilderBox>.fromOpaque(UnsafeRawPointer(handle)).release()
}

final class HeapBuilderBox {
    var builder: HeapOrderBuilder?
    init(_ builder: HeapOrderBuilder) { self.builder = builder }
}

private func heapBuilder(_ handle: OpaquePointer?) -> HeapBuilderBox? {
    guard let handle else { return nil }
    return Unmanaged<HeapBuilderBox>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
}

@_cdecl("omen_heap_builder_create")
public func omenHeapBuilderCreate(
    _ epsilon: UInt64, _ lookahead: UInt32, _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> omen_status {
    guard let out else { return OMEN_ERR_INVALID_ARGUMENT }
    out.pointee = nil
    guard epsilon <= UInt64(PiecewiseLinearModel.maximumEpsilon) else { return OMEN_ERR_INVALID_ARGUMENT }
    do {
        let box = HeapBuilderBox(try HeapOrderBuilder(epsilon: Int(epsilon), lookahead: Int(lookahead)))
        out.pointee = OpaquePointer(Unmanaged.passRetained(box).toOpaque())
        return OMEN_OK
    } catch {
        return omen_status(error)
    }
}

@_cdecl("omen_heap_builder_resume")
public func omenHeapBuilderResume(
    _ handle: OpaquePointer?, _ lastKey: UInt64, _ lookahead: UInt32, _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> omen_status {
    guard let out else { return OMEN_ERR_INVALID_ARGUMENT }
    out.pointee = nil
    guard let box = model(handle), case .piecewiseLinear(let resumed) = box.model else {
        return OMEN_ERR_INVALID_ARGUMENT
    }
    do {
        let builder = try HeapOrderBuilder(resuming: resumed, lastKey: lastKey, lookahead: Int(lookahead))
        out.pointee = OpaquePointer(Unmanaged.passRetained(HeapBuilderBox(builder)).toOpaque())
        return OMEN_OK
    } catch {
        return omen_status(error)
    }
}

@_cdecl("omen_heap_builder_add")
public func omenHeapBuilderAdd(
    _ handle: OpaquePointer?, _ keys: UnsafePointer<UInt64>?, _ positions: UnsafePointer<UInt64>?, _ count: UInt,
    _ explicitKeys: UnsafeMutablePointer<UInt64>?, _ explicitPositions: UnsafeMutablePointer<UInt64>?,
    _ nexplicit: UnsafeMutablePointer<UInt>?
) -> omen_status {
    guard let box = heapBuilder(handle), box.builder != nil, let nexplicit else { return OMEN_ERR_INVALID_ARGUMENT }
    nexplicit.pointee = 0
    guard count > 0 else { return OMEN_OK }
    guard let keys, let positions, let explicitKeys, let explicitPositions, count <= UInt(Int.max) else {
        return OMEN_ERR_INVALID_ARGUMENT
    }
    // Taken out for the batch, so its ring and model stay uniquely referenced and no row pays for an
    // access to the box.
    var builder = box.builder!
    box.builder = nil
    var found = 0
    do {
        for i in 0..<Int(count) {
            guard positions[i] <= UInt64(Int.max) else {
                box.builder = builder
                nexplicit.pointee = UInt(found)
                return OMEN_ERR_INVALID_ARGUMENT
            }
            if let verdict = try builder.add(key: keys[i], position: Int(positions[i])), !verdict.covered {
                explicitKeys[found] = verdict.key
                explicitPositions[found] = UInt64(verdict.position)
                found += 1
            }
        }
        box.builder = builder
        nexplicit.pointee = UInt(found)
        return OMEN_OK
    } catch {
        nexplicit.pointee = UInt(found)
        return omen_status(error)
    }
}

@_cdecl("omen_heap_builder_drain")
public func omenHeapBuilderDrain(
    _ handle: OpaquePointer?, _ explicitKeys: UnsafeMutablePointer<UInt64>?,
    _ explicitPositions: UnsafeMutablePointer<UInt64>?, _ capacity: UInt, _ nexplicit: UnsafeMutablePointer<UInt>?
) -> omen_status {
    guard let box = heapBuilder(handle), let lookahead = box.builder?.lookahead, let nexplicit else {
        return OMEN_ERR_INVALID_ARGUMENT
    }
    nexplicit.pointee = 0
    guard let explicitKeys, let explicitPositions, capacity >= UInt(lookahead) + 1 else { return OMEN_ERR_INVALID_ARGUMENT }
    var found = 0
    do {
        while let verdict = try box.builder!.drain() {
            if !verdict.covered {
                explicitKeys[found] = verdict.key
                explicitPositions[found] = UInt64(verdict.position)
                found += 1
            }
        }
        nexplicit.pointee = UInt(found)
        return OMEN_OK
    } catch {
        box.builder = nil
        return omen_status(error)
    }
}

@_cdecl("omen_heap_builder_covered")
public func omenHeapBuilderCovered(_ handle: OpaquePointer?) -> UInt64 {
    UInt64(heapBuilder(handle)?.builder?.coveredCount ?? 0)
}

@_cdecl("omen_heap_builder_last_key")
public func omenHeapBuilderLastKey(_ handle: OpaquePointer?) -> UInt64 {
    heapBuilder(handle)?.builder?.lastCoveredKey ?? 0
}

@_cdecl("omen_heap_builder_finish")
public func omenHeapBuilderFinish(_ handle: OpaquePointer?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> omen_status {
    guard let handle else { return OMEN_ERR_INVALID_ARGUMENT }
    let box = Unmanaged<HeapBuilderBox>.fromOpaque(UnsafeRawPointer(handle)).takeRetainedValue()
    guard let out, let builder = box.builder else { return OMEN_ERR_INVALID_ARGUMENT }
    out.pointee = nil
    box.builder = nil
    do {
        let model = ModelBox(.piecewiseLinear(try builder.finish()))
        out.pointee = OpaquePointer(Unmanaged.passRetained(model).toOpaque())
        return OMEN_OK
    } catch {
        return omen_status(error)
    }
}

@_cdecl("omen_heap_builder_free")
public func omenHeapBuilderFree(_ handle: OpaquePointer?) {
    guard let handle else { return }
    Unmanaged<HeapBuilderBox>.fromOpaque(UnsafeRawPointer(handle)).release()
}

@_cdecl("omen_model_window")
public func omenModelWindow(
    _ handle: OpaquePointer?, _ key: UInt64, _ lo: UnsafeMutablePointer<UInt64>?, _ hi: UnsafeMutablePointer<UInt64>?
) -> omen_status {
    guard let box = model(handle), let lo, let hi else { return OMEN_ERR_INVALID_ARGUMENT }
    let window = box.model.window(for: key)
    lo.pointee = UInt64(window.lo)
    hi.pointee = UInt64(window.hi)
    return OMEN_OK
}

@_cdecl("omen_model_lower_bound")
public func omenModelLowerBound(
    _ handle: OpaquePointer?, _ keys: UnsafePointer<UInt64>?, _ count: UInt, _ key: UInt64,
    _ position: UnsafeMutablePointer<UInt>?
) -> omen_status {
    guard let box = model(handle), let keys, let position, count == UInt(box.model.keyCount) else {
        return OMEN_ERR_INVALID_ARGUMENT
    }
    position.pointee = UInt(box.model.lowerBound(of: key, in: UnsafeBufferPointer(start: keys, count: Int(count))))
    return OMEN_OK
}

@_cdecl("omen_model_kind_of")
public func omenModelKind(_ handle: OpaquePointer?) -> omen_model_kind {
    switch model(handle)?.model {
    case .piecewiseLinear: OMEN_MODEL_PGM
    case .recursive: OMEN_MODEL_RMI
    case .linear: OMEN_MODEL_LINEAR
    case nil: OMEN_MODEL_NONE
    }
}

@_cdecl("omen_model_param")
public func omenModelParam(_ handle: OpaquePointer?) -> UInt64 {
    switch model(handle)?.model.kind {
    case .piecewiseLinear(let epsilon): UInt64(epsilon)
    case .recursive(let leaves): UInt64(leaves)
    case .linear, nil: 0
    }
}

@_cdecl("omen_model_key_count")
public func omenModelKeyCount(_ handle: OpaquePointer?) -> UInt64 {
    UInt64(model(handle)?.model.keyCount ?? 0)
}

@_cdecl("omen_model_segment_count")
public func omenModelSegmentCount(_ handle: OpaquePointer?) -> UInt64 {
    switch model(handle)?.model {
    case .piecewiseLinear(let pgm): UInt64(pgm.segmentCount)
    case .recursive(let rmi): UInt64(rmi.leafCount)
    case .linear: 1
    case nil: 0
    }
}

@_cdecl("omen_model_byte_count")
public func omenModelByteCount(_ handle: OpaquePointer?) -> UInt64 {
    UInt64(model(handle)?.model.byteCount ?? 0)
}

@_cdecl("omen_model_max_window")
public func omenModelMaxWindow(_ handle: OpaquePointer?) -> UInt64 {
    UInt64(model(handle)?.model.maximumWindow ?? 0)
}

@_cdecl("omen_pgm_max_keys")
public func omenPGMMaxKeys() -> UInt64 {
    UInt64(PiecewiseLinearModel.maximumKeyCount)
}

@_cdecl("omen_model_segment")
public func omenModelSegment(
    _ handle: OpaquePointer?, _ index: UInt64, _ firstKey: UnsafeMutablePointer<UInt64>?,
    _ slope: UnsafeMutablePointer<Double>?, _ intercept: UnsafeMutablePointer<Double>?
) -> omen_status {
    guard let box = model(handle), let firstKey, let slope, let intercept, index <= UInt64(Int.max) else {
        return OMEN_ERR_INVALID_ARGUMENT
    }
    let line: LinearFunction
    switch box.model {
    case .piecewiseLinear(let pgm):
        guard let segment = pgm.segment(Int(index)) else { return OMEN_ERR_INVALID_ARGUMENT }
        line = segment.line.function(origin: segment.firstKey)
    case .recursive(let rmi):
        guard let leaf = rmi.leaf(Int(index)) else { return OMEN_ERR_INVALID_ARGUMENT }
        line = leaf
    case .linear(let linear):
        guard index == 0 else { return OMEN_ERR_INVALID_ARGUMENT }
        line = linear.function
    }
    firstKey.pointee = line.origin
    slope.pointee = line.slope
    intercept.pointee = line.intercept
    return OMEN_OK
}

@_cdecl("omen_model_serialize")
public func omenModelSerialize(
    _ handle: OpaquePointer?, _ buffer: UnsafeMutablePointer<UInt8>?, _ capacity: UInt,
    _ written: UnsafeMutablePointer<UInt>?
) -> omen_status {
    guard let box = model(handle), let written else { return OMEN_ERR_INVALID_ARGUMENT }
    let bytes = box.bytes ?? box.model.serialized()
    box.bytes = bytes
    written.pointee = UInt(bytes.count)
    guard let buffer, capacity >= UInt(bytes.count) else { return OMEN_ERR_BUFFER_TOO_SMALL }
    bytes.withUnsafeBufferPointer { source in
        if let base = source.baseAddress { buffer.update(from: base, count: source.count) }
    }
    return OMEN_OK
}

@_cdecl("omen_model_load")
public func omenModelLoad(
    _ buffer: UnsafePointer<UInt8>?, _ length: UInt, _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> omen_status {
    var consumed: UInt = 0
    return omenModelLoadPrefix(buffer, length, out, &consumed)
}

@_cdecl("omen_model_load_prefix")
public func omenModelLoadPrefix(
    _ buffer: UnsafePointer<UInt8>?, _ length: UInt, _ out: UnsafeMutablePointer<OpaquePointer?>?,
    _ consumed: UnsafeMutablePointer<UInt>?
) -> omen_status {
    guard let out, let consumed, length <= UInt(Int.max), buffer != nil || length == 0 else {
        return OMEN_ERR_INVALID_ARGUMENT
    }
    out.pointee = nil
    consumed.pointee = 0
    do {
        let decoded = try LearnedModel.decode(UnsafeRawBufferPointer(start: buffer, count: Int(length)))
        out.pointee = OpaquePointer(Unmanaged.passRetained(ModelBox(decoded.model)).toOpaque())
        consumed.pointee = UInt(decoded.size)
        return OMEN_OK
    } catch {
        return omen_status(error)
    }
}

@_cdecl("omen_model_free")
public func omenModelFree(_ handle: OpaquePointer?) {
    guard let handle else { return }
    Unmanaged<ModelBox>.fromOpaque(UnsafeRawPointer(handle)).release()
}
