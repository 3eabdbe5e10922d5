import ArgumentParser
import Datasets
import LearnedIndex

#if canImport(Glibc)
import Glibc
#endif

/// Something that finds lower bounds in the sorted keys it was built for.
protocol LowerBoundIndex {
    func lowerBound(of key: UInt64, in keys: UnsafeBufferPointer<UInt64>) -> Int
}

struct BinarySearch: LowerBoundIndex {
    @inline(__always)
    func lowerBound(of key: UInt64, in keys: UnsafeBufferPointer<UInt64>) -> Int {
        BoundedSearch.lowerBound(of: key, in: keys)
    }
}

extension StaticBPlusTree: LowerBoundIndex {}

extension PiecewiseLinearModel: LowerBoundIndex {
    @inline(__always)
    func lowerBound(of key: UInt64, in keys: UnsafeBufferPointer<UInt64>) -> Int {
        BoundedSearch.lowerBound(of: key, in: keys, window: window(for: key))
    }
}

extension RecursiveModelIndex: LowerBoundIndex {
    @inline(__always)
    func lowerBound(of key: UInt64, in keys: UnsafeBufferPointer<UInt64>) -> Int {
        BoundedSearch.lowerBound(of: key, in: keys, window: window(for: key))
    }
}

extension LinearModel: LowerBoundIndex {
    @inline(__always)
    func lowerBound(of key: UInt64, in keys: UnsafeBufferPointer<UInt64>) -> Int {
        BoundedSearch.lowerBound(of: key, in: keys, window: window(for: key))
    }
}

enum OutputFormat: String, ExpressibleByArgument { case csv, markdown }

struct Row {
    var structure: String
    var dist: String
    var keys: Int
    var buildMs: Double
    var modelBytes: Int
    var lookupNs: Double
    var checksum: UInt64
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
}

func milliseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1e3 + Double(duration.components.attoseconds) * 1e-15
}

/// One timed pass of a structure over every probe: nanoseconds a lookup, and the sum of the positions found.
typealias LookupPass = () throws -> (ns: Double, checksum: UInt64)

/// Nanoseconds per lookup over one pass of every probe, and the sum of the positions found.
@inline(never)
func timeLookups<Index: LowerBoundIndex>(
    _ index: Index, keys: UnsafeBufferPointer<UInt64>, probes: UnsafeBufferPointer<UInt64>
) -> (ns: Double, checksum: UInt64) {
    var sum: UInt64 = 0
    let elapsed = ContinuousClock().measure {
        for probe in probes { sum &+= UInt64(index.lowerBound(of: probe, in: keys)) }
    }
    return (milliseconds(elapsed) * 1e6 / Double(max(1, probes.count)), sum)
}

/// A structure under test: `build` builds it once and returns the milliseconds it took and the model's bytes;
/// `pass` times one pass over the probes with the structure built last.
struct Candidate {
    let name: String
    let build: () throws -> (ms: Double, bytes: Int)
    let pass: LookupPass
}

/// The structure a candidate built last.
final class Built<Value> {
    var value: Value?
}

