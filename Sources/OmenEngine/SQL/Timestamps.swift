#if canImport(Glibc)
import Glibc
#endif
/// Timestamps are microseconds since 2000-01-01 00:00:00 UTC (PostgreSQL's epoch); text is ISO 8601
/// (`2024-05-01 12:00:00[.ffffff]`).
enum Timestamps {
    static let microsPerSecond: Int64 = 1_000_000
    static let microsPerDay: Int64 = 86_400 * microsPerSecond
    /// Days from 1970-01-01 to 2000-01-01.
    static let epochShift: Int64 = 10_957

    /// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
    static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// The current time, in microseconds after 2000-01-01 UTC.
    static func now() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return (Int64(spec.tv_sec) - epochShift * 86_400) * microsPerSecond + Int64(spec.tv_nsec) / 1_000
    }

    /// `micros` truncated to the start of its `unit` (date_trunc; weeks start on Monday), or nil for an
    /// unknown unit or a start before the earliest timestamp.
    static func truncate(_ micros: Int64, to unit: String) -> Int64? {
        let width: Int64
        switch unit {
        case "microsecond", "microseconds": return micros
        case "millisecond", "milliseconds": width = 1_000
        case "second", "seconds": width = microsPerSecond
        case "minute", "minutes": width = 60 * microsPerSecond
        case "hour", "hours": width = 3_600 * microsPerSecond
        case "day", "days": width = microsPerDay
        case "week", "weeks":
            // 2000-01-03 was a Monday: weeks are counted from there.
            let monday = 2 * microsPerDay
            return (micros &- monday).bucketStart(width: 7 * microsPerDay).map { $0 + monday }
        case "month", "months", "quarter", "quarters", "year", "years":
            let (dayNumber, _) = micros.floorDivided(by: microsPerDay)
            let (year, month, _) = civil(days: dayNumber + epochShift)
            let first = unit.hasPrefix("year") ? 1 : unit.hasPrefix("quarter") ? (month - 1) / 3 * 3 + 1 : month
            return midnight(days(year: year, month: first, day: 1) - epochShift)
        default: return nil
        }
        return micros.bucketStart(width: width)
    }

    /// Field `field` of `micros` (date_part and EXTRACT), or nil for an unknown field.
    static func part(_ field: String, of micros: Int64) -> Double? {
        let (dayNumber, within) = micros.floorDivided(by: microsPerDay)
        let (year, month, day) = civil(days: dayNumber + epochShift)
        // 1970-01-01 (day 0 of `days`) was a Thursday.
        let weekday = (dayNumber + epochShift).floorDivided(by: 7).remainder
        switch field {
        case "year", "years": return Double(year)
        case "quarter": return Double((month - 1) / 3 + 1)
        case "month", "months": return Double(month)
        case "day", "days": return Double(day)
        case "hour", "hours": return Double(within / (3_600 * microsPerSecond))
        case "minute", "minutes": return Double(within / (60 * microsPerSecond) % 60)
        case "second", "seconds": return Double(within % (60 * microsPerSecond)) / Double(microsPerSecond)
        case "milliseconds": return Double(within % (60 * microsPerSecond)) / 1_000
        case "microseconds": return Double(within % (60 * microsPerSecond))
        case "dow": return Double((weekday + 4) % 7)
        case "isodow": return Double((weekday + 3) % 7 + 1)
        case "doy": return Double(dayNumber + epochShift - days(year: year, month: 1, day: 1) + 1)
        case "epoch": return Double(micros) / Double(microsPerSecond) + Double(epochShift * 86_400)
        default: return nil
        }
    }

    /// The days of `month` in `year` (proleptic Gregorian): '2024-02-30' is no date, not March 1st.
    static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// PostgreSQL's ISO forms (see `parse(bytes:)`), or nil.
    static func parse(_ text: String) -> Int64? {
        var text = text
        return text.withUTF8 { bytes in try? parse(bytes: bytes) }
    }

    /// Parses `YYYY-MM-DD` or `YYYY/MM/DD`, optionally followed by `[ T]HH:MM[:SS[.fff]]` and a zone (`Z`,
    /// `±HH`, `±HH:MM`, `±HHMM`: the stored time is UTC, as timestamptz's is); spaces around are ignored.
    /// Malformed text is `.syntax` (22007), a field past its range (2024-02-30, 25:00) `.range` (22008).
    static func parse(bytes: UnsafeBufferPointer<UInt8>) throws(FieldError) -> Int64 {
        var cursor = ByteCursor(bytes)
        cursor.trimSpaces()
        let year = try cursor.number(4...4)
        guard let separator = cursor.peek, separator == UInt8(ascii: "-") || separator == UInt8(ascii: "/") else { throw .syntax }
        cursor.index += 1
        let month = try cursor.number(1...2)
        guard cursor.skip(separator) else { throw .syntax }
        let day = try cursor.number(1...2)
        var clock = Clock()
        if !cursor.atEnd {
            guard cursor.skip(UInt8(ascii: " ")) || cursor.skip(UInt8(ascii: "T")) else { throw .syntax }
            clock.hour = try cursor.number(1...2)
            guard cursor.skip(UInt8(ascii: ":")) else { throw .syntax }
            clock.minute = try cursor.number(1...2)
            if cursor.skip(UInt8(ascii: ":")) {
                clock.second = try cursor.number(1...2)
                if cursor.skip(UInt8(ascii: ".")) { clock.fraction = try cursor.fraction(digits: 6) }
            }
            _ = cursor.skip(UInt8(ascii: " "))
            if !cursor.atEnd { clock.offset = try cursor.zone() }
        }
        guard cursor.atEnd else { throw .syntax }
        return try assemble(year: year, month: month, day: day, clock)
    }

    /// The time-of-day fields of a timestamp's text, each checked by `assemble`.
    struct Clock {
        var hour: Int64 = 0, minute: Int64 = 0, second: Int64 = 0
        /// Microseconds.
        var fraction: Int64 = 0
        /// The zone's offset east of UTC, in microseconds.
        var offset: Int64 = 0
    }

    /// The timestamp of checked civil fields: `.range` for an impossible date or time.
    static func assemble(year: Int64, month: Int64, day: Int64, _ clock: Clock) throws(FieldError) -> Int64 {
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
              clock.hour < 24, clock.minute < 60, clock.second < 60 else { throw .range }
        let seconds = (clock.hour * 60 + clock.minute) * 60 + clock.second
        return (days(year: year, month: month, day: day) - epochShift) * microsPerDay + seconds * microsPerSecond
            + clock.fraction - clock.offset
    }

    static func format(_ micros: Int64) -> String {
        let (dayNumber, within) = micros.floorDivided(by: microsPerDay)
        let (year, month, day) = civil(days: dayNumber + epochShift)
        let seconds = within / microsPerSecond
        let fraction = within % microsPerSecond
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        var text = "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2)) \(pad(seconds / 3600, 2)):\(pad(seconds / 60 % 60, 2)):\(pad(seconds % 60, 2))"
        if fraction != 0 {
            var digits = pad(fraction, 6)
            while digits.hasSuffix("0") { digits.removeLast() }
            text += "." + digits
        }
        return text
    }

    /// TimescaleDB's (and DuckDB's) default time_bucket origin for widths of days and time: Monday
    /// 2000-01-03, so that weeks start on Mondays; month buckets count from 2000-01-01.
    static let bucketOrigin: Int64 = 2 * microsPerDay

    /// The start of the `months`-month bucket holding `micros`, counted from the month of `origin`.
    static func monthBucket(_ micros: Int64, months: Int64, origin: Int64) -> Int64? {
        func index(_ value: Int64) -> Int64 {
            let (year, month, _) = civil(days: value.floorDivided(by: microsPerDay).quotient + epochShift)
            return year * 12 + month - 1
        }
        let base = index(origin)
        let (offset, overflow) = index(micros).subtractingReportingOverflow(base)
        guard !overflow else { return nil }
        let (start, startOverflow) = offset.floorDivided(by: months).quotient.multipliedReportingOverflow(by: months)
        guard !startOverflow, start.magnitude < 12 * 300_000 else { return nil }
        let (year, month) = (base + start).floorDivided(by: 12)
        return midnight(days(year: year, month: month + 1, day: 1) - epochShift)
    }

    /// A date's text, `YYYY-MM-DD` (a timestamp's text is accepted and cut at its day, as PostgreSQL does).
    static func parseDate(_ text: String) -> Int64? { parse(text).map(day) }

    /// The day (since 2000-01-01) holding `micros`.
    static func day(_ micros: Int64) -> Int64 { micros.floorDivided(by: microsPerDay).quotient }

    static func formatDate(_ days: Int64) -> String {
        guard let micros = midnight(days) else { return days > 0 ? "infinity" : "-infinity" }
        return String(format(micros).prefix(while: { $0 != " " }))
    }

    /// The timestamp of a date's midnight, or nil beyond the timestamps' range (a date from the Swift API
    /// can be any Int64; SQL's are within it).
    static func midnight(_ days: Int64) -> Int64? {
        let (micros, overflow) = days.multipliedReportingOverflow(by: microsPerDay)
        return overflow ? nil : micros
    }

    /// `micros` moved by `interval`: months on the calendar (the day clamped to the month's last, as
    /// PostgreSQL does: Jan 31 + 1 month is Feb 29 in a leap year), then days, then microseconds. Nil past
    /// the representable range.
    static func add(_ interval: Interval, to micros: Int64) -> Int64? {
        var result = micros
        if interval.months != 0 {
            let (dayNumber, within) = micros.floorDivided(by: microsPerDay)
            let (year, month, day) = civil(days: dayNumber + epochShift)
            let (total, overflow) = (year * 12 + month - 1).addingReportingOverflow(interval.months)
            guard !overflow, total.magnitude < 12 * 300_000 else { return nil }
            let (newYear, newMonth) = total.floorDivided(by: 12)
            let clamped = min(day, daysIn(month: newMonth + 1, year: newYear))
            let (shifted, shiftOverflow) = (days(year: newYear, month: newMonth + 1, day: clamped) - epochShift)
                .multipliedReportingOverflow(by: microsPerDay)
            guard !shiftOverflow else { return nil }
            let (sum, sumOverflow) = shifted.addingReportingOverflow(within)
            guard !sumOverflow else { return nil }
            result = sum
        }
        let (dayMicros, dayOverflow) = interval.days.multipliedReportingOverflow(by: microsPerDay)
        let (withDays, addOverflow) = result.addingReportingOverflow(dayMicros)
        let (withMicros, microOverflow) = withDays.addingReportingOverflow(interval.micros)
        return dayOverflow || addOverflow || microOverflow ? nil : withMicros
    }

    /// PostgreSQL's interval input: `'1 year 2 months 3 days'`, `'1.5 hours'`, `'-2 weeks'`,
    /// `'04:05:06.5'`, `'1 day 02:00'`, `... ago`. A fraction of a month or year becomes days (30 a month),
    /// of a week or day becomes time. Nil when malformed or beyond 64 bits.
    static func parseInterval(_ text: String) -> Interval? {
        var words = text.lowercased().split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        var negate = false
        if words.last == "ago" {
            negate = true
            words.removeLast()
        }
        guard !words.isEmpty else { return nil }
        var months: Int128 = 0, days: Int128 = 0, micros: Int128 = 0
        var index = 0
        while index < words.count {
            let word = words[index]
            index += 1
            if word.contains(":") {
                guard let time = parseClock(word) else { return nil }
                micros += Int128(time)
                continue
            }
            // A number with its unit in the next word, or glued to it ('15min').
            var number = word
            var unit = ""
            if let split = word.firstIndex(where: { $0.isLetter }) {
                number = String(word[..<split])
                unit = String(word[split...])
            } else if index < words.count {
                unit = words[index]
                index += 1
            }
            guard let amount = Double(number), amount.isFinite, Swift.abs(amount) < 1e15, !number.isEmpty else { return nil }
            let whole = Int128(amount.rounded(.towardZero))
            let fraction = amount - amount.rounded(.towardZero)
            func time(_ perUnit: Int64) -> Int128 {
                whole * Int128(perUnit) + Int128((fraction * Double(perUnit)).rounded())
            }
            switch unit {
            case "microsecond", "microseconds", "us", "usec", "usecs": micros += time(1)
            case "millisecond", "milliseconds", "ms", "msec", "msecs": micros += time(1_000)
            case "second", "seconds", "sec", "secs", "s": micros += time(microsPerSecond)
            case "minute", "minutes", "min", "mins", "m": micros += time(60 * microsPerSecond)
            case "hour", "hours", "hr", "hrs", "h": micros += time(3_600 * microsPerSecond)
            case "day", "days", "d":
                days += whole
                micros += Int128((fraction * Double(microsPerDay)).rounded())
            case "week", "weeks", "w":
                days += whole * 7
                micros += Int128((fraction * 7 * Double(microsPerDay)).rounded())
            case "month", "months", "mon", "mons":
                months += whole
                days += Int128((fraction * 30).rounded(.towardZero))
            case "year", "years", "yr", "yrs", "y":
                months += whole * 12 + Int128((fraction * 12).rounded(.towardZero))
            case "decade", "decades": months += whole * 120 + Int128((fraction * 120).rounded(.towardZero))
            default: return nil
            }
        }
        if negate { (months, days, micros) = (-months, -days, -micros) }
        guard let m = Int64(exactly: months), let d = Int64(exactly: days), let u = Int64(exactly: micros) else { return nil }
        return Interval(months: m, days: d, micros: u)
    }

    /// `[-]H+:MM[:SS[.ffffff]]` in microseconds.
    private static func parseClock(_ text: String) -> Int64? {
        var body = Substring(text)
        let negative = body.first == "-"
        if negative || body.first == "+" { body.removeFirst() }
        let parts = body.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3, let hours = Int64(parts[0]), hours < 1 << 31,
              let minutes = Int64(parts[1]), (0..<60).contains(minutes), parts[1].count == 2 else { return nil }
        var total = (hours * 3_600 + minutes * 60) * microsPerSecond
        if parts.count == 3 {
            let second = parts[2].split(separator: ".", omittingEmptySubsequences: false)
            guard second.count <= 2, second[0].count == 2, let whole = Int64(second[0]), whole < 60 else { return nil }
            total += whole * microsPerSecond
            if second.count == 2 {
                let digits = second[1]
                guard (1...6).contains(digits.count), var fraction = Int64(digits) else { return nil }
                for _ in digits.count..<6 { fraction *= 10 }
                total += fraction
            }
        }
        return negative ? -total : total
    }

    /// PostgreSQL's output of an interval: `1 year 2 mons 3 days 04:05:06.5`, `-1 days`, `00:00:00`.
    static func formatInterval(_ interval: Interval) -> String {
        var parts: [String] = []
        func unit(_ value: Int64, _ name: String) {
            if value != 0 { parts.append("\(value) \(name)\(value == 1 ? "" : "s")") }
        }
        unit(interval.months / 12, "year")
        unit(interval.months % 12, "mon")
        unit(interval.days, "day")
        if interval.micros != 0 || parts.isEmpty {
            let magnitude = interval.micros.magnitude
            let seconds = magnitude / UInt64(microsPerSecond)
            let fraction = magnitude % UInt64(microsPerSecond)
            func pad(_ value: UInt64) -> String { value < 10 ? "0\(value)" : "\(value)" }
            var clock = "\(interval.micros < 0 ? "-" : "")\(pad(seconds / 3_600)):\(pad(seconds / 60 % 60)):\(pad(seconds % 60))"
            if fraction != 0 {
                var digits = String(fraction)
                digits = String(repeating: "0", count: 6 - digits.count) + digits
                while digits.hasSuffix("0") { digits.removeLast() }
                clock += "." + digits
            }
            parts.append(clock)
        }
        return parts.joined(separator: " ")
    }
}

