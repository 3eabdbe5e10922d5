/// Arithmetic on timestamps, dates and intervals, as PostgreSQL's operators define it; every result that
/// would leave 64 bits is an error (22008), never a trap.
extension Evaluate {
    static func temporalArithmetic(_ op: BinaryOperator, _ a: Value, _ b: Value, _ token: Token) throws(SQLError) -> Value {
        func outOfRange(_ what: String = "timestamp") -> SQLError { SQLError("22008", "\(what) out of range", at: token) }
        func shift(_ micros: Int64, _ interval: Interval, subtract: Bool) throws(SQLError) -> Value {
            guard let step = subtract ? interval.negated : interval, let moved = Timestamps.add(step, to: micros) else { throw outOfRange() }
            return .timestamp(moved)
        }
        switch (a, b, op) {
        case (.timestamp(let t), .interval(let i), .plus), (.interval(let i), .timestamp(let t), .plus): return try shift(t, i, subtract: false)
        case (.timestamp(let t), .interval(let i), .minus): return try shift(t, i, subtract: true)
        case (.date(let d), .interval(let i), .plus), (.interval(let i), .date(let d), .plus): return try shift(try midnight(d, token), i, subtract: false)
        case (.date(let d), .interval(let i), .minus): return try shift(try midnight(d, token), i, subtract: true)
        case (.timestamp(let x), .int64(let y), .plus), (.timestamp(let x), .int64(let y), .minus):
            // Microseconds, as intervals were before they had a type.
            let result = op == .plus ? x.addingReportingOverflow(y) : x.subtractingReportingOverflow(y)
            guard !result.overflow else { throw outOfRange() }
            return .timestamp(result.partialValue)
        case (.date(let d), .int64(let n), .plus), (.int64(let n), .date(let d), .plus), (.date(let d), .int64(let n), .minus):
            let result = op == .plus ? d.addingReportingOverflow(n) : d.subtractingReportingOverflow(n)
            guard !result.overflow, result.partialValue.magnitude < UInt64(Int64.max / Timestamps.microsPerDay) else { throw outOfRange("date") }
            return .date(result.partialValue)
        case (.date(let x), .date(let y), .minus):
            let result = x.subtractingReportingOverflow(y)
            guard !result.overflow else { throw outOfRange("integer") }
            return .int64(result.partialValue)
        case (.timestamp(let x), .timestamp(let y), .minus):
            // Whole days and the rest, as PostgreSQL's timestamp - timestamp (justified hours).
            let result = x.subtractingReportingOverflow(y)
            guard !result.overflow else { throw outOfRange("interval") }
            let difference = result.partialValue
            return .interval(Interval(days: difference / Timestamps.microsPerDay, micros: difference % Timestamps.microsPerDay))
        case (.interval(let x), .interval(let y), .plus), (.interval(let x), .interval(let y), .minus):
            guard let step = op == .plus ? y : y.negated, let sum = x.adding(step) else { throw outOfRange("interval") }
            return .interval(sum)
        case (.interval(let i), _, .times), (.interval(let i), _, .divide):
            guard let factor = number(b) else { break }
            if op == .divide && factor == 0 { throw SQLError("22012", "division by zero", at: token) }
            guard let scaled = i.scaled(by: op == .times ? factor : 1 / factor) else { throw outOfRange("interval") }
            return .interval(scaled)
        case (_, .interval(let i), .times):
            guard let factor = number(a), let scaled = i.scaled(by: factor) else { break }
            return .interval(scaled)
        default:
            break
        }
        throw SQLError("42883", "operator does not exist: \(typeName(a)) \(op.rawValue) \(typeName(b))", at: token,
                       hint: "Timestamps and dates take intervals: ts + INTERVAL '1 day', ts - ts is an interval, date - date a number of days.")
    }
}

extension Interval {
    var negated: Interval? {
        guard months != .min, days != .min, micros != .min else { return nil }
        return Interval(months: -months, days: -days, micros: -micros)
    }

    func adding(_ other: Interval) -> Interval? {
        let (m, o1) = months.addingReportingOverflow(other.months)
        let (d, o2) = days.addingReportingOverflow(other.days)
        let (u, o3) = micros.addingReportingOverflow(other.micros)
        return o1 || o2 || o3 ? nil : Interval(months: m, days: d, micros: u)
    }

    /// PostgreSQL's interval * number: a fraction of a month flows into days (30 a month), a fraction of a
    /// day into microseconds.
    func scaled(by factor: Double) -> Interval? {
        guard factor.isFinite else { return nil }
        let monthsScaled = Double(months) * factor
        let wholeMonths = monthsScaled.rounded(.towardZero)
        let daysScaled = Double(days) * factor + (monthsScaled - wholeMonths) * 30
        let wholeDays = daysScaled.rounded(.towardZero)
        let microsScaled = (Double(micros) * factor + (daysScaled - wholeDays) * Double(Timestamps.microsPerDay)).rounded()
        guard let m = Int64(exactly: wholeMonths), let d = Int64(exactly: wholeDays), Swift.abs(microsScaled) < 9.2e18 else { return nil }
        return Interval(months: m, days: d, micros: Int64(microsScaled))
    }
}

extension Timestamps {
    /// Field `field` of an interval (date_part and EXTRACT), or nil for an unknown field.
    static func part(_ field: String, of interval: Interval) -> Double? {
        switch field {
        case "epoch": return Double(interval.span) / Double(microsPerSecond)
        case "year", "years": return Double(interval.months / 12)
        case "month", "months": return Double(interval.months % 12)
        case "day", "days": return Double(interval.days)
        case "hour", "hours": return Double(interval.micros / (3_600 * microsPerSecond))
        case "minute", "minutes": return Double(interval.micros / (60 * microsPerSecond) % 60)
        case "second", "seconds": return Double(interval.micros % (60 * microsPerSecond)) / Double(microsPerSecond)
        default: return nil
        }
    }
}
