import Crypto
import ExtrasBase64
import NIOCore
import OmenEngine

/// A user's SCRAM-SHA-256 verifier (RFC 5802 and 7677) in PostgreSQL's form, as pg_authid keeps it:
/// `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, base64. It proves a password without
/// holding it.
public struct ScramVerifier: Sendable, Equatable {
    let iterations: Int
    let salt: [UInt8]
    let storedKey: [UInt8]
    let serverKey: [UInt8]

    /// The verifier of `password` (used as given: no SASLprep normalisation).
    public init(password: String, salt: [UInt8], iterations: Int = 4096) {
        let salted = Self.saltedPassword(Array(password.utf8), salt: salt, iterations: iterations)
        self.iterations = iterations
        self.salt = salt
        storedKey = Array(SHA256.hash(data: Self.hmac(salted, Array("Client Key".utf8))))
        serverKey = Self.hmac(salted, Array("Server Key".utf8))
    }

    public init?(parsing text: String) {
        let parts = text.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "SCRAM-SHA-256" else { return nil }
        let first = parts[1].split(separator: ":"), second = parts[2].split(separator: ":")
        guard first.count == 2, second.count == 2, let iterations = Int(first[0]), iterations > 0,
              let salt = try? String(first[1]).base64decoded(), let stored = try? String(second[0]).base64decoded(),
              let server = try? String(second[1]).base64decoded(), stored.count == 32, server.count == 32 else { return nil }
        self.iterations = iterations
        self.salt = salt
        storedKey = stored
        serverKey = server
    }

    public var text: String {
        "SCRAM-SHA-256$\(iterations):\(Base64.encodeToString(bytes: salt))$\(Base64.encodeToString(bytes: storedKey)):\(Base64.encodeToString(bytes: serverKey))"
    }

    static func hmac(_ key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
    }

    /// Hi(password, salt, i) of RFC 5802: PBKDF2 with HMAC-SHA-256, one block.
    static func saltedPassword(_ password: [UInt8], salt: [UInt8], iterations: Int) -> [UInt8] {
        var block = hmac(password, salt + [0, 0, 0, 1])
        var result = block
        for _ in 1..<iterations {
            block = hmac(password, block)
            for index in result.indices { result[index] ^= block[index] }
        }
        return result
    }
}

/// `--password-file`: one `user:secret` per line, the secret a SCRAM-SHA-256 verifier (as above) or a
/// plain password (made into a verifier when read); `#` starts a comment line.
public struct PasswordFile: Sendable {
    let verifiers: [String: ScramVerifier]

    public init(text: String) throws(SQLError) {
        var verifiers: [String: ScramVerifier] = [:]
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = line.hasSuffix("\r") ? line.dropLast() : line
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let colon = line.firstIndex(of: ":"), colon != line.startIndex else {
                throw SQLError("F0000", "password file line \(number + 1): expected user:secret")
            }
            let secret = String(line[line.index(after: colon)...])
            var salt = [UInt8](repeating: 0, count: 16)
            for index in salt.indices { salt[index] = UInt8.random(in: 0...255) }
            verifiers[String(line[..<colon])] = ScramVerifier(parsing: secret) ?? ScramVerifier(password: secret, salt: salt)
        }
        self.verifiers = verifiers
    }
}

/// The server's side of one SCRAM-SHA-256 exchange: client-first, server-first, client-final, server-final.
struct ScramExchange {
    let verifier: ScramVerifier
    /// False for an unknown user: the exchange runs to its end with a made-up verifier and fails there,
    /// so that it does not tell which users exist.
    let known: Bool
    private var clientFirstBare = ""
    private var serverFirst = ""
    private var nonce = ""

    init(verifier: ScramVerifier?) {
        known = verifier != nil
        self.verifier = verifier ?? ScramVerifier(password: String(UInt64.random(in: .min ... .max)), salt: Array("omendb-unknown-u".utf8))
    }

    static func failed(_ user: String) -> SQLError {
        SQLError("28P01", "password authentication failed for user \"\(user)\"")
    }

    /// Reads SASLInitialResponse (mechanism, then client-first-message) and returns server-first-message.
    mutating func first(_ message: ByteBuffer) throws(SQLError) -> String {
        var message = message
        guard let mechanism = try? message.cString(), mechanism == "SCRAM-SHA-256" else {
            throw SQLError("28000", "SASL authentication takes SCRAM-SHA-256 only")
        }
        guard let length = message.readInteger(as: Int32.self), length >= 0,
              let bytes = message.readBytes(length: Int(length)), let text = String(validating: bytes, as: UTF8.self) else {
            throw SQLError("08P01", "malformed SCRAM message")
        }
        // gs2 header: "n,," (no channel binding) or "y,," (client supports it, server does not offer it).
        guard text.hasPrefix("n,,") || text.hasPrefix("y,,") else {
            throw SQLError("28000", "SCRAM channel binding is not supported", hint: "Connect with channel_binding=disable or prefer.")
        }
        clientFirstBare = String(text.dropFirst(3))
        guard let clientNonce = Self.attribute("r", in: clientFirstBare), !clientNonce.isEmpty else {
            throw SQLError("08P01", "malformed SCRAM message: no nonce")
        }
        var random = [UInt8](repeating: 0, count: 18)
        for index in random.indices { random[index] = UInt8.random(in: 0...255) }
        nonce = clientNonce + Base64.encodeToString(bytes: random)
        serverFirst = "r=\(nonce),s=\(Base64.encodeToString(bytes: verifier.salt)),i=\(verifier.iterations)"
        return serverFirst
    }

    /// Reads SASLResponse (client-final-message), checks the proof and returns server-final-message.
    func final(_ message: ByteBuffer, user: String) throws(SQLError) -> String {
        guard let text = String(validating: message.readableBytesView, as: UTF8.self),
              let proofStart = text.firstRange(of: ",p=") else { throw SQLError("08P01", "malformed SCRAM message") }
        let withoutProof = String(text[..<proofStart.lowerBound])
        guard Self.attribute("r", in: withoutProof) == nonce,
              let proof = try? String(text[proofStart.upperBound...]).base64decoded(), proof.count == 32 else { throw Self.failed(user) }
        let authMessage = Array("\(clientFirstBare),\(serverFirst),\(withoutProof)".utf8)
        let signature = ScramVerifier.hmac(verifier.storedKey, authMessage)
        let clientKey = zip(proof, signature).map { $0 ^ $1 }
        guard known, Array(SHA256.hash(data: clientKey)) == verifier.storedKey else { throw Self.failed(user) }
        return "v=" + Base64.encodeToString(bytes: ScramVerifier.hmac(verifier.serverKey, authMessage))
    }

    /// The value of `name=` among a SCRAM message's comma-separated attributes.
    private static func attribute(_ name: Character, in message: String) -> String? {
        for part in message.split(separator: ",") where part.first == name && part.dropFirst().first == "=" {
            return String(part.dropFirst(2))
        }
        return nil
    }
}
