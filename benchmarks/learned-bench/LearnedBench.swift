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

/// Median nanoseconds per lookup over `runs` passes of every probe, and the sum of the positions found.
@inline(never)
func timeLookups<Index: LowerBoundIndex>(
    _ index: Index, keys: UnsafeBufferPointer<UInt64>, probes: UnsafeBufferPointer<UInt64>, runs: Int
) -> (ns: Double, checksum: UInt64) {
    var times: [Double] = []
    var checksum: UInt64 = 0
    let clock = ContinuousClock()
    for _ in 0..<runs {
        var sum: UInt64 = 0
        let elapsed = clock.measure {
            for probe in probes { sum &+= UInt64(index.lowerBound(of: probe, in: keys)) }
        }
        checksum = sum
        times.append(milliseconds(elapsed) * 1e6 / Double(max(1, probes.count)))
    }
    return (median(times), checksum)
}

/// Median build time in milliseconds over `runs` builds, and the last structure built.
func timeBuild<T>(runs: Int, _ build: () throws -> T) rethrows -> (ms: Double, value: T) {
    let clock = ContinuousClock()
    var times: [Double] = []
    var value: T?
    for _ in 0..<max(1, runs) {
        let start = clock.now
        value = try build()
        times.append(milliseconds(clock.now - start))
    }
    return (median(times), value!)
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

    @Option(help: "Timing runs per structure; the median is reported.")
    var runs: Int = 5

    @Option(help: "Builds per structure; the median time is reported.")
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
        var rows: [Row] = []
        func add<Index: LowerBoundIndex>(_ name: String, _ build: Double, _ bytes: Int, _ index: Index) {
            let (ns, checksum) = timeLookups(index, keys: keys, probes: probes, runs: runs)
            rows.append(Row(structure: name, dist: distribution.rawValue, keys: keys.count, buildMs: build,
                            modelBytes: bytes, lookupNs: ns, checksum: checksum))
        }
        add("binary", 0, 0, BinarySearch())
        // Unselected structures are not built either, so a profile of one shows only it.
        if selected("btree16") {
            let tree = timeBuild(runs: builds) { StaticBPlusTree(keys: keys) }
            add("btree16", tree.ms, tree.value.byteCount, tree.value)
        }
        for epsilon in [16, 32, 64, 128] where selected("pgm\(epsilon)") {
            let pgm = try timeBuild(runs: builds) { try PiecewiseLinearModel(keys: keys, epsilon: epsilon) }
            add("pgm\(epsilon)", pgm.ms, pgm.value.byteCount, pgm.value)
        }
        for leaves in [1 << 12, 1 << 16, 1 << 20] where selected("rmi\(leaves)") {
            let rmi = try timeBuild(runs: builds) { try RecursiveModelIndex(keys: keys, leafCount: leaves) }
            add("rmi\(leaves)", rmi.ms, rmi.value.byteCount, rmi.value)
        }
        if selected("linear") {
            let linear = try timeBuild(runs: builds) { try LinearModel(keys: keys) }
            add("linear", linear.ms, linear.value.byteCount, linear.value)
        }
        if let peers {
            rows += try PeerHarness(path: peers).rows(dist: distribution.rawValue, keys: keys, probes: probes,
                                                       runs: runs, builds: builds).filter { selected($0.structure) }
        }
        return rows
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

/// The reference PGM-index, compiled from its own headers (benchmarks/pgm-peer): it reads the keys and
/// probes from a file and prints one CSV row per epsilon.
struct PeerHarness {
    let path: String

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    func rows(dist: String, keys: UnsafeBufferPointer<UInt64>, probes: UnsafeBufferPointer<UInt64>, runs: Int,
              builds: Int) throws -> [Row] {
        var template = Array("/tmp/learned-bench-XXXXXX".utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else { throw Failure(description: "cannot create a temporary file") }
        let dataPath = String(cString: template.withUnsafeBufferPointer { $0.baseAddress! })
        let outputPath = dataPath + ".csv"
        defer {
            unlink(dataPath)
            unlink(outputPath)
        }
        guard let file = fdopen(descriptor, "wb") else { throw Failure(description: "cannot open \(dataPath)") }
        var counts: [UInt64] = [UInt64(keys.count), UInt64(probes.count)]
        let written = fwrite(&counts, 8, 2, file) + fwrite(keys.baseAddress, 8, keys.count, file)
            + fwrite(probes.baseAddress, 8, probes.count, file)
        guard fclose(file) == 0, written == 2 + keys.count + probes.count else {
            throw Failure(description: "cannot write \(dataPath)")
        }
        let status = system("'\(path)' '\(dataPath)' \(runs) \(builds) > '\(outputPath)'")
        guard status == 0, let output = fopen(outputPath, "r") else {
            throw Failure(description: "the peer harness \(path) failed (status \(status))")
        }
        defer { fclose(output) }
        var rows: [Row] = []
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, Int32(line.count), output) != nil {
            let fields = String(cString: line).split(separator: ",").map { $0.trimmingWhitespace() }
            guard fields.count == 5, let build = Double(fields[1]), let bytes = Int(fields[2]),
                  let ns = Double(fields[3]), let checksum = UInt64(fields[4]) else {
                throw Failure(description: "the peer harness printed an unexpected line: \(String(cString: line))")
            }
            rows.append(Row(structure: fields[0], dist: dist, keys: keys.count, buildMs: build, modelBytes: bytes,
                            lookupNs: ns, checksum: checksum))
        }
        return rows
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
