#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import LearnedIndex

/// A position in the log: the file's sequence number in the high 24 bits, the byte offset below.
struct LogPosition: Comparable, Hashable, Sendable {
    var raw: UInt64
    init(file: UInt64, offset: UInt64) { raw = file << 40 | offset }
    init(raw: UInt64) { self.raw = raw }
    var file: UInt64 { raw >> 40 }
    var offset: UInt64 { raw & (1 << 40 - 1) }
    static func < (a: Self, b: Self) -> Bool { a.raw < b.raw }
}

/// The write-ahead log: files `wal-<sequence>.log` of records framed `[u32 length][u32 crc32c][payload]`.
/// Committers append under the log's lock and wait for durability; whichever finds no flush running
/// writes and fsyncs everything appended so far for all of them (group commit).
final class WriteAheadLog: @unchecked Sendable {
    let directory: String
    private let monitor = Monitor()
    private var fd: Int32
    private var path: String
    private var sequence: UInt64
    /// Bytes of the current file written.
    private var written: UInt64
    /// Framed records appended and not yet written: small ones share a chunk, a large payload is a chunk
    /// of its own, so that a bulk load's record is never copied.
    private var pending: [[UInt8]] = []
    private var pendingCount = 0
    /// Bytes a flush is writing (taken from `pending`, not yet in `written`): positions handed out during
    /// the flush lie past them.
    private var inFlight = 0
    private static let largePayload = 1 << 16
    private var durable: LogPosition
    private var flushing = false
    private var failure: EngineError?

    static func fileName(_ sequence: UInt64) -> String {
        let hex = String(sequence, radix: 16)
        return "wal-" + String(repeating: "0", count: max(0, 16 - hex.count)) + hex + ".log"
    }

    static func sequence(ofFile name: String) -> UInt64? {
        guard name.hasPrefix("wal-"), name.hasSuffix(".log"), name.count == 24 else { return nil }
        return UInt64(name.dropFirst(4).prefix(16), radix: 16)
    }

    /// Opens file `sequence` for appending at `offset` (the end of its valid records).
    init(directory: String, sequence: UInt64, offset: UInt64) throws(EngineError) {
        self.directory = directory
        self.sequence = sequence
        self.path = directory + "/" + Self.fileName(sequence)
        fd = try Files.create(path, truncate: false)
        // A torn tail past `offset` is cut off before anything new is appended.
        try Files.check(ftruncate(fd, off_t(offset)), "ftruncate", path)
        try Files.check(Int32(truncatingIfNeeded: lseek(fd, off_t(offset), SEEK_SET)), "lseek", path)
        written = offset
        durable = LogPosition(file: sequence, offset: offset)
        try Files.sync(fd, path: path)
        try Files.syncDirectory(directory)
    }

    deinit { close(fd) }

    /// The position after everything appended so far.
    var end: LogPosition {
        monitor.withLock { LogPosition(file: sequence, offset: written + UInt64(inFlight + pendingCount)) }
    }

    /// The largest payload a record's 32-bit length can frame.
    static let maximumPayload = Int(UInt32.max)

    /// Appends a record; it is durable once `waitDurable` for the returned position returns.
    func append(_ payload: [UInt8]) throws(EngineError) -> LogPosition {
        guard payload.count <= Self.maximumPayload else { throw .recordTooLarge(bytes: payload.count) }
        return monitor.withLock {
            var frame = ByteWriter()
            frame.blockHeader(payload)
            if pending.last.map({ $0.count >= Self.largePayload }) ?? true { pending.append([]) }
            pending[pending.count - 1].append(contentsOf: frame.bytes)
            if payload.count >= Self.largePayload {
                pending.append(payload)
            } else {
                pending[pending.count - 1].append(contentsOf: payload)
            }
            pendingCount += frame.bytes.count + payload.count
            return LogPosition(file: sequence, offset: written + UInt64(inFlight + pendingCount))
        }
    }