/// Why a field's text is no value of its type: malformed, or a value past the type's range.
enum FieldError: Error {
    case syntax, range
}

/// A cursor over one field's bytes, for the parsers of timestamps and epochs.
struct ByteCursor {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0
    var end: Int

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
        end = bytes.count
    }

    var atEnd: Bool { index == end }
    var peek: UInt8? { index < end ? bytes[index] : nil }

    /// Drops spaces at both ends, as PostgreSQL's input functions do.
    mutating func trimSpaces() {
        while index < end, bytes[index] == UInt8(ascii: " ") { index += 1 }
        while end > index, bytes[end - 1] == UInt8(ascii: " ") { end -= 1 }
    }

    mutating func skip(_ byte: UInt8) -> Bool {
        guard index < end, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    /// A run of decimal digits whose length is in `digits` (at most 18), or `.syntax`.
    mutating func number(_ digits: ClosedRange<Int>) throws(FieldError) -> Int64 {
        var value: Int64 = 0
        let start = index
        while index < end, index - start < digits.upperBound, bytes[index] &- 48 < 10 {
            value = value * 10 + Int64(bytes[index] &- 48)
            index += 1
        }
        guard digits.contains(index - start) else { throw .syntax }
        return value
    }

    /// The digits of a fraction (after its point) in units of 10^-`digits`, rounded half up at the
    /// first digit beyond, as PostgreSQL rounds a timestamp's fraction to microseconds.
    mutating func fraction(digits: Int) throws(FieldError) -> Int64 {
        var value: Int64 = 0
        var count = 0
        var roundUp = false
        while index < end, bytes[index] &- 48 < 10 {
            if count < digits { value = value * 10 + Int64(bytes[index] &- 48) }
            else if count == digits { roundUp = bytes[index] >= UInt8(ascii: "5") }
            count += 1
            index += 1
        }
        guard count > 0 else { throw .syntax }
        for _ in min(count, digits)..<digits { value *= 10 }
        return roundUp ? value + 1 : value
    }

    /// A zone: `Z`, `±HH`, `±HH:MM` or `±HHMM`, as its offset east of UTC in microseconds.
    mutating func zone() throws(FieldError) -> Int64 {
        if skip(UInt8(ascii: "Z")) || skip(UInt8(ascii: "z")) { return 0 }
        let sign: Int64
        if skip(UInt8(ascii: "+")) { sign = 1 } else if skip(UInt8(ascii: "-")) { sign = -1 } else { throw .syntax }
        let hours = try number(2...2)
        var minutes: Int64 = 0
        if skip(UInt8(ascii: ":")) || peek.map({ $0 &- 48 < 10 }) == true { minutes = try number(2...2) }
        guard hours <= 15, minutes < 60 else { throw .range }
        return sign * (hours * 60 + minutes) * 60 * Timestamps.microsPerSecond
    }
}

