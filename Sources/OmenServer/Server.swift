import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import OmenEngine

/// The bounds a server keeps to.
public struct ServerLimits: Sendable {
    /// Connections past this many are refused with 53300, as PostgreSQL's max_connections.
    public var maxConnections = 100
    /// The largest message a client may send, the most COPY data one statement takes, and the most
    /// bytes of rows one statement returns (54000 past it).
    public var statementMemory = 256 << 20
    /// A connection idle this long (between statements, in a transaction or not) is closed with 57P05;
    /// nil: never.
    public var idleTimeout: TimeAmount?

    public init() {}
}

/// PostgreSQL's wire protocol (3.0) in front of one database: each connection an SQL session with its own
/// transactions. I/O runs on event loops; statements run on a pool of threads, one at a time per
/// connection, so that a long statement never holds up another connection's I/O (nor a CancelRequest).
public final class WireServer: Sendable {
    public let database: Database
    let limits: ServerLimits
    /// With a password file, every connection authenticates by SCRAM-SHA-256; without, all are trusted.
    let passwords: PasswordFile?
    /// With a certificate, SSLRequest is answered 'S' and the connection goes on in TLS.
    let tls: NIOSSLContext?
    private let group: MultiThreadedEventLoopGroup
    private let pool: NIOThreadPool
    private let state = NIOLockedValueBox(State())
    private let channel: NIOLockedValueBox<Channel?> = NIOLockedValueBox(nil)

    struct State {
        var nextProcessID: Int32 = 1
        /// Each live connection's cancel key and session's cancellation, by process ID.
        var connections: [Int32: (secret: Int32, cancellation: Cancellation, handler: ConnectionHandler)] = [:]
        var shuttingDown = false
        var count = 0
    }

    /// `threads`: the statement threads; many, since a statement that commits holds its thread while the
    /// log's fsync runs.
    public init(database: Database, limits: ServerLimits = ServerLimits(), passwords: PasswordFile? = nil, tls: NIOSSLContext? = nil,
                threads: Int = System.coreCount * 16) {
        self.database = database
        self.limits = limits
        self.passwords = passwords
        self.tls = tls
        group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        pool = NIOThreadPool(numberOfThreads: max(2, threads))
    }

    /// Listens on `host`:`port` (0: any free port) and returns the port bound.
    public func start(host: String, port: Int) throws -> Int {
        pool.start()
        let limits = limits
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    if let timeout = limits.idleTimeout {
                        try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: timeout))
                    }
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrontendDecoder(maxMessageSize: limits.statementMemory)))
                    try channel.pipeline.syncOperations.addHandler(ConnectionHandler(server: self, eventLoop: channel.eventLoop))
                }
            }
        let bound = try bootstrap.bind(host: host, port: port).wait()
        channel.withLockedValue { $0 = bound }
        return bound.localAddress?.port ?? port
    }

    /// Blocks until the server has shut down.
    public func wait() throws {
        try channel.withLockedValue { $0 }?.closeFuture.wait()
        while state.withLockedValue({ $0.count }) > 0 { usleep(10_000) }
        try pool.syncShutdownGracefully()
        try group.syncShutdownGracefully()
    }

    /// Stops listening and ends every connection: a statement running finishes, then its connection
    /// gets 57P01 and closes; open transactions roll back. Safe from any thread.
    public func shutdown() {
        let handlers = state.withLockedValue { state -> [ConnectionHandler] in
            state.shuttingDown = true
            return state.connections.values.map(\.handler)
        }
        channel.withLockedValue { $0 }?.close(promise: nil)
        for handler in handlers { handler.terminate() }
    }

    // MARK: Connections (called by ConnectionHandler)

    /// Registers a new connection; nil when the server is full or shutting down (with the error to send).
    func register(_ handler: ConnectionHandler, cancellation: Cancellation) -> Result<(Int32, Int32), SQLError> {
        state.withLockedValue { state in
            if state.shuttingDown { return .failure(SQLError("57P03", "the database system is shutting down")) }
            if state.connections.count >= limits.maxConnections { return .failure(SQLError("53300", "sorry, too many clients already")) }
            let processID = state.nextProcessID
            state.nextProcessID &+= 1
            let secret = Int32.random(in: .min ... .max)
            state.connections[processID] = (secret, cancellation, handler)
            return .success((processID, secret))
        }
    }

    func opened() { state.withLockedValue { $0.count += 1 } }

    func closed(_ processID: Int32?) {
        state.withLockedValue { state in
            if let processID { state.connections[processID] = nil }
            state.count -= 1
        }
    }

    /// A CancelRequest: cancels the statement of the connection with this key, if any (no answer either way).
    func cancel(processID: Int32, secret: Int32) {
        let target = state.withLockedValue { $0.connections[processID] }
        if let target, target.secret == secret { target.cancellation.request() }
    }

    /// Runs `work` on the statement threads and hands its result to the connection's event loop.
    func run<T: Sendable>(on loop: EventLoop, _ work: @escaping @Sendable () -> T) -> EventLoopFuture<T> {
        pool.runIfActive(eventLoop: loop, work)
    }
}

