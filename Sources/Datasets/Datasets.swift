#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// SplitMix64: a tiny, fast, seedable generator, so every data set is the same on every run.
public struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform double in (0, 1).
    public mutating func unitInterval() -> Double {
        (Double(next() >> 11) + 0.5) / Double(1 << 53)
    }

    /// A standard normal variate (Box-Muller).
    public mutating func gaussian() -> Double {
        sqrt(-2 * log(unitInterval())) * cos(2 * Double.pi * unitInterval())
    }
}

/// The synthetic key distributions of the project's tests and benchmarks (nothing is downloaded).
public enum Distribution: String, CaseIterable, Sendable {
    /// Microsecond timestamps from 2020 with random gaps of 1 µs to 2 s (a time series).
    case seq
    /// Uniform over the whole 64-bit range.
    case uniform
    /// exp(N(0, 2)) scaled by 1e9: a few dense regions and a long tail.
    case lognormal
    /// Increasing keys each repeated 1 to 1000 times.
    case dups
    /// A piecewise mix of dense runs, sparse stretches and exponential growth, like the SOSD books keys.
    case books

    /// `count` sorted keys, the same for the same seed.
    public func keys(count: Int, seed: UInt64 = 42) -> [UInt64] {
        var random = SplitMix64(seed: seed ^ UInt64(truncatingIfNeeded: hashSeed))
        var keys: [UInt64] = []
        keys.reserveCapacity(count)
        switch self {
        case .seq:
            var time: UInt64 = 1_577_836_800_000_000
            for _ in 0..<count {
                time &+= 1 + random.next() % 2_000_000
                keys.append(time)
            }
        case .uniform:
            for _ in 0..<count { keys.append(random.next()) }
            keys.sort()
        case .lognormal:
            for _ in 0..<count {
                let value = exp(2 * random.gaussian()) * 1e9
                keys.append(value < 1.8e19 ? UInt64(value) : 18_000_000_000_000_000_000)
            }
            keys.sort()
        case .dups:
            var key: UInt64 = 1_000
            while keys.count < count {
                key &+= 1 + random.next() % 1_000
                let run = min(1 + Int(random.next() % 1_000), count - keys.count)
                keys.append(contentsOf: repeatElement(key, count: run))
            }
        case .books:
            var key: UInt64 = 1_000_000
            while keys.count < count {
                let piece = min(1_000 + Int(random.next() % 50_000), count - keys.count)
                switch random.next() % 4 {
                case 0:  // dense: consecutive ids with small holes
                    for _ in 0..<piece { key &+= 1 + random.next() % 3; keys.append(key) }
                case 1:  // sparse and uneven
                    for _ in 0..<piece { key &+= 1 + random.next() % 100_000; keys.append(key) }
                case 2:  // accelerating
                    var step = 1.0
                    for _ in 0..<piece {
                        step *= 1.0005
                        key &+= UInt64(min(step, 1e9))
                        keys.append(key)
                    }
                default:  // uniform burst
                    let width = 1 + random.next() % 10_000_000
                    var burst = (0..<piece).map { _ in key &+ random.next() % width }
                    burst.sort()
                    keys.append(contentsOf: burst)
                    key &+= width
                }
            }
        }
        return keys
    }

    private var hashSeed: Int {
        Distribution.allCases.firstIndex(of: self) ?? 0
    }

    /// `count` probes drawn uniformly from `keys` (present keys).
    public static func probes(from keys: [UInt64], count: Int, seed: UInt64 = 7) -> [UInt64] {
        var random = SplitMix64(seed: seed)
        guard !keys.isEmpty else { return [] }
        return (0..<count).map { _ in keys[Int(random.next() % UInt64(keys.count))] }
    }
}