/// How import and COPY read a timestamp or date column's text: PostgreSQL's forms, a strftime-like
/// pattern, or a number of seconds, milliseconds or microseconds since 1970-01-01 UTC.
public enum TimestampFormat: Equatable, Sendable {
    case standard
    case pattern([UInt8])
    case epoch(microsPerUnit: Int64)

    /// `epoch-s`, `epoch-ms`, `epoch-us`, or a pattern: `%Y` (4 digits), `%m %d %H %M %S` (1 or 2),
    /// `%f` (a fraction's digits), `%z` (`Z` or `±HH[[:]MM]`), `%%`; other bytes match themselves. A
    /// pattern names %Y, %m and %d. Nil for anything else.
    public init?(_ text: String) {
        switch text {
        case "epoch-s": self = .epoch(microsPerUnit: 1_000_000)
        case "epoch-ms": self = .epoch(microsPerUnit: 1_000)
        case "epoch-us": self = .epoch(microsPerUnit: 1)
        default:
            let bytes = Array(text.utf8)
            var directives: Set<UInt8> = []
            var index = 0
            while index < bytes.count {
                if bytes[index] == UInt8(ascii: "%") {
                    guard index + 1 < bytes.count, Array("YmdHMSfz%".utf8).contains(bytes[index + 1]) else { return nil }
                    guard directives.insert(bytes[index + 1]).inserted || bytes[index + 1] == UInt8(ascii: "%") else { return nil }
                    index += 1
                }
                index += 1
            }
            guard directives.isSuperset(of: Array("Ymd".utf8)) else { return nil }
            self = .pattern(bytes)
        }
    }

