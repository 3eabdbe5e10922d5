import NIOCore

/// A message from the client, protocol 3.0. The first message of a connection has no type byte.
enum FrontendMessage: Sendable {
    case startup(parameters: [String: String])
    case sslRequest
    case gssRequest
    case cancel(processID: Int32, secret: Int32)
    case query(String)
    case parse(name: String, query: String, parameterTypes: [Int32])
    case bind(portal: String, statement: String, parameterFormats: [Int16], parameters: [ByteBuffer?], resultFormats: [Int16])
    case describe(kind: UInt8, name: String)
    case execute(portal: String, maxRows: Int32)
    case close(kind: UInt8, name: String)
    case sync
    case flush
    case terminate
    case copyData(ByteBuffer)
    case copyDone
    case copyFail(String)
    /// A password or SASL message; what it holds depends on the authentication under way.
    case password(ByteBuffer)
}

/// Why a message could not be read: PostgreSQL's 08P01 (protocol_violation), or 54000 for a message past
/// the size limit. The connection is closed after the error is sent.
struct ProtocolError: Error, Sendable {
    var code = "08P01"
    var message: String
}

/// Splits the byte stream into frontend messages. Lengths are checked before a byte of the body is
/// trusted: a length below 4, past `maxMessageSize`, or a body that does not parse ends the connection.
struct FrontendDecoder: ByteToMessageDecoder {
    typealias InboundOut = FrontendMessage

    /// Until the startup message (or an SSL or GSS request answered 'N') the messages have no type byte.
    var awaitingStartup = true
    let maxMessageSize: Int

    init(maxMessageSize: Int) { self.maxMessageSize = maxMessageSize }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let headerSize = awaitingStartup ? 4 : 5
        guard buffer.readableBytes >= headerSize else { return .needMoreData }
        let start = buffer.readerIndex
        let type: UInt8? = awaitingStartup ? nil : buffer.getInteger(at: start, as: UInt8.self)
        let length = Int(buffer.getInteger(at: start + headerSize - 4, as: Int32.self)!)
        guard length >= 4 else { throw ProtocolError(message: "invalid message length \(length)") }
        guard length <= maxMessageSize else {
            throw ProtocolError(code: "54000", message: "message of \(length) bytes exceeds the limit of \(maxMessageSize)")
        }
        guard buffer.readableBytes >= headerSize - 4 + length else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: headerSize)
        var body = buffer.readSlice(length: length - 4)!
        let message = try type.map { try Self.typed($0, &body) } ?? startup(&body)
        guard body.readableBytes == 0 else { throw ProtocolError(message: "invalid message format") }
        context.fireChannelRead(wrapInboundOut(message))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }

    private mutating func startup(_ body: inout ByteBuffer) throws -> FrontendMessage {
        let code = try body.int32()
        switch code {
        case 80_877_103: return .sslRequest
        case 80_877_104: return .gssRequest
        case 80_877_102: return .cancel(processID: try body.int32(), secret: try body.int32())
        case 196_608:
            var parameters: [String: String] = [:]
            while true {
                let name = try body.cString()
                if name.isEmpty { break }
                parameters[name] = try body.cString()
            }
            awaitingStartup = false
            return .startup(parameters: parameters)
        default:
            throw ProtocolError(code: "0A000", message: "unsupported frontend protocol \(code >> 16).\(code & 0xFFFF): server supports 3.0")
        }
    }

    private static func typed(_ type: UInt8, _ body: inout ByteBuffer) throws -> FrontendMessage {
        switch type {
        case UInt8(ascii: "Q"): return .query(try body.cString())
        case UInt8(ascii: "P"):
            let name = try body.cString()
            let query = try body.cString()
            let count = try body.count16()
            return .parse(name: name, query: query, parameterTypes: try (0..<count).map { _ in try body.int32() })
        case UInt8(ascii: "B"):
            let portal = try body.cString()
            let statement = try body.cString()
            let formats = try (0..<body.count16()).map { _ in try body.int16() }
            let parameters = try (0..<body.count16()).map { _ -> ByteBuffer? in
                let length = try body.int32()
                if length == -1 { return nil }
                guard length >= 0, let value = body.readSlice(length: Int(length)) else { throw ProtocolError(message: "invalid parameter length") }
                return value
            }
            let resultFormats = try (0..<body.count16()).map { _ in try body.int16() }
            return .bind(portal: portal, statement: statement, parameterFormats: formats, parameters: parameters, resultFormats: resultFormats)
        case UInt8(ascii: "D"): return .describe(kind: try body.byte(), name: try body.cString())
        case UInt8(ascii: "E"): return .execute(portal: try body.cString(), maxRows: try body.int32())
        case UInt8(ascii: "C"): return .close(kind: try body.byte(), name: try body.cString())
        case UInt8(ascii: "S"): return .sync
        case UInt8(ascii: "H"): return .flush
        case UInt8(ascii: "X"): return .terminate
        case UInt8(ascii: "d"):
            let data = body
            body.moveReaderIndex(to: body.writerIndex)
            return .copyData(data)
        case UInt8(ascii: "c"): return .copyDone
        case UInt8(ascii: "f"): return .copyFail(try body.cString())
        case UInt8(ascii: "p"):
            let data = body
            body.moveReaderIndex(to: body.writerIndex)
            return .password(data)
        default:
            throw ProtocolError(message: "invalid frontend message type \(type)")
        }
    }
}

extension ByteBuffer {
    mutating func int32() throws -> Int32 {
        guard let value = readInteger(as: Int32.self) else { throw ProtocolError(message: "message too short") }
        return value
    }

    mutating func int16() throws -> Int16 {
        guard let value = readInteger(as: Int16.self) else { throw ProtocolError(message: "message too short") }
        return value
    }

    mutating func byte() throws -> UInt8 {
        guard let value = readInteger(as: UInt8.self) else { throw ProtocolError(message: "message too short") }
        return value
    }

    /// An Int16 count, which must not be negative.
    mutating func count16() throws -> Int {
        let count = Int(try int16())
        guard count >= 0 else { throw ProtocolError(message: "invalid count \(count)") }
        return count
    }

    /// A NUL-terminated UTF-8 string.
    mutating func cString() throws -> String {
        guard let end = readableBytesView.firstIndex(of: 0) else { throw ProtocolError(message: "unterminated string") }
        guard let string = String(validating: readableBytesView[readableBytesView.startIndex..<end], as: UTF8.self) else {
            throw ProtocolError(code: "22021", message: "invalid byte sequence for encoding \"UTF8\"")
        }
        moveReaderIndex(forwardBy: end - readerIndex + 1)
        return string
    }

    mutating func writeCString(_ string: String) {
        writeString(string)
        writeInteger(UInt8(0))
    }

    /// Writes one backend message: its type, a length that `body` fills in, and the body.
    mutating func writeMessage(_ type: UInt8, _ body: (inout ByteBuffer) -> Void) {
        writeInteger(type)
        let lengthAt = writerIndex
        writeInteger(Int32(0))
        body(&self)
        setInteger(Int32(writerIndex - lengthAt), at: lengthAt)
    }
}
