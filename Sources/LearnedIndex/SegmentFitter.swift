/// The optimal streaming piecewise-linear approximation (O'Rourke's algorithm, as used by the PGM-index):
/// points arrive by increasing x, and `add` refuses the first point for which no single line stays within
/// `epsilon` of every point so far. It keeps the convex hulls of the upper (`y + ε`) and lower (`y - ε`)
/// points and the two extreme feasible lines, so each point costs amortised O(1).
///
/// Coordinates are relative to the first point's x, and a segment spans less than 2^63: slope components
/// then fit 64 bits, and slopes are compared by exact cross products of one 64-by-64-bit multiply each.
struct SegmentFitter {
    struct Point {
        var x: UInt64
        var y: Int64
    }

    let epsilon: Int64
    private(set) var origin: UInt64 = 0
    private(set) var count = 0
    /// The x of the point added last.
    private var lastX: UInt64 = 0
    // The extreme lines: min slope through r0 and r2, max slope through r1 and r3.
    private var r0 = Point(x: 0, y: 0)
    private var r1 = Point(x: 0, y: 0)
    private var r2 = Point(x: 0, y: 0)
    private var r3 = Point(x: 0, y: 0)
    private var upper = HullPoints()
    private var lower = HullPoints()
    private var upperStart = 0
    private var lowerStart = 0

    init(epsilon: Int) {
        self.epsilon = Int64(epsilon)
    }

    /// Forgets every point; the next `add` starts a new segment.
    mutating func reset() {
        count = 0
        if !isKnownUniquelyReferenced(&upper) {
            upper = HullPoints()
            lower = HullPoints()
        }
        upper.count = 0
        lower.count = 0
        upperStart = 0
        lowerStart = 0
    }

    /// `(b - a)` as a slope `dy/dx`: |dx| < 2^63 (a segment's span) and |dy| < 2^62 (positions are
    /// buffer indices), so each fits 64 bits, their products 126, and the wrapping operators, which skip
    /// overflow checks, never wrap.
    @inline(__always)
    private static func slope(_ a: Point, _ b: Point) -> (dx: Int64, dy: Int64) {
        (Int64(bitPattern: b.x &- a.x), b.y &- a.y)
    }

    /// `u * v` exactly: sign-extended 64-bit operands make one full-width multiply.
    @inline(__always)
    private static func product(_ u: Int64, _ v: Int64) -> Int128 {
        Int128(u) &* Int128(v)
    }

    /// `s < t` for slopes whose dx have the same sign.
    @inline(__always)
    private static func less(_ s: (dx: Int64, dy: Int64), _ t: (dx: Int64, dy: Int64)) -> Bool {
        product(s.dy, t.dx) < product(t.dy, s.dx)
    }

    /// The cross product of `(a - o)` and `(b - o)`: positive when o, a, b turn counter-clockwise.
    @inline(__always)
    private static func cross(_ o: Point, _ a: Point, _ b: Point) -> Int128 {
        let u = slope(o, a)
        let v = slope(o, b)
        return product(u.dx, v.dy) &- product(u.dy, v.dx)
    }

    /// Adds `(x, y)`; returns false (and changes nothing) when no line can also cover it, or when it lies
    /// 2^63 or more past the segment's first x. `x` must exceed every x added since the last reset.
    mutating func add(x absoluteX: UInt64, y position: Int) -> Bool {
        if count == 0 { origin = absoluteX }
        let x = absoluteX &- origin
        if x > UInt64(Int64.max) { return false }
        let y = Int64(position)
        let high = Point(x: x, y: y &+ epsilon)
        let low = Point(x: x, y: y &- epsilon)
        // The hulls are shared only by a copy of this fitter: copy them before the first change. They are
        // replaced together, so they are shared together, and one check serves both.
        if !isKnownUniquelyReferenced(&upper) {
            upper = upper.copy()
            lower = lower.copy()
        }
        switch count {
        case 0:
            r0 = high
            r1 = low
            upper.append(high)
            lower.append(low)
        case 1:
            r2 = low
            r3 = high
            upper.append(high)
            lower.append(low)
        default:
            let minSlope = Self.slope(r0, r2)
            let maxSlope = Self.slope(r1, r3)
            if Self.less(Self.slope(r2, high), minSlope) || Self.less(maxSlope, Self.slope(r3, low)) {
                return false
            }
            if Self.less(Self.slope(r1, high), maxSlope) {
                // The new upper point lowers the max slope: pivot on the lower hull point it sees last.
                let points = lower.base
                var best = Self.slope(high, points[lowerStart])
                var bestIndex = lowerStart
                var i = lowerStart &+ 1
                while i < lower.count {
                    let candidate = Self.slope(high, points[i])
                    if Self.less(best, candidate) { break }
                    best = candidate
                    bestIndex = i
                    i &+= 1
                }
                r1 = points[bestIndex]
                r3 = high
                lowerStart = bestIndex
                let hull = upper.base
                var end = upper.count
                while end >= upperStart &+ 2 && Self.cross(hull[end &- 2], hull[end &- 1], high) <= 0 { end &-= 1 }
                upper.count = end
                upper.append(high)
            }
            if Self.less(minSlope, Self.slope(r0, low)) {
                // The new lower point raises the min slope: pivot on the upper hull point it sees last.
                let points = upper.base
                var best = Self.slope(low, points[upperStart])
                var bestIndex = upperStart
                var i = upperStart &+ 1
                while i < upper.count {
                    let candidate = Self.slope(low, points[i])
                    if Self.less(candidate, best) { break }
                    best = candidate
                    bestIndex = i
                    i &+= 1
                }
                r0 = points[bestIndex]
                r2 = low
                upperStart = bestIndex
                let hull = lower.base
                var end = lower.count
                while end >= lowerStart &+ 2 && Self.cross(hull[end &- 2], hull[end &- 1], low) >= 0 { end &-= 1 }
                lower.count = end
                lower.append(low)
            }
        }
        lastX = x
        count += 1
        return true
    }