    /// The timestamp (microseconds after 2000-01-01 UTC) a field's text names in this format.
    func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(FieldError) -> Int64 {
        switch self {
        case .standard: return try Timestamps.parse(bytes: bytes)
        case .epoch(let microsPerUnit): return try Self.epoch(bytes, microsPerUnit: microsPerUnit)
        case .pattern(let pattern): return try Self.match(bytes, pattern)
        }
    }

    /// `[±]digits[.digits]` in units of `microsPerUnit` after 1970, its fraction rounded to microseconds.
    private static func epoch(_ bytes: UnsafeBufferPointer<UInt8>, microsPerUnit: Int64) throws(FieldError) -> Int64 {
        var cursor = ByteCursor(bytes)
        cursor.trimSpaces()
        let negative = cursor.skip(UInt8(ascii: "-"))
        if !negative { _ = cursor.skip(UInt8(ascii: "+")) }
        let whole = try cursor.number(1...18)
        var fraction: Int64 = 0
        if cursor.skip(UInt8(ascii: ".")) {
            let digits = microsPerUnit == 1_000_000 ? 6 : microsPerUnit == 1_000 ? 3 : 0
            fraction = try cursor.fraction(digits: digits)
        }
        guard cursor.atEnd else { throw .syntax }
        let (scaled, overflow) = whole.multipliedReportingOverflow(by: microsPerUnit)
        guard !overflow else { throw .range }
        let since1970 = negative ? -(scaled + fraction) : scaled + fraction
        let (micros, shiftOverflow) = since1970.subtractingReportingOverflow(Timestamps.epochShift * Timestamps.microsPerDay)
        guard !shiftOverflow else { throw .range }
        return micros
    }

