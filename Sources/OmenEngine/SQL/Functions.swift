#if canImport(Glibc)
import Glibc
#endif

/// PostgreSQL's string and math functions. Positions and lengths count code points, as PostgreSQL does
/// in UTF-8 databases; every result that could leave its type's range is checked.
extension Evaluate {
    static let libraryNames: Set<String> = [
        "round", "floor", "ceil", "ceiling", "trunc", "sqrt", "power", "pow", "exp", "ln", "log", "mod", "sign",
        "greatest", "least", "nullif", "substring", "substr", "replace", "trim", "btrim", "ltrim", "rtrim", "strpos",
        "concat", "concat_ws", "left", "right", "split_part", "starts_with", "reverse", "repeat", "lpad", "rpad",
        "char_length", "character_length", "initcap",
    ]

    /// The function `name` of the library over compiled arguments, or nil when it is not one of them.
    static func libraryFunction(_ name: String, _ arguments: [Evaluator], _ token: Token) throws(SQLError) -> Evaluator? {
        guard libraryNames.contains(name) else { return nil }
        let counts: ClosedRange<Int>
        switch name {
        case "round", "trunc", "log", "trim", "btrim", "ltrim", "rtrim": counts = 1...2
        case "floor", "ceil", "ceiling", "sqrt", "exp", "ln", "sign", "reverse", "char_length", "character_length", "initcap": counts = 1...1
        case "substring", "substr", "lpad", "rpad": counts = 2...3
        case "replace", "split_part": counts = 3...3
        case "greatest", "least", "concat": counts = 1...100
        case "concat_ws": counts = 2...100
        default: counts = 2...2
        }
        guard counts.contains(arguments.count) else {
            throw SQLError("42883", "function \(name) does not take \(arguments.count) argument\(arguments.count == 1 ? "" : "s")", at: token)
        }
        func values(_ batch: RowBatch, _ row: Int) throws(SQLError) -> [Value] {
            var out: [Value] = []
            for argument in arguments { out.append(try argument(batch, row)) }
            return out
        }
        switch name {
        case "greatest", "least":
            // NULLs are ignored; the result is NULL only when every argument is.
            return { (batch, row) throws(SQLError) in
                var best: Value = .null
                for value in try values(batch, row) where value != .null {
                    if best == .null { best = value; continue }
                    guard let order = try compareForPredicate(value, best, token) else { continue }
                    if name == "greatest" ? order > 0 : order < 0 { best = value }
                }
                return best
            }
        case "nullif":
            return { (batch, row) throws(SQLError) in
                let all = try values(batch, row)
                return try compareForPredicate(all[0], all[1], token) == 0 ? .null : all[0]
            }
        case "concat", "concat_ws":
            return { (batch, row) throws(SQLError) in
                var all = try values(batch, row)
                var separator = ""
                if name == "concat_ws" {
                    guard all[0] != .null else { return .null }
                    separator = text(all.removeFirst())
                }
                return .text(all.filter { $0 != .null }.map(text).joined(separator: separator))
            }
        default:
            return { (batch, row) throws(SQLError) in
                let all = try values(batch, row)
                if all.contains(.null) { return .null }
                return try apply(name, all, token)
            }
        }
    }