    /// Returns once everything up to `position` is on disk.
    func waitDurable(_ position: LogPosition) throws(EngineError) {
        monitor.lock()
        defer { monitor.unlock() }
        while durable < position {
            if let failure { throw failure }
            if flushing {
                monitor.wait()
                continue
            }
            flushLocked()
        }
    }

    /// Writes and fsyncs everything appended so far (caller holds the lock, which is let go meanwhile, and
    /// no flush runs); wakes the waiters.
    private func flushLocked() {
        flushing = true
        let batch = pending
        let count = pendingCount
        pending = []
        pendingCount = 0
        inFlight = count
        let target = LogPosition(file: sequence, offset: written + UInt64(count))
        let fd = self.fd
        let path = self.path
        monitor.unlock()
        var result: EngineError?
        do throws(EngineError) {
            for chunk in batch { try Files.writeAll(fd, chunk, path: path) }
            try Files.sync(fd, path: path)
        } catch { result = error }
        monitor.lock()
        flushing = false
        inFlight = 0
        if let result {
            fail(result)
        } else {
            written += UInt64(count)
            durable = max(durable, target)
        }
        monitor.broadcast()
    }

    // MARK: Durability without waiting

    /// Commits that asked to be told when their record is durable, and the thread that tells them.
    private var callbacks: [(position: LogPosition, done: @Sendable (EngineError?) -> Void)] = []
    private var flusher: pthread_t?
    private var stopping = false

    /// Calls `done` once everything up to `position` is on disk (nil), or the log has failed (the error),
    /// from the log's flusher thread, which writes and fsyncs for all such commits together while their
    /// threads go on with other work. The flusher starts at the first call.
    func whenDurable(_ position: LogPosition, _ done: @escaping @Sendable (EngineError?) -> Void) {
        monitor.lock()
        if durable >= position || failure != nil || stopping {
            let error = durable >= position ? nil : failure ?? .closed
            monitor.unlock()
            return done(error)
        }
        callbacks.append((position, done))
        if flusher == nil {
            var thread = pthread_t()
            pthread_create(&thread, nil, { context in
                Unmanaged<WriteAheadLog>.fromOpaque(context!).takeUnretainedValue().runFlusher()
                return nil
            }, Unmanaged.passUnretained(self).toOpaque())
            flusher = thread
        }
        monitor.broadcast()
        monitor.unlock()
    }

    /// Tells every waiting commit whose record is durable (all of them once the log has failed), and
    /// flushes for the rest, until `stopFlusher`.
    private func runFlusher() {
        monitor.lock()
        while true {
            let failed = failure
            let ready = callbacks.filter { failed != nil || $0.position <= durable }
            if !ready.isEmpty {
                callbacks.removeAll { failed != nil || $0.position <= durable }
                monitor.unlock()
                for callback in ready { callback.done(failed) }
                monitor.lock()
                continue
            }
            if stopping && callbacks.isEmpty { break }
            if callbacks.isEmpty || flushing {
                monitor.wait()
                continue
            }
            flushLocked()
        }
        monitor.unlock()
    }

    /// Tells the waiting commits their outcome, flushing for them first, and joins the flusher; later
    /// `whenDurable` calls are answered at once.
    func stopFlusher() {
        let thread = monitor.withLock { () -> pthread_t? in
            stopping = true
            monitor.broadcast()
            return flusher
        }
        if let thread { pthread_join(thread, nil) }
        monitor.withLock { flusher = nil }
    }

    /// Makes everything durable and starts file `sequence + 1`; returns where it begins.
    func rotate() throws(EngineError) -> LogPosition {
        try waitDurable(end)
        return try monitor.withLock { () throws(EngineError) -> LogPosition in
            while flushing { monitor.wait() }
            let next = sequence + 1
            let nextPath = directory + "/" + Self.fileName(next)
            let nextFD = try Files.create(nextPath, truncate: true)
            do throws(EngineError) {
                try Files.syncDirectory(directory)
                try waitDurableLocked()
            } catch {
                close(nextFD)
                throw error
            }
            close(fd)
            fd = nextFD
            path = nextPath
            sequence = next
            written = 0
            durable = LogPosition(file: next, offset: 0)
            return durable
        }
    }

