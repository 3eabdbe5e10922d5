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
}

/// The least-squares line through points `(key, position)` fed one at a time (Welford's updates), so the
/// models whose lines span a whole run learn in passes over it, a chunk at a time, with no copy of its keys.
struct StreamingFit {
    let origin: UInt64
    private(set) var count = 0
    private var meanX = 0.0
    private var meanY = 0.0
    private var coMoment = 0.0
    private var squares = 0.0

    init(origin: UInt64) {
        self.origin = origin
    }

    mutating func add(_ key: UInt64, at position: Int) {
        let x = Double(key > origin ? key &- origin : 0)
        let y = Double(position)
        count += 1
        let n = Double(count)
        let dx = x - meanX
        meanX += dx / n
        meanY += (y - meanY) / n
        coMoment += dx * (y - meanY)
        squares += dx * (x - meanX)
    }

    /// The fitted line, with a finite, non-negative slope (monotone evaluation needs it).
    var function: LinearFunction {
        var slope = count > 1 && squares > 0 ? coMoment / squares : 0
        if !(slope >= 0) || !slope.isFinite { slope = 0 }
        var intercept = meanY - slope * meanX
        if !intercept.isFinite { intercept = meanY }
        return LinearFunction(origin: origin, slope: slope, intercept: intercept)
    }
}

/// The exact error of one line over the lower-bound steps of a run's keys fed in order (see
/// `LowerBoundSteps`): both ends of every step, measured as its keys arrive.
struct StepErrorMeter {
    let function: LinearFunction
    let limit: Int
    private(set) var error = ErrorBound()

    init(function: LinearFunction, limit: Int) {
        self.function = function
        self.limit = limit
    }

    /// Every query in `first...last` has lower bound `position`.
    mutating func measure(_ first: UInt64, _ last: UInt64, _ position: Int) {
        error.include(predicted: function.position(of: first, limit: limit), position: position)
        error.include(predicted: function.position(of: last, limit: limit), position: position)
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
