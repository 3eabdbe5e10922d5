#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import NIOCore
import OmenEngine
import OmenServer

/// `omendb serve`: the database behind PostgreSQL's wire protocol, for psql, drivers and pgbench.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the database over PostgreSQL's wire protocol (psql, psycopg, asyncpg, JDBC, pgbench).",
        discussion: """
        Connections are trusted (loopback by default). Each connection runs its own transactions; SIGTERM or \
        SIGINT stops listening, lets running statements finish, rolls back open transactions and closes \
        the database.
        """)

    @OptionGroup var database: DatabaseOption

    @Option(help: "The address to listen on, HOST:PORT (port 0: any free port, printed on start).")
    var listen = "127.0.0.1:5433"

    @Option(name: .customLong("max-connections"), help: "Refuse connections past this many (53300).")
    var maxConnections = 100

    @Option(name: .customLong("statement-memory"), help: "The most bytes a message, one COPY's data or one statement's rows may take (54000 past it).")
    var statementMemory = 256 << 20

    @Option(name: .customLong("idle-timeout"), help: "Close a connection idle this many seconds (0: never).")
    var idleTimeout = 0

    func run() throws {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]) else {
            throw ValidationError("--listen takes HOST:PORT")
        }
        let host = String(listen[..<colon])
        // The signals are taken by sigwait below; blocked before any thread starts, so that none takes them.
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGINT)
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        let db = try database.open()
        var limits = ServerLimits()
        limits.maxConnections = maxConnections
        limits.statementMemory = statementMemory
        limits.idleTimeout = idleTimeout > 0 ? .seconds(Int64(idleTimeout)) : nil
        let server = WireServer(database: db, limits: limits)
        let bound: Int
        do { bound = try server.start(host: host, port: port) } catch {
            printError("omendb: could not listen on \(listen): \(error)")
            db.close()
            throw ExitCode(1)
        }
        print("omendb: serving \(database.db) on \(host):\(bound)")
        fflush(nil)
        var received: Int32 = 0
        sigwait(&signals, &received)
        server.shutdown()
        try server.wait()
        db.close()
        print("omendb: shut down")
    }
}