    /// Writes what was appended between `rotate`'s flush and taking the lock (caller holds the lock).
    private func waitDurableLocked() throws(EngineError) {
        if let failure { throw failure }
        guard !pending.isEmpty else { return }
        let batch = pending
        let count = pendingCount
        pending = []
        pendingCount = 0
        do throws(EngineError) {
            for chunk in batch { try Files.writeAll(fd, chunk, path: path) }
            try Files.sync(fd, path: path)
        } catch {
            fail(error)
            throw error
        }
        written += UInt64(count)
    }

    /// After a failed write or fsync the file's state is unknown: no later commit may succeed. The records
    /// not made durable are cut off the file, so that a reopen does not replay commits that were told
    /// they failed (if the cut fails too, they may come back: their outcome was reported as unknown).
    /// Caller holds the lock.
    private func fail(_ error: EngineError) {
        failure = error
        pending = []
        pendingCount = 0
        if ftruncate(fd, off_t(written)) == 0 { _ = fsync(fd) }
    }

    /// Reads every record from `start` on, in order, through `apply(payload, endPosition)`. A damaged record
    /// at the very end of the newest file is a torn write and ends the replay; damage anywhere else is
    /// corruption, unless `repair`: then replay ends there too, and `damaged` names the file and offset
    /// where it did (the caller moves the rest aside). Returns the file to append to and the end of its
    /// valid records.
    static func replay(
        directory: String, from start: LogPosition, repair: Bool = false,
        _ apply: (inout ByteReader, LogPosition) throws(EngineError) -> Void
    ) throws(EngineError) -> (sequence: UInt64, offset: UInt64, damaged: (file: UInt64, offset: Int)?) {
        let files = try Files.list(directory).compactMap(sequence(ofFile:)).filter { $0 >= start.file }.sorted()
        guard let newest = files.last else { return (start.file, start.offset, nil) }
        var expected = start.file
        var validEnd: UInt64 = 0
        for file in files {
            let name = fileName(file)
            guard file == expected else {
                throw .corrupt(file: fileName(expected), offset: 0, reason: "log file missing before \(name)")
            }
            expected += 1
            let bytes = try Files.read(directory + "/" + name)
            var offset = file == start.file ? Int(start.offset) : 0
            if offset > bytes.count { throw .corrupt(file: name, offset: bytes.count, reason: "log shorter than its checkpoint") }
            while offset < bytes.count {
                if let end = record(in: bytes, at: offset) {
                    var reader = ByteReader(Array(bytes[offset + 8..<end]), file: name, base: offset + 8)
                    try apply(&reader, LogPosition(file: file, offset: UInt64(end)))
                    offset = end
                    continue
                }
                let tornTail = file == newest && (
                    bytes[offset...].allSatisfy { $0 == 0 } || recordReachesEnd(bytes, at: offset))
                if tornTail { break }
                if repair { return (file, UInt64(offset), (file, offset)) }
                throw .corrupt(file: name, offset: offset, reason: "log record fails its length or checksum")
            }
            validEnd = UInt64(offset)
        }
        return (newest, validEnd, nil)
    }

    /// The end of the well-formed record at `offset`, or nil.
    private static func record(in bytes: [UInt8], at offset: Int) -> Int? {
        guard bytes.count - offset >= 8 else { return nil }
        let length = Int(readU32(bytes, offset))
        let crc = readU32(bytes, offset + 4)
        guard length > 0, bytes.count - offset - 8 >= length else { return nil }
        let sum = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[offset + 8..<offset + 8 + length])) }
        return sum == crc ? offset + 8 + length : nil
    }

    /// True when the record at `offset` claims to run to or past the end of the file (a write cut short).
    private static func recordReachesEnd(_ bytes: [UInt8], at offset: Int) -> Bool {
        guard bytes.count - offset >= 8 else { return true }
        return offset + 8 + Int(readU32(bytes, offset)) >= bytes.count
    }

    private static func readU32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24
    }
}