    /// A line inside the feasible region (through the extreme lines' intersection, with the mean of their
    /// slopes, never negative), rounded as segments store it: the slope to single precision, pivoting on
    /// the middle of the points' span, and the intercept up to an integer (the floor of a prediction then
    /// moves up by at most one, which stays within ε of integer positions). Rounding may still push it
    /// past ε by a hair; callers verify it exactly.
    func line() -> LinearFunction {
        let exact = exactLine()
        let slope = Float(exact.slope)
        let pivot = Double(lastX) / 2
        let intercept = (exact.intercept + exact.slope * pivot - Double(slope) * pivot).rounded(.up)
        return LinearFunction(
            origin: origin, slope: slope.isFinite ? Double(slope) : 0, intercept: intercept.isFinite ? intercept : 0)
    }

    /// `value` as a Double, to within an ulp or two (the line is verified, not trusted): the standard
    /// library's conversion from Int128 is generic and took 80% of a build.
    @inline(__always)
    private static func double(_ value: Int128) -> Double {
        let low = Int64(truncatingIfNeeded: value)
        if Int128(low) == value { return Double(low) }
        // Split the magnitude, not the value: a negative value's words would cancel.
        let magnitude = value < 0 ? 0 &- value : value
        let result = Double(UInt64(truncatingIfNeeded: magnitude >> 64)) * 18_446_744_073_709_551_616.0
            + Double(UInt64(truncatingIfNeeded: magnitude))
        return value < 0 ? -result : result
    }

    private func exactLine() -> LinearFunction {
        guard count > 1 else {
            return LinearFunction(origin: origin, slope: 0, intercept: Double(r0.y - epsilon))
        }
        let a = Self.slope(r0, r2)
        let b = Self.slope(r1, r3)
        let minSlope = Double(a.dy) / Double(a.dx)
        let maxSlope = Double(b.dy) / Double(b.dx)
        let slope = max(0, (minSlope + maxSlope) / 2)
        let denominator = Self.product(a.dx, b.dy) - Self.product(a.dy, b.dx)
        let intercept: Double
        if denominator == 0 {
            // Parallel extremes: take the line midway between them.
            let atOriginA = Double(r0.y) - minSlope * Double(r0.x)
            let atOriginB = Double(r1.y) - maxSlope * Double(r1.x)
            intercept = (atOriginA + atOriginB) / 2
        } else {
            let offset = Self.slope(r0, r1)
            let t = Self.double(Self.product(offset.dx, b.dy) - Self.product(offset.dy, b.dx)) / Self.double(denominator)
            let ix = Double(r0.x) + t * Double(a.dx)
            let iy = Double(r0.y) + t * Double(a.dy)
            intercept = iy - slope * ix
        }
        return LinearFunction(origin: origin, slope: slope.isFinite ? slope : 0, intercept: intercept.isFinite ? intercept : 0)
    }
}

/// The points of one hull, in a buffer the fitter's loop indexes without the bounds and copy-on-write
/// checks of an array (the fitter copies a shared buffer itself, before its first change). Only indices
/// below `count` are read.
final class HullPoints {
    private(set) var base: UnsafeMutablePointer<SegmentFitter.Point>
    private var capacity: Int
    var count = 0

    init(capacity: Int = 64) {
        base = .allocate(capacity: capacity)
        self.capacity = capacity
    }

    deinit { base.deallocate() }

    func copy() -> HullPoints {
        let copy = HullPoints(capacity: capacity)
        copy.base.initialize(from: base, count: count)
        copy.count = count
        return copy
    }

    @inline(__always)
    func append(_ point: SegmentFitter.Point) {
        if count == capacity { grow() }
        (base + count).initialize(to: point)
        count &+= 1
    }

    private func grow() {
        let larger = UnsafeMutablePointer<SegmentFitter.Point>.allocate(capacity: capacity * 2)
        larger.initialize(from: base, count: count)
        base.deallocate()
        base = larger
        capacity *= 2
    }
}