    /// A strict library function (NULL in, NULL out) on non-null values.
    private static func apply(_ name: String, _ all: [Value], _ token: Token) throws(SQLError) -> Value {
        func string(_ index: Int) throws(SQLError) -> [Unicode.Scalar] {
            guard case .text(let value) = all[index] else {
                throw .datatype("function \(name) needs text, not \(typeName(all[index]))", at: token)
            }
            return Array(value.unicodeScalars)
        }
        func integer(_ index: Int) throws(SQLError) -> Int64 {
            guard case .int64(let value) = all[index] else {
                throw .datatype("function \(name) needs an integer, not \(typeName(all[index]))", at: token)
            }
            return value
        }
        func double(_ index: Int) throws(SQLError) -> Double {
            guard let value = number(all[index]) else { throw .datatype("function \(name) needs a number, not \(typeName(all[index]))", at: token) }
            return value
        }
        func make(_ scalars: some Sequence<Unicode.Scalar>) -> Value {
            var view = String.UnicodeScalarView()
            view.append(contentsOf: scalars)
            return .text(String(view))
        }
        /// A count clamped to what a string can hold, so that huge arguments cannot trap.
        func clamp(_ value: Int64) -> Int { Int(max(-(1 << 40), min(1 << 40, value))) }
        switch name {
        case "round", "trunc":
            if case .int64 = all[0], all.count == 1 { return all[0] }
            let places = all.count > 1 ? clamp(try integer(1)) : 0
            return .double(decimalRound(try double(0), places: places, truncate: name == "trunc", halfEven: all.count == 1))
        case "floor": return integralResult(all[0], (try double(0)).rounded(.down))
        case "ceil", "ceiling": return integralResult(all[0], (try double(0)).rounded(.up))
        case "sign":
            let x = try double(0)
            return .double(x > 0 ? 1 : x < 0 ? -1 : x)
        case "sqrt":
            let x = try double(0)
            guard x >= 0 || x.isNaN else { throw SQLError("2201F", "cannot take square root of a negative number", at: token) }
            return .double(x.squareRoot())
        case "exp":
            let x = try double(0)
            let result = exp(x)
            guard result.isFinite || !x.isFinite else { throw SQLError("22003", "value out of range: overflow", at: token) }
            return .double(result)
        case "ln", "log":
            let x = try double(all.count == 2 ? 1 : 0)
            guard x > 0 || x.isNaN else {
                throw SQLError("2201E", x == 0 ? "cannot take logarithm of zero" : "cannot take logarithm of a negative number", at: token)
            }
            if name == "ln" { return .double(log(x)) }
            if all.count == 1 { return .double(log10(x)) }
            let base = try double(0)
            guard base > 0 && base != 1 else { throw SQLError("2201E", "invalid logarithm base", at: token) }
            return .double(log(x) / log(base))
        case "power", "pow":
            let (x, y) = (try double(0), try double(1))
            if x == 0 && y < 0 { throw SQLError("2201F", "zero raised to a negative power is undefined", at: token) }
            if x < 0 && y != y.rounded() { throw SQLError("2201F", "a negative number raised to a non-integer power yields a complex result", at: token) }
            let result = pow(x, y)
            guard result.isFinite || !x.isFinite || !y.isFinite else { throw SQLError("22003", "value out of range: overflow", at: token) }
            return .double(result)
        case "mod": return try arithmetic(.modulo, all[0], all[1], token)
        case "substring", "substr":
            let scalars = try string(0)
            // PostgreSQL's substring(s, from, for): positions from 1; a start before 1 shortens the length.
            let start = try integer(1)
            var end = Int64.max
            if all.count == 3 {
                let count = try integer(2)
                guard count >= 0 else { throw SQLError("22011", "negative substring length not allowed", at: token) }
                end = start.addingReportingOverflow(count).overflow ? .max : start + count
            }
            let low = Int(max(1, min(start, Int64(scalars.count) + 1))) - 1
            let high = Int(max(Int64(low + 1), min(end, Int64(scalars.count) + 1))) - 1
            return make(scalars[low..<max(low, high)])
        case "replace":
            let (source, from, to) = (try string(0), try string(1), try string(2))
            guard !from.isEmpty else { return all[0] }
            var out: [Unicode.Scalar] = []
            var index = 0
            while index < source.count {
                if index + from.count <= source.count && Array(source[index..<index + from.count]) == from {
                    out += to
                    index += from.count
                } else {
                    out.append(source[index])
                    index += 1
                }
            }
            return make(out)
        case "trim", "btrim", "ltrim", "rtrim":
            var scalars = try string(0)[...]
            let set = Set(all.count == 2 ? try string(1) : [" "])
            if name != "rtrim" { while let first = scalars.first, set.contains(first) { scalars.removeFirst() } }
            if name != "ltrim" { while let last = scalars.last, set.contains(last) { scalars.removeLast() } }
            return make(scalars)
        case "strpos":
            let (source, target) = (try string(0), try string(1))
            if target.isEmpty { return .int64(1) }
            guard target.count <= source.count else { return .int64(0) }
            for index in 0...(source.count - target.count) where Array(source[index..<index + target.count]) == target {
                return .int64(Int64(index + 1))
            }
            return .int64(0)
        case "left", "right":
            let scalars = try string(0)
            let n = clamp(try integer(1))
            let count = n >= 0 ? min(n, scalars.count) : max(0, scalars.count + n)
            return make(name == "left" ? scalars.prefix(count) : scalars.suffix(count))
        case "split_part":
            let (source, delimiter) = (try string(0), try string(1))
            let field = try integer(2)
            guard field != 0 else { throw SQLError("22023", "field position must not be zero", at: token) }
            var parts: [[Unicode.Scalar]] = []
            if delimiter.isEmpty {
                parts = [source]
            } else {
                var current: [Unicode.Scalar] = []
                var index = 0
                while index < source.count {
                    if index + delimiter.count <= source.count && Array(source[index..<index + delimiter.count]) == delimiter {
                        parts.append(current)
                        current = []
                        index += delimiter.count
                    } else {
                        current.append(source[index])
                        index += 1
                    }
                }
                parts.append(current)
            }
            let count = Int64(parts.count)
            guard field >= -count && field <= count else { return .text("") }
            return make(parts[Int(field > 0 ? field - 1 : count + field)])
        case "starts_with":
            let (source, prefix) = (try string(0), try string(1))
            return .bool(source.starts(with: prefix))
        case "reverse": return make((try string(0)).reversed())
        case "char_length", "character_length": return .int64(Int64((try string(0)).count))
        case "initcap":
            var out: [Unicode.Scalar] = []
            var startOfWord = true
            for scalar in try string(0) {
                let letter = scalar.properties.isAlphabetic || scalar.properties.numericType != nil
                out += startOfWord ? Array(String(scalar).uppercased().unicodeScalars) : Array(String(scalar).lowercased().unicodeScalars)
                startOfWord = !letter
            }
            return make(out)
        case "repeat":
            let (source, times) = (try string(0), try integer(1))
            guard times > 0, !source.isEmpty else { return .text("") }
            let (length, overflow) = Int64(source.count).multipliedReportingOverflow(by: times)
            guard !overflow, length <= Self.longestString else {
                throw SQLError("54000", "requested length too large", at: token)
            }
            return make(Array(repeating: source, count: Int(times)).joined())
        case "lpad", "rpad":
            let source = try string(0)
            let length = try integer(1)
            guard length <= Self.longestString else { throw SQLError("54000", "requested length too large", at: token) }
            let fill = all.count == 3 ? try string(2) : [" "]
            let target = Int(max(0, length))
            if target <= source.count { return make(source.prefix(target)) }
            if fill.isEmpty { return make(source) }
            let padding = (0..<(target - source.count)).map { fill[$0 % fill.count] }
            return make(name == "lpad" ? padding + source : source + padding)
        default:
            throw SQLError("42883", "function \(name) does not exist", at: token)
        }
    }

