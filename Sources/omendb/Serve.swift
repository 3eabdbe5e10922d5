#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import NIOCore
import NIOSSL
import OmenEngine
import OmenServer

/// `omendb serve`: the database behind PostgreSQL's wire protocol, for psql, drivers and pgbench.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the database over PostgreSQL's wire protocol (psql, psycopg, asyncpg, JDBC, pgbench).",
        discussion: """
        Without --password-file connections are trusted, so the address must be a loopback one; with it, \
        every connection authenticates by SCRAM-SHA-256 (lines `user:password`, or `user:` and a verifier \
        as PostgreSQL's pg_authid keeps it, SCRAM-SHA-256$...). With --tls-cert and --tls-key, clients that ask \
        for TLS get it. Each connection runs its own transactions; SIGTERM or \
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

    @Option(name: .customLong("password-file"), help: "Authenticate users by SCRAM-SHA-256 against this file's user:password (or user:verifier) lines.")
    var passwordFile: String?

    @Option(name: .customLong("tls-cert"), help: "A PEM certificate chain: clients that ask for TLS (sslmode=require) get it.")
    var tlsCertificate: String?

    @Option(name: .customLong("tls-key"), help: "The PEM private key of --tls-cert.")
    var tlsKey: String?

    func run() throws {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]) else {
            throw ValidationError("--listen takes HOST:PORT")
        }
        let host = String(listen[..<colon]).trimmingBrackets()
        var passwords: PasswordFile?
        if let passwordFile {
            do { passwords = try PasswordFile(text: String(decoding: try readFile(passwordFile), as: UTF8.self)) } catch let error as Abort {
                throw ValidationError(error.message)
            } catch let error as SQLError {
                throw ValidationError("\(passwordFile): \(error.message)")
            }
        } else if !["127.0.0.1", "::1", "localhost"].contains(host) {
            throw ValidationError("listening on \(host) trusts every client on the network: give --password-file, or listen on 127.0.0.1")
        }
        var tls: NIOSSLContext?
        switch (tlsCertificate, tlsKey) {
        case (nil, nil): break
        case (let certificate?, let key?):
            do {
                let chain = try NIOSSLCertificate.fromPEMFile(certificate).map { NIOSSLCertificateSource.certificate($0) }
                let configuration = TLSConfiguration.makeServerConfiguration(
                    certificateChain: chain, privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
                tls = try NIOSSLContext(configuration: configuration)
            } catch {
                throw ValidationError("--tls-cert \(certificate) --tls-key \(key): \(error)")
            }
        default:
            throw ValidationError("--tls-cert and --tls-key go together")
        }
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
        let server = WireServer(database: db, limits: limits, passwords: passwords, tls: tls)
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

extension String {
    /// An IPv6 address without the brackets of `[::1]:5433`.
    func trimmingBrackets() -> String { hasPrefix("[") && hasSuffix("]") ? String(dropFirst().dropLast()) : self }
}
