#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Faults that tests inject into the engine's file operations under one directory: the `after`-th
/// operation of a kind from arming on (0 = the next) fails, once or from then on (a full disk). Each test
/// arms its own directory, so tests running side by side do not disturb each other.
final class FaultInjection: @unchecked Sendable {
    enum Operation: Hashable, CaseIterable, Sendable { case write, fsync, rename, create }

    enum Fault: Equatable, Sendable {
        /// The call fails with this errno.
        case error(Int32)
        /// A write stores part of its bytes, then fails with this errno (writes only; others just fail).
        case shortWrite(Int32)
    }

    struct Plan {
        var operation: Operation
        var countdown: Int
        var fault: Fault
        var persistent: Bool
        var fired = 0
    }

    static let shared = FaultInjection()
    private let monitor = Monitor()
    private var plans: [String: Plan] = [:]

    func arm(_ directory: String, _ operation: Operation, after countdown: Int, fault: Fault, persistent: Bool = false) {
        monitor.withLock { plans[directory] = Plan(operation: operation, countdown: countdown, fault: fault, persistent: persistent) }
    }

    /// Disarms `directory`; returns how many times its fault fired.
    @discardableResult
    func disarm(_ directory: String) -> Int {
        monitor.withLock { plans.removeValue(forKey: directory)?.fired ?? 0 }
    }

    /// The fault an operation on `path` meets, if its directory is armed for it and its turn has come.
    func fault(_ operation: Operation, _ path: String) -> Fault? {
        monitor.withLock {
            guard !plans.isEmpty else { return nil }
            for (directory, var plan) in plans where plan.operation == operation && path.hasPrefix(directory + "/") {
                defer { plans[directory] = plan }
                if plan.countdown > 0 {
                    plan.countdown -= 1
                    return nil
                }
                if plan.fired > 0 && !plan.persistent { return nil }
                plan.fired += 1
                return plan.fault
            }
            return nil
        }
    }
}

/// Thin wrappers over the system calls the engine needs, each failure a typed error naming the path.
enum Files {
    /// Raises the fault injected for `operation` on `path`, if any (a short write is handled by writeAll).
    static func inject(_ operation: FaultInjection.Operation, _ path: String) throws(EngineError) {
        switch FaultInjection.shared.fault(operation, path) {
        case .error(let code)?, .shortWrite(let code)?:
            throw .io(path: path, operation: "\(operation) (injected)", errno: code)
        case nil:
            return
        }
    }

    /// Opens `path` for writing, creating it (with O_TRUNC when `truncate`).
    static func create(_ path: String, truncate: Bool) throws(EngineError) -> Int32 {
        try inject(.create, path)
        let fd = open(path, O_WRONLY | O_CREAT | (truncate ? O_TRUNC : 0), 0o644)
        try check(fd, "open", path)
        return fd
    }

    static func check(_ result: Int32, _ operation: String, _ path: String) throws(EngineError) {
        if result < 0 { throw .io(path: path, operation: operation, errno: errno) }
    }

    static func makeDirectory(_ path: String) throws(EngineError) {
        if mkdir(path, 0o755) < 0 && errno != EEXIST { throw .io(path: path, operation: "mkdir", errno: errno) }
    }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// Whether `path` is a directory this process may not write: on a read-only file system, or without
    /// write permission.
    static func isReadOnlyDirectory(_ path: String) -> Bool {
        access(path, F_OK) == 0 && access(path, W_OK) != 0 && (errno == EROFS || errno == EACCES)
    }

    /// The names in a directory.
    static func list(_ path: String) throws(EngineError) -> [String] {
        guard let directory = opendir(path) else { throw .io(path: path, operation: "opendir", errno: errno) }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    static func read(_ path: String) throws(EngineError) -> [UInt8] {
        let fd = open(path, O_RDONLY)
        try check(fd, "open", path)
        defer { close(fd) }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .io(path: path, operation: "read", errno: errno)
            }
            if count == 0 { return result }
            result.append(contentsOf: chunk[0..<count])
        }
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(EngineError) {
        var done = 0
        switch FaultInjection.shared.fault(.write, path) {
        case .error(let code)?:
            throw .io(path: path, operation: "write (injected)", errno: code)
        case .shortWrite(let code)?:
            let part = bytes.count / 2
            _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, part) }
            throw .io(path: path, operation: "write (injected, \(part) of \(bytes.count) bytes written)", errno: code)
        case nil:
            break
        }
        while done < bytes.count {
            let count = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .io(path: path, operation: "write", errno: errno)
            }
            done += count
        }
    }

    static func sync(_ fd: Int32, path: String) throws(EngineError) {
        try inject(.fsync, path)
        try check(fsync(fd), "fsync", path)
    }

    /// Makes a rename or unlink in `directory` durable.
    static func syncDirectory(_ directory: String) throws(EngineError) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY)
        try check(fd, "open", directory)
        defer { close(fd) }
        try sync(fd, path: directory + "/.")
    }

    /// Writes `bytes` to `path` atomically: a temporary file, fsync, rename, fsync of the directory.
    static func replace(_ path: String, with bytes: [UInt8], directory: String) throws(EngineError) {
        try replace(path, withParts: [bytes], directory: directory)
    }

    /// Writes the concatenation of `parts` to `path` atomically, without joining them in memory.
    static func replace(_ path: String, withParts parts: [[UInt8]], directory: String) throws(EngineError) {
        let temporary = path + ".tmp"
        let fd = try create(temporary, truncate: true)
        do {
            for part in parts { try writeAll(fd, part, path: temporary) }
            try sync(fd, path: temporary)
        } catch let failure {
            close(fd)
            throw failure
        }
        close(fd)
        try inject(.rename, path)
        try check(rename(temporary, path), "rename", temporary)
        try syncDirectory(directory)
    }

    static func remove(_ path: String) {
        unlink(path)
    }
}

/// An exclusive lock on a database directory, held for the life of the process's `Database`: a second
/// opener learns which process holds it.
final class DirectoryLock {
    private let fd: Int32

    init(directory: String) throws(EngineError) {
        let path = directory + "/LOCK"
        fd = open(path, O_RDWR | O_CREAT, 0o644)
        try Files.check(fd, "open", path)
        if flock(fd, LOCK_EX | LOCK_NB) < 0 {
            let code = errno
            var buffer = [UInt8](repeating: 0, count: 32)
            let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
            close(fd)
            guard code == EWOULDBLOCK else { throw .io(path: path, operation: "flock", errno: code) }
            let text = String(decoding: buffer.prefix(max(0, count)).prefix { $0 != 10 }, as: UTF8.self)
            throw .databaseLocked(path: directory, pid: Int32(text) ?? 0)
        }
        let pid = Array("\(getpid())\n".utf8)
        ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
