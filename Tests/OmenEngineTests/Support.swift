#if canImport(Glibc)
import Glibc
#endif
import OmenEngine

/// A fresh directory under /tmp, removed by `remove()`.
struct TemporaryDirectory {
    let path: String

    init() {
        var template = Array("/tmp/omendb-test-XXXXXX".utf8CString)
        path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    }

    func file(_ name: String) -> String { path + "/" + name }

    func files() -> [String] { Self.list(path) }

    static func list(_ path: String) -> [String] {
        guard let directory = opendir(path) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    func remove() {
        for name in files() { unlink(file(name)) }
        rmdir(path)
    }
}

/// Reads and rewrites whole files, for damaging them on purpose.
enum RawFile {
    static func read(_ path: String) -> [UInt8] {
        guard let file = fopen(path, "rb") else { return [] }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count == 0 { return bytes }
            bytes.append(contentsOf: buffer[0..<count])
        }
    }

    static func write(_ path: String, _ bytes: [UInt8]) {
        let file = fopen(path, "wb")!
        _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        fclose(file)
    }
}

/// A small deterministic generator for the randomized tests.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func environmentInt(_ name: String, default value: Int) -> Int {
    getenv(name).flatMap { Int(String(cString: $0)) } ?? value
}

/// What a random test does between transactions: a checkpoint (2 in 100), a compaction (1 in 100), or a
/// close and reopen (1 in 200).
func randomMaintenance(_ database: inout Database, _ directory: TemporaryDirectory, _ options: Database.Options,
                       _ random: inout SeededRandom) throws {
    switch Int.random(in: 0..<200, using: &random) {
    case 0..<4: try database.checkpoint()
    case 4..<6: try database.compact()
    case 6:
        database.close()
        database = try Database.open(directory.path, options: options)
    default: break
    }
}

/// The schema most tests use: a timestamp key and a column of each other type.
func readingsSchema(_ name: String = "readings") throws -> TableSchema {
    try TableSchema(name: name, columns: [
        Column("ts", .timestamp), Column("device", .int64, nullable: false), Column("value", .double),
        Column("note", .text), Column("ok", .bool),
    ], primaryKey: "ts")
}

func reading(_ key: Int64, _ value: Double? = nil) -> [Value] {
    [.timestamp(key), .int64(key % 7), value.map(Value.double) ?? .null, key % 3 == 0 ? .null : .text("n\(key)"),
     .bool(key % 2 == 0)]
}

/// A SQL session over a new database in a temporary directory, after `setup` ran; `close` removes it.
struct ScratchSession {
    let directory = TemporaryDirectory()
    let database: Database
    let session: SQLSession

    init(_ setup: String = "") throws {
        database = try Database.open(directory.path)
        session = SQLSession(database: database)
        if !setup.isEmpty { _ = try session.execute(setup) }
    }

    func close() {
        database.close()
        directory.remove()
    }
}