    /// The longest string repeat, lpad and rpad build (PostgreSQL's limit is 1 GB; this keeps memory sane).
    static let longestString: Int64 = 1 << 24

    /// floor and ceil keep an integer argument an integer.
    private static func integralResult(_ argument: Value, _ result: Double) -> Value {
        if case .int64 = argument { return argument }
        return .double(result)
    }

    /// `x` rounded (or truncated) to `places` decimal digits, on its shortest decimal form as PostgreSQL
    /// rounds the numeric a double converts to: 2.675 rounds to 2.68, though its binary value is below.
    /// One-argument round of a double rounds half to even, as PostgreSQL's round(double precision).
    static func decimalRound(_ x: Double, places: Int, truncate: Bool, halfEven: Bool) -> Double {
        guard x.isFinite, x != 0, places < 400 else { return x }
        if halfEven && !truncate { return x.rounded(.toNearestOrEven) }
        if places < -400 { return 0 * x.sign.multiplier }
        let description = "\(Swift.abs(x))"
        if !description.contains("e"), let dot = description.firstIndex(of: ".") {
            // Decimal digits as written: round the digit string itself.
            let digits = Array(description[..<dot].utf8) + Array(description[description.index(after: dot)...].utf8)
            let integerDigits = description.distance(from: description.startIndex, to: dot)
            let keep = integerDigits + places
            if keep < 0 { return 0 * x.sign.multiplier }
            if keep >= digits.count { return x }
            var number = 0.0
            for digit in digits[..<keep] { number = number * 10 + Double(digit - UInt8(ascii: "0")) }
            if !truncate && digits[keep] >= UInt8(ascii: "5") { number += 1 }
            let exponent = integerDigits - keep
            let magnitude = exponent >= 0 ? number * pow(10, Double(exponent)) : number / pow(10, Double(-exponent))
            return magnitude * x.sign.multiplier
        }
        let factor = pow(10, Double(places))
        let magnitude = Swift.abs(x) * factor
        let scaled = truncate ? magnitude.rounded(.towardZero) : magnitude.rounded(.toNearestOrAwayFromZero)
        return scaled / factor * x.sign.multiplier
    }
}

extension FloatingPointSign {
    var multiplier: Double { self == .minus ? -1 : 1 }
}
