/// COPY's text format, PostgreSQL's default: one row per line, fields separated by tabs, `\N` for NULL and
/// backslash escapes for the rest (`\t`, `\n`, `\\`, octal `\123`, hex `\x41` ...), a line `\.` ending the
/// data. COPY FROM turns it into CSV for the shared loader; COPY TO writes it from the values.
public enum CopyFormat: Sendable, Equatable {
    case csv, text
}

enum CopyText {
    /// The CSV records of text-format `data`: NULL an unquoted empty field, every other value quoted.
    static func csv(fromText data: [UInt8]) throws(SQLError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(data.count + data.count / 4)
        var index = 0, line = 1
        let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")
        while index < data.count {
            var end = index
            while end < data.count && data[end] != UInt8(ascii: "\n") { end += 1 }
            var last = end
            if last > index && data[last - 1] == UInt8(ascii: "\r") { last -= 1 }
            if last - index == 2 && data[index] == backslash && data[index + 1] == UInt8(ascii: ".") { break }
            var field = index
            while true {
                var stop = field
                while stop < last && data[stop] != UInt8(ascii: "\t") { stop += 1 }
                if stop - field == 2 && data[field] == backslash && data[field + 1] == UInt8(ascii: "N") {
                    // NULL: nothing between the commas.
                } else {
                    out.append(quote)
                    var at = field
                    while at < stop {
                        var byte = data[at]
                        at += 1
                        if byte == backslash {
                            guard at < stop else { throw SQLError("22P04", "COPY text data line \(line) ends in a lone backslash") }
                            (byte, at) = unescape(data, at, stop)
                        }
                        if byte == quote { out.append(quote) }
                        out.append(byte)
                    }
                    out.append(quote)
                }
                if stop == last { break }
                out.append(UInt8(ascii: ","))
                field = stop + 1
            }
            out.append(UInt8(ascii: "\n"))
            index = end + 1
            line += 1
        }
        return out
    }

    /// The byte a backslash sequence starting at `at` (just past the backslash) stands for, and where the
    /// field goes on.
    private static func unescape(_ data: [UInt8], _ at: Int, _ stop: Int) -> (UInt8, Int) {
        let byte = data[at]
        switch byte {
        case UInt8(ascii: "b"): return (8, at + 1)
        case UInt8(ascii: "f"): return (12, at + 1)
        case UInt8(ascii: "n"): return (10, at + 1)
        case UInt8(ascii: "r"): return (13, at + 1)
        case UInt8(ascii: "t"): return (9, at + 1)
        case UInt8(ascii: "v"): return (11, at + 1)
        case UInt8(ascii: "0")...UInt8(ascii: "7"):
            var value = 0, next = at
            while next < stop && next < at + 3, (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(data[next]) {
                value = value * 8 + Int(data[next] - UInt8(ascii: "0"))
                next += 1
            }
            return (UInt8(truncatingIfNeeded: value), next)
        case UInt8(ascii: "x"):
            var value = 0, next = at + 1
            while next < stop && next < at + 3, let digit = hexDigit(data[next]) {
                value = value * 16 + digit
                next += 1
            }
            return next == at + 1 ? (byte, at + 1) : (UInt8(value), next)
        default:
            return (byte, at + 1)
        }
    }

    private static func hexDigit(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(byte - UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(byte - UInt8(ascii: "A")) + 10
        default: nil
        }
    }

    /// A value as a text-format field.
    static func field(_ value: Value) -> String {
        switch value {
        case .null: return "\\N"
        case .text(let text):
            var out = ""
            for character in text.unicodeScalars {
                switch character {
                case "\\": out += "\\\\"
                case "\t": out += "\\t"
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                default: out.unicodeScalars.append(character)
                }
            }
            return out
        default: return Evaluate.text(value)
        }
    }
}