@main
struct LearnedBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "learned-bench",
        abstract: "Learned models against binary search and a static B+tree on the same sorted keys.")

    @Option(help: "Keys per data set.")
    var keys: Int = 1_000_000

    @Option(help: "Distributions, comma-separated: seq, uniform, lognormal, dups, books, or all.")
    var dist: String = "all"

    @Option(help: "Output format: csv or markdown.")
    var format: OutputFormat = .markdown

    @Option(help: "Random probes (drawn from the keys) per timing run.")
    var probes: Int = 10_000_000

    @Option(help: "Timing runs per structure, taken in rounds over all structures; the median is reported.")
    var runs: Int = 5

    @Option(help: "Builds per structure, taken in rounds over all structures; the median time is reported.")
    var builds: Int = 3

    @Option(help: "Only structures whose name starts with one of these prefixes, comma-separated.")
    var only: String = ""

    @Option(help: "The compiled PGM-index harness (benchmarks/pgm-peer), run on the same keys and probes.")
    var peers: String?

    func validate() throws {
        guard keys >= 1, probes >= 1, runs >= 1, builds >= 1 else {
            throw ValidationError("--keys, --probes, --runs and --builds must be at least 1")
        }
        _ = try distributions()
    }

    func distributions() throws -> [Distribution] {
        if dist == "all" { return Distribution.allCases }
        return try dist.split(separator: ",").map { name in
            guard let value = Distribution(rawValue: String(name)) else {
                throw ValidationError("unknown distribution '\(name)'; use seq, uniform, lognormal, dups, books or all")
            }
            return value
        }
    }

    func run() throws {
        var failed = false
        for distribution in try distributions() {
            let data = distribution.keys(count: keys)
            let probeKeys = Distribution.probes(from: data, count: probes)
            let rows = try data.withUnsafeBufferPointer { keys in
                try probeKeys.withUnsafeBufferPointer { probes in
                    try measure(distribution, keys: keys, probes: probes)
                }
            }
            let reference = rows[0].checksum
            for row in rows where row.checksum != reference {
                failed = true
                print("error: \(row.structure) on \(row.dist) disagrees with binary search (checksum \(row.checksum) != \(reference))")
            }
            print(render(rows, header: distribution == (try distributions()).first))
        }
        if failed { throw ExitCode.failure }
    }

    func measure(
        _ distribution: Distribution, keys: UnsafeBufferPointer<UInt64>, probes: UnsafeBufferPointer<UInt64>
    ) throws -> [Row] {
        var candidates: [Candidate] = []
        func add<Index: LowerBoundIndex>(_ name: String, _ bytes: @escaping (Index) -> Int, _ make: @escaping () throws -> Index) {
            let built = Built<Index>()
            let clock = ContinuousClock()
            candidates.append(Candidate(name: name, build: {
                let start = clock.now
                let index = try make()
                let ms = milliseconds(clock.now - start)
                built.value = index
                return (ms, bytes(index))
            }, pass: { timeLookups(built.value!, keys: keys, probes: probes) }))
        }
        add("binary", { _ in 0 }) { BinarySearch() }
        // Unselected structures are not built either, so a profile of one shows only it.
        if selected("btree16") { add("btree16", { $0.byteCount }) { StaticBPlusTree(keys: keys) } }
        for epsilon in [16, 32, 64, 128] where selected("pgm\(epsilon)") {
            add("pgm\(epsilon)", { $0.byteCount }) { try PiecewiseLinearModel(keys: keys, epsilon: epsilon) }
        }
        for leaves in [1 << 12, 1 << 16, 1 << 20] where selected("rmi\(leaves)") {
            add("rmi\(leaves)", { $0.byteCount }) { try RecursiveModelIndex(keys: keys, leafCount: leaves) }
        }
        if selected("linear") { add("linear", { $0.byteCount }) { try LinearModel(keys: keys) } }
        let peer = try peers.map { try PeerHarness(path: $0, keys: keys, probes: probes) }
        if let peer {
            for epsilon in [16, 32, 64, 128] where selected("pgmref\(epsilon)") {
                candidates.append(Candidate(name: "pgmref\(epsilon)", build: { try peer.build(epsilon) },
                                            pass: { try peer.pass(epsilon) }))
            }
        }
        // Builds, then passes, go in rounds: each structure takes one a round, so a change in the machine's
        // speed (large on a shared machine) falls on all of them alike rather than on whichever ran then.
        func rounds<Result>(_ count: Int, _ take: (Candidate) throws -> Result) rethrows -> [[Result]] {
            var results = [[Result]](repeating: [], count: candidates.count)
            for _ in 0..<count {
                for (index, candidate) in candidates.enumerated() { results[index].append(try take(candidate)) }
            }
            return results
        }
        let built = try rounds(builds) { try $0.build() }
        let passed = try rounds(runs) { try $0.pass() }
        return candidates.indices.map { index in
            Row(structure: candidates[index].name, dist: distribution.rawValue, keys: keys.count,
                // Binary search has nothing to build.
                buildMs: index == 0 ? 0 : median(built[index].map(\.ms)), modelBytes: built[index].last!.bytes,
                lookupNs: median(passed[index].map(\.ns)), checksum: passed[index].last!.checksum)
        }
    }

    func selected(_ name: String) -> Bool {
        only.isEmpty || only.split(separator: ",").contains { name.hasPrefix($0) }
    }

    func render(_ rows: [Row], header: Bool) -> String {
        let binary = rows.first { $0.structure == "binary" }?.lookupNs ?? 0
        var lines: [String] = []
        switch format {
        case .csv:
            if header { lines.append("structure,dist,keys,build_ms,model_bytes,lookup_ns,checksum") }
            for row in rows {
                lines.append("\(row.structure),\(row.dist),\(row.keys),\(fixed(row.buildMs, 1)),\(row.modelBytes),\(fixed(row.lookupNs, 1)),\(row.checksum)")
            }
        case .markdown:
            lines.append("")
            lines.append("| structure | dist | keys | build_ms | model_bytes | lookup_ns | vs binary | checksum |")
            lines.append("|---|---|---:|---:|---:|---:|---:|---:|")
            for row in rows {
                let speedup = row.lookupNs > 0 ? binary / row.lookupNs : 0
                lines.append("| \(row.structure) | \(row.dist) | \(row.keys) | \(fixed(row.buildMs, 1)) | \(row.modelBytes) | \(fixed(row.lookupNs, 1)) | \(fixed(speedup, 2))x | \(row.checksum) |")
            }
        }
        return lines.joined(separator: "\n")
    }
}