    /// The text matched against a pattern of `init?(_:)`'s directives.
    private static func match(_ bytes: UnsafeBufferPointer<UInt8>, _ pattern: [UInt8]) throws(FieldError) -> Int64 {
        var cursor = ByteCursor(bytes)
        cursor.trimSpaces()
        var year: Int64 = 0, month: Int64 = 0, day: Int64 = 0
        var clock = Timestamps.Clock()
        var index = 0
        while index < pattern.count {
            var byte = pattern[index]
            index += 1
            if byte == UInt8(ascii: "%") {
                byte = pattern[index]
                index += 1
                switch byte {
                case UInt8(ascii: "Y"): year = try cursor.number(4...4)
                case UInt8(ascii: "m"): month = try cursor.number(1...2)
                case UInt8(ascii: "d"): day = try cursor.number(1...2)
                case UInt8(ascii: "H"): clock.hour = try cursor.number(1...2)
                case UInt8(ascii: "M"): clock.minute = try cursor.number(1...2)
                case UInt8(ascii: "S"): clock.second = try cursor.number(1...2)
                case UInt8(ascii: "f"): clock.fraction = try cursor.fraction(digits: 6)
                case UInt8(ascii: "z"): clock.offset = try cursor.zone()
                default: guard cursor.skip(byte) else { throw .syntax }
                }
            } else {
                guard cursor.skip(byte) else { throw .syntax }
            }
        }
        guard cursor.atEnd else { throw .syntax }
        return try Timestamps.assemble(year: year, month: month, day: day, clock)
    }
}

extension Int64 {
    /// The start of the bucket of `width` (> 0) holding self, buckets counted from `origin`: origin plus a
    /// multiple of width at or below self, or nil outside Int64 (the first bucket of the extreme past).
    func bucketStart(width: Int64, origin: Int64 = 0) -> Int64? {
        let (offset, offsetOverflow) = subtractingReportingOverflow(origin)
        guard !offsetOverflow else { return nil }
        let (start, overflow) = offset.floorDivided(by: width).quotient.multipliedReportingOverflow(by: width)
        guard !overflow else { return nil }
        let (bucket, sumOverflow) = start.addingReportingOverflow(origin)
        return sumOverflow ? nil : bucket
    }

    /// Quotient rounded toward negative infinity, and the non-negative remainder.
    func floorDivided(by divisor: Int64) -> (quotient: Int64, remainder: Int64) {
        var quotient = self / divisor
        var remainder = self % divisor
        if remainder < 0 {
            quotient -= 1
            remainder += divisor
        }
        return (quotient, remainder)
    }
}

extension String {
    var trimmingSpaces: Substring {
        var slice = Substring(self)
        while slice.first == " " { slice.removeFirst() }
        while slice.last == " " { slice.removeLast() }
        return slice
    }
}
