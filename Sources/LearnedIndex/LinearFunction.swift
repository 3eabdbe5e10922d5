/// `position(q) = intercept + slope * (q - origin)`, evaluated the same way at build and at lookup.
///
/// With `slope >= 0` the evaluation is monotone in `q` (conversion, multiplication by a non-negative number,
/// addition and the clamp all preserve order under IEEE rounding). Every model relies on that: its error is
/// measured at the two ends of each lower-bound step, and monotonicity extends the bound to the whole step.
@frozen
public struct LinearFunction: Equatable, Sendable {
    public var origin: UInt64
    public var slope: Double
    public var intercept: Double

    @inlinable
    public init(origin: UInt64, slope: Double, intercept: Double) {
        self.origin = origin
        self.slope = slope
        self.intercept = intercept
    }

    /// The predicted position of `key`, clamped to `0...limit`; queries below `origin` predict as `origin`.
    @inlinable
    public func position(of key: UInt64, limit: Int) -> Int {
        let dx = key > origin ? key &- origin : 0
        let predicted = intercept + slope * Double(dx)
        // `!(x > 0)` also catches NaN, so the conversion below cannot trap.
        guard predicted > 0 else { return 0 }
        guard predicted < Double(limit) else { return limit }
        return Int(predicted)
    }

    /// The least-squares line through `(key, position)` for `keys[range]` (positions are buffer indices),
    /// with a non-negative slope.
    static func leastSquares(
        _ keys: UnsafeBufferPointer<UInt64>, range: Range<Int>, origin: UInt64
    ) -> LinearFunction {
        let count = Double(range.count)
        guard range.count > 1 else {
            return LinearFunction(origin: origin, slope: 0, intercept: Double(range.lowerBound))
        }
        var meanX = 0.0
        var meanY = 0.0
        for i in range {
            meanX += Double(keys[i] &- origin)
            meanY += Double(i)
        }
        meanX /= count
        meanY /= count
        var covariance = 0.0
        var variance = 0.0
        for i in range {
            let dx = Double(keys[i] &- origin) - meanX
            covariance += dx * (Double(i) - meanY)
            variance += dx * dx
        }
        var slope = variance > 0 ? covariance / variance : 0
        if !(slope >= 0) || !slope.isFinite { slope = 0 }
        var intercept = meanY - slope * meanX
        if !intercept.isFinite { intercept = meanY }
        return LinearFunction(origin: origin, slope: slope, intercept: intercept)
    }
}

/// The exact error of a monotone prediction against the lower bound, over every possible query.
@frozen
public struct ErrorBound: Equatable, Sendable {
    /// How far the prediction can lie above the true lower bound.
    public var below: Int
    /// How far the prediction can lie below the true lower bound.
    public var above: Int

    @inlinable
    public init(below: Int = 0, above: Int = 0) {
        self.below = below
        self.above = above
    }

    /// Widens the bound to cover `predicted` for a true lower bound `position`.
    @inlinable
    mutating func include(predicted: Int, position: Int) {
        if predicted > position { below = max(below, predicted &- position) }
        else { above = max(above, position &- predicted) }
    }

    /// The window around a prediction, clamped to `0...limit`.
    @inlinable
    public func window(around predicted: Int, limit: Int) -> SearchWindow {
        SearchWindow(lo: max(0, predicted &- below), hi: min(limit, predicted &+ above), predicted: predicted)
    }
}
