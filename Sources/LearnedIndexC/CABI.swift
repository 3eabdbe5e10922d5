import LearnedIndex

// The C ABI declared in include/omendb_learned.h. Every entry point checks its pointers, catches every
// typed error and returns a status code: nothing here may trap, because it runs inside PostgreSQL.

/// Status codes, as numbered in the header.
enum Status: Int32 {
    case ok = 0, empty, unsorted, invalidArgument, truncated, badMagic, version, checksum, corrupt, bufferTooSmall

    init(_ error: LearnedIndexError) {
        switch error {
        case .emptyKeySet: self = .empty
        case .unsortedKeys: self = .unsorted
        case .invalidArgument: self = .invalidArgument
        case .truncated: self = .truncated
        case .badMagic: self = .badMagic
        case .unsupportedVersion: self = .version
        case .checksumMismatch: self = .checksum
        case .corrupt: self = .corrupt
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
public func omenKeyTypeIsLossy(_ keyType: Int32) -> Bool {
    UInt8(exactly: keyType).flatMap(KeyType.init(rawValue:))?.isLossy ?? false
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
public func omenBuilderCreate(_ kind: Int32, _ param: UInt64, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guard let out else { return Status.invalidArgument.rawValue }
    out.pointee = nil
    let modelKind: ModelKind
    switch kind {
    case 1:
        guard param <= UInt64(PiecewiseLinearModel.maximumEpsilon) else { return Status.invalidArgument.rawValue }
        modelKind = .piecewiseLinear(epsilon: Int(param))
    case 2:
        guard param <= UInt64(RecursiveModelIndex.maximumLeaves) else { return Status.invalidArgument.rawValue }
        modelKind = .recursive(leaves: Int(param))
    case 3:
        modelKind = .linear
    default:
        return Status.invalidArgument.rawValue
    }
    do {
        let box = BuilderBox(try ModelBuilder(kind: modelKind))
        out.pointee = OpaquePointer(Unmanaged.passRetained(box).toOpaque())
        return Status.ok.rawValue
    } catch {
        return Status(error).rawValue
    }
}

@_cdecl("omen_builder_resume")
public func omenBuilderResume(
    _ handle: OpaquePointer?, _ count: UInt64, _ lastKey: UInt64, _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> Int32 {
    guard let out else { return Status.invalidArgument.rawValue }
    out.pointee = nil
    guard let box = model(handle), count <= UInt64(Int.max) else { return Status.invalidArgument.rawValue }
    do {
        let builder = BuilderBox(try ModelBuilder(resuming: box.model, count: Int(count), lastKey: lastKey))
        out.pointee = OpaquePointer(Unmanaged.passRetained(builder).toOpaque())
        return Status.ok.rawValue
    } catch {
        return Status(error).rawValue
    }
}

@_cdecl("omen_builder_add")
public func omenBuilderAdd(_ handle: OpaquePointer?, _ keys: UnsafePointer<UInt64>?, _ count: UInt) -> Int32 {
    guard let handle, count <= UInt(Int.max) else { return Status.invalidArgument.rawValue }
    let box = Unmanaged<BuilderBox>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
    guard count > 0 else { return Status.ok.rawValue }
    guard let keys, var builder = box.builder else { return Status.invalidArgument.rawValue }
    box.builder = nil
    do {
        try builder.add(UnsafeBufferPointer(start: keys, count: Int(count)))
        box.builder = builder
        return Status.ok.rawValue
    } catch {
        return Status(error).rawValue
    }
}

@_cdecl("omen_builder_next_pass")
public func omenBuilderNextPass(_ handle: OpaquePointer?, _ more: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let handle, let more else { return Status.invalidArgument.rawValue }
    more.pointee = 0
    let box = Unmanaged<BuilderBox>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
    guard var builder = box.builder else { return Status.invalidArgument.rawValue }
    box.builder = nil
    do {
        more.pointee = try builder.nextPass() ? 1 : 0
        box.builder = builder
        return Status.ok.rawValue
    } catch {
        return Status(error).rawValue
    }
}

@_cdecl("omen_builder_finish")
public func omenBuilderFinish(_ handle: OpaquePointer?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guard let handle else { return Status.invalidArgument.rawValue }
    let box = Unmanaged<BuilderBox>.fromOpaque(UnsafeRawPointer(handle)).takeRetainedValue()
    guard let out, let builder = box.builder else { return Status.invalidArgument.rawValue }
    out.pointee = nil
    box.builder = nil
    do {
        let model = ModelBox(try builder.finish())
        out.pointee = OpaquePointer(Unmanaged.passRetained(model).toOpaque())
        return Status.ok.rawValue
    } catch {
        return Status(error).rawValue
    }
}

@_cdecl("omen_builder_free")
public func omenBuilderFree(_ handle: OpaquePointer?) {
    guard let handle else { return }
    Unmanaged<BuilderBox>.fromOpaque(UnsafeRawPointer(handle)).release()
}

@_cdecl("omen_model_window")
public func omenModelWindow(
    _ handle: OpaquePointer?, _ key: UInt64, _ lo: UnsafeMutablePointer<UInt64>?, _ hi: UnsafeMutablePointer<UInt64>?
) -> Int32 {
    guard let box = model(handle), let lo, let hi else { return Status.invalidArgument.rawValue }
    let window = box.model.window(for: key)
    lo.pointee = UInt64(window.lo)
    hi.pointee = UInt64(window.hi)
    return Status.ok.rawValue
}

@_cdecl("omen_model_lower_bound")
public func omenModelLowerBound(
    _ handle: OpaquePointer?, _ keys: UnsafePointer<UInt64>?, _ count: UInt, _ key: UInt64,
    _ position: UnsafeMutablePointer<UInt>?
) -> Int32 {
    guard let box = model(handle), let keys, let position, count == UInt(box.model.keyCount) else {
        return Status.invalidArgument.rawValue
    }
    position.pointee = UInt(box.model.lowerBound(of: key, in: UnsafeBufferPointer(start: keys, count: Int(count))))
    return Status.ok.rawValue
}

@_cdecl("omen_model_kind_of")
public func omenModelKind(_ handle: OpaquePointer?) -> Int32 {
    switch model(handle)?.model {
    case .piecewiseLinear: 1
    case .recursive: 2
    case .linear: 3
    case nil: 0
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
) -> Int32 {
    guard let box = model(handle), let firstKey, let slope, let intercept, index <= UInt64(Int.max) else {
        return Status.invalidArgument.rawValue
    }
    let line: LinearFunction
    switch box.model {
    case .piecewiseLinear(let pgm):
        guard let segment = pgm.segment(Int(index)) else { return Status.invalidArgument.rawValue }
        line = segment.line.function(origin: segment.firstKey)
    case .recursive(let rmi):
        guard let leaf = rmi.leaf(Int(index)) else { return Status.invalidArgument.rawValue }
        line = leaf
    case .linear(let linear):
        guard index == 0 else { return Status.invalidArgument.rawValue }
        line = linear.function
    }
    firstKey.pointee = line.origin
    slope.pointee = line.slope
    intercept.pointee = line.intercept
    return Status.ok.rawValue
}

@_cdecl("omen_model_serialize")
public func omenModelSerialize(
    _ handle: OpaquePointer?, _ buffer: UnsafeMutablePointer<UInt8>?, _ capacity: UInt,
    _ written: UnsafeMutablePointer<UInt>?
) -> Int32 {
    guard let box = model(handle), let written else { return Status.invalidArgument.rawValue }
    let bytes = box.bytes ?? box.model.serialized()
    box.bytes = bytes
    written.pointee = UInt(bytes.count)
    guard let buffer, capacity >= UInt(bytes.count) else { return Status.bufferTooSmall.rawValue }
    bytes.withUnsafeBufferPointer { source in
        if let base = source.baseAddress { buffer.update(from: base, count: source.count) }
    }
    return Status.ok.rawValue
}

@_cdecl("omen_model_load")
public func omenModelLoad(
    _ buffer: UnsafePointer<UInt8>?, _ length: UInt, _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> Int32 {
    guard let out, length <= UInt(Int.max), buffer != nil || length == 0 else { return Status.invalidArgument.rawValue }
    out.pointee = nil
    do {
        let bytes = UnsafeRawBufferPointer(start: buffer, count: Int(length))
        let box = ModelBox(try LearnedModel(deserializing: bytes))
        out.pointee = OpaquePointer(Unmanaged.passRetained(box).toOpaque())
        return Status.ok.rawValue
    } catch {
        return Status(error).rawValue
    }
}

@_cdecl("omen_model_free")
public func omenModelFree(_ handle: OpaquePointer?) {
    guard let handle else { return }
    Unmanaged<ModelBox>.fromOpaque(UnsafeRawPointer(handle)).release()
}