/// The reference PGM-index, compiled from its own headers (benchmarks/pgm-peer), running beside the bench:
/// it reads the keys and probes from a file, then builds an epsilon's index, or times one pass of it, for
/// each line it is sent.
final class PeerHarness {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private let process: pid_t
    private let requests: UnsafeMutablePointer<FILE>
    private let replies: UnsafeMutablePointer<FILE>

    init(path: String, keys: UnsafeBufferPointer<UInt64>, probes: UnsafeBufferPointer<UInt64>) throws {
        var template = Array("/tmp/learned-bench-XXXXXX".utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else { throw Failure(description: "cannot create a temporary file") }
        let dataPath = String(cString: template.withUnsafeBufferPointer { $0.baseAddress! })
        defer { unlink(dataPath) }
        guard let file = fdopen(descriptor, "wb") else { throw Failure(description: "cannot open \(dataPath)") }
        var counts: [UInt64] = [UInt64(keys.count), UInt64(probes.count)]
        let written = fwrite(&counts, 8, 2, file) + fwrite(keys.baseAddress, 8, keys.count, file)
            + fwrite(probes.baseAddress, 8, probes.count, file)
        guard fclose(file) == 0, written == 2 + keys.count + probes.count else {
            throw Failure(description: "cannot write \(dataPath)")
        }
        // A peer that dies mid-run must show as an error here, not end the bench with SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        var toPeer: [Int32] = [0, 0]
        var fromPeer: [Int32] = [0, 0]
        guard pipe(&toPeer) == 0, pipe(&fromPeer) == 0 else { throw Failure(description: "cannot create pipes") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, toPeer[0], 0)
        posix_spawn_file_actions_adddup2(&actions, fromPeer[1], 1)
        for end in toPeer + fromPeer { posix_spawn_file_actions_addclose(&actions, end) }
        let arguments: [UnsafeMutablePointer<CChar>?] = [path, dataPath].map { (text: String) in strdup(text) }
        defer { arguments.forEach { free($0) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, path, &actions, nil, arguments + [nil], environ)
        close(toPeer[0])
        close(fromPeer[1])
        guard status == 0, let requests = fdopen(toPeer[1], "w"), let replies = fdopen(fromPeer[0], "r") else {
            throw Failure(description: "cannot start the peer harness \(path) (error \(status))")
        }
        self.process = pid
        self.requests = requests
        self.replies = replies
        // The data file is removed once the peer has read it.
        guard try answer() == ["ready"] else { throw Failure(description: "the peer harness did not start") }
    }

    deinit {
        fclose(requests)
        fclose(replies)
        var status: Int32 = 0
        waitpid(process, &status, 0)
    }

    /// One timed build of `epsilon`'s index: milliseconds and model bytes.
    func build(_ epsilon: Int) throws -> (ms: Double, bytes: Int) {
        let fields = try request("build \(epsilon)")
        guard fields.count == 2, let ms = Double(fields[0]), let bytes = Int(fields[1]) else {
            throw Failure(description: "the peer harness printed an unexpected build line: \(fields)")
        }
        return (ms, bytes)
    }

    /// One timed pass of `epsilon`'s index over the probes.
    func pass(_ epsilon: Int) throws -> (ns: Double, checksum: UInt64) {
        let fields = try request("pass \(epsilon)")
        guard fields.count == 2, let ns = Double(fields[0]), let checksum = UInt64(fields[1]) else {
            throw Failure(description: "the peer harness printed an unexpected line: \(fields)")
        }
        return (ns, checksum)
    }

    /// Sends `line` and returns the peer's answer, split at commas.
    private func request(_ line: String) throws -> [String] {
        guard fputs(line + "\n", requests) >= 0, fflush(requests) == 0 else {
            throw Failure(description: "the peer harness exited")
        }
        return try answer()
    }

    /// The peer's next line, split at commas.
    private func answer() throws -> [String] {
        var line = [CChar](repeating: 0, count: 256)
        guard fgets(&line, Int32(line.count), replies) != nil else {
            throw Failure(description: "the peer harness exited without answering")
        }
        return line.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }.split(separator: ",").map { $0.trimmingWhitespace() }
    }
}

extension Substring {
    func trimmingWhitespace() -> String {
        String(self.filter { !$0.isWhitespace })
    }
}

/// `value` with `digits` decimals, without Foundation's formatter.
func fixed(_ value: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = (value * scale).rounded()
    guard scaled.isFinite, abs(scaled) < 9e15 else { return "\(value)" }
    let whole = Int(scaled)
    let integer = whole / Int(scale)
    let fraction = abs(whole) % Int(scale)
    if digits == 0 { return "\(integer)" }
    let text = String(fraction)
    return "\(whole < 0 && integer == 0 ? "-" : "")\(integer).\(String(repeating: "0", count: digits - text.count))\(text)"
}