/// One connection: startup, then the messages passed to its Backend in batches.
final class ConnectionHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = FrontendMessage
    typealias OutboundOut = ByteBuffer

    private let server: WireServer
    /// Touched only on the event loop, except `backend`, which a statement thread uses while `running`.
    private var backend: Backend?
    private var processID: Int32?
    private var secret: Int32 = 0
    /// Whether the connection runs in TLS.
    private var encrypted = false
    private var queue: [FrontendMessage] = []
    private var running = false
    private var terminating = false
    private var context: ChannelHandlerContext?
    private var closed = false
    /// A SCRAM exchange under way: the startup's parameters, the session it will open, and the exchange
    /// (nil until the client's first message).
    private var authenticating: (parameters: [String: String], session: SQLSession, exchange: ScramExchange, started: Bool)?

    /// The connection's event loop, where everything above but `backend` is touched.
    private let eventLoop: EventLoop

    init(server: WireServer, eventLoop: EventLoop) {
        self.server = server
        self.eventLoop = eventLoop
    }

    func channelActive(context: ChannelHandlerContext) {
        self.context = context
        server.opened()
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        finish()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let message = unwrapInboundIn(data)
        guard backend != nil else { return startup(context, message) }
        queue.append(message)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        dispatch()
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        fatal(context, (error as? ProtocolError).map { SQLError($0.code, $0.message) } ?? SQLError("08006", "\(error)"))
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent, !running, backend?.inCopy != true {
            let inTransaction = backend?.session.inTransaction == true
            fatal(context, SQLError(inTransaction ? "25P03" : "57P05", inTransaction
                ? "terminating connection due to idle-in-transaction timeout" : "terminating connection due to idle-session timeout"))
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    static let shutdown = SQLError("57P01", "terminating connection due to administrator command")

    /// Shutdown: close now if idle, else after the running statement.
    func terminate() {
        eventLoop.execute { [self] in
            terminating = true
            if !running, let context { fatal(context, Self.shutdown) }
        }
    }

    private func fatal(_ context: ChannelHandlerContext, _ error: SQLError) {
        var buffer = context.channel.allocator.buffer(capacity: 256)
        buffer.writeMessage(UInt8(ascii: "E")) { Backend.fields(of: error, severity: "FATAL", sql: nil, into: &$0) }
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in bound.value.close(promise: nil) }
    }

    private func startup(_ context: ChannelHandlerContext, _ message: FrontendMessage) {
        switch message {
        case .sslRequest where server.tls != nil && !encrypted:
            // 'S' goes out in the clear; every byte after it, both ways, through TLS.
            var buffer = context.channel.allocator.buffer(capacity: 1)
            buffer.writeInteger(UInt8(ascii: "S"))
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
            do {
                try context.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: server.tls!), position: .first)
                encrypted = true
            } catch {
                context.close(promise: nil)
            }
        case .sslRequest, .gssRequest:
            var buffer = context.channel.allocator.buffer(capacity: 1)
            buffer.writeInteger(UInt8(ascii: "N"))
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        case .cancel(let processID, let secret):
            server.cancel(processID: processID, secret: secret)
            context.close(promise: nil)
        case .startup(let parameters):
            let session = SQLSession(database: server.database)
            switch server.register(self, cancellation: session.cancellation) {
            case .failure(let error): fatal(context, error)
            case .success(let (processID, secret)):
                self.processID = processID
                self.secret = secret
                guard let passwords = server.passwords else { return welcome(context, parameters, session) }
                authenticating = (parameters, session, ScramExchange(verifier: passwords.verifiers[parameters["user"] ?? ""]), false)
                var buffer = context.channel.allocator.buffer(capacity: 32)
                buffer.writeMessage(UInt8(ascii: "R")) { body in
                    body.writeInteger(Int32(10))
                    body.writeCString("SCRAM-SHA-256")
                    body.writeInteger(UInt8(0))
                }
                context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
            }
        case .password(let data) where authenticating != nil:
            var state = authenticating!
            let user = state.parameters["user"] ?? ""
            do {
                var buffer = context.channel.allocator.buffer(capacity: 128)
                if !state.started {
                    let serverFirst = try state.exchange.first(data)
                    state.started = true
                    authenticating = state
                    buffer.writeMessage(UInt8(ascii: "R")) { body in
                        body.writeInteger(Int32(11))
                        body.writeString(serverFirst)
                    }
                    return context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
                }
                let serverFinal = try state.exchange.final(data, user: user)
                authenticating = nil
                buffer.writeMessage(UInt8(ascii: "R")) { body in
                    body.writeInteger(Int32(12))
                    body.writeString(serverFinal)
                }
                context.write(wrapOutboundOut(buffer), promise: nil)
                welcome(context, state.parameters, state.session)
            } catch {
                fatal(context, error)
            }
        default:
            fatal(context, SQLError("08P01", "expected a startup message"))
        }
    }

    /// AuthenticationOk, the parameters, the cancel key and the first ReadyForQuery: the connection is open.
    private func welcome(_ context: ChannelHandlerContext, _ parameters: [String: String], _ session: SQLSession) {
        let backend = Backend(session: session, limits: server.limits, allocator: context.channel.allocator)
        var buffer = context.channel.allocator.buffer(capacity: 512)
        buffer.writeMessage(UInt8(ascii: "R")) { $0.writeInteger(Int32(0)) }
        for (name, value) in ServerSettings.reported {
            let shown = name == "application_name" ? parameters["application_name"] ?? value : value
            buffer.writeMessage(UInt8(ascii: "S")) { body in
                body.writeCString(name)
                body.writeCString(shown)
            }
        }
        buffer.writeMessage(UInt8(ascii: "S")) { body in
            body.writeCString("session_authorization")
            body.writeCString(parameters["user"] ?? "omendb")
        }
        buffer.writeMessage(UInt8(ascii: "K")) { [processID, secret] body in
            body.writeInteger(processID ?? 0)
            body.writeInteger(secret)
        }
        context.write(wrapOutboundOut(buffer), promise: nil)
        backend.readyForQuery()
        context.writeAndFlush(wrapOutboundOut(backend.takeOutput()), promise: nil)
        self.backend = backend
    }

    /// Hands the queued messages to a statement thread, unless one is at work for this connection; quick
    /// ones (point reads, small inserts, BEGIN and COMMIT of prepared statements) run on the event loop.
    private func dispatch() {
        guard !running, !queue.isEmpty, !closed, !terminating, let backend, let context else { return }
        let messages = queue
        queue = []
        running = true
        if backend.isQuick(messages) { return runHere(messages[...]) }
        let box = UncheckedBox(backend)
        let work: @Sendable () -> UncheckedBox<(ByteBuffer, Bool)> = {
            for message in messages {
                box.value.handle(message)
                if box.value.closing { break }
            }
            return UncheckedBox((box.value.takeOutput(), box.value.closing))
        }
        server.run(on: context.eventLoop, work).whenComplete { [self] result in
            switch result {
            case .success(let box): ran(output: box.value.0, closing: box.value.1)
            case .failure: ran(output: nil, closing: true)
            }
        }
    }

    /// Runs quick messages on the event loop, saving two thread wake-ups each. A commit among them does
    /// not block the loop: the messages after it wait while the loop serves other connections, and go on
    /// when the log's flusher thread, which writes and fsyncs for all waiting commits at once, says the
    /// commit is durable.
    private func runHere(_ messages: ArraySlice<FrontendMessage>) {
        guard let backend else { return }
        var rest = messages
        backend.deferringCommits = true
        defer { backend.deferringCommits = false }
        while let message = rest.popFirst() {
            backend.handle(message)
            if backend.closing { break }
            if let pending = backend.pendingCommit?.commit {
                pending.whenDelivered { [self, rest] in
                    eventLoop.execute {
                        if self.closed {
                            self.running = false
                            return self.finish()
                        }
                        self.backend?.resumeAfterCommit()
                        self.runHere(rest)
                    }
                }
                return
            }
        }
        ran(output: backend.takeOutput(), closing: backend.closing)
    }

    /// A batch of messages is done: its answers go out, and the next batch in.
    private func ran(output: ByteBuffer?, closing: Bool) {
        running = false
        if closed { return finish() }
        guard let context else { return }
        if let output, output.readableBytes > 0 { context.writeAndFlush(wrapOutboundOut(output), promise: nil) }
        if closing { return context.close(promise: nil) }
        if terminating { return fatal(context, Self.shutdown) }
        dispatch()
    }

    /// The connection is gone: once no statement runs, its open transaction rolls back and it leaves the
    /// server's table.
    private func finish() {
        guard !running, let context else { return }
        self.context = nil
        let processID = processID
        guard let backend else { return server.closed(processID) }
        let box = UncheckedBox(backend)
        let server = server
        server.run(on: context.eventLoop) { box.value.close() }.whenComplete { _ in server.closed(processID) }
    }
}

/// Carries a value that is used by one thread at a time across a thread hop.
struct UncheckedBox<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}
