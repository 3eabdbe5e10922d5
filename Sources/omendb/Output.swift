import OmenEngine

/// Query results as psql prints them (aligned with a row count, or expanded as `\x` shows them), as CSV,
/// or as JSON.
enum Output {
    enum Format { case table, expanded, csv, json }

    static func render(_ result: QueryResult, format: Format) -> String {
        if result.columns.isEmpty { return result.tag.isEmpty ? "" : result.tag + "\n" }
        switch format {
        case .table: return table(result)
        case .expanded: return expanded(result)
        case .csv:
            var text = result.columns.map { CSV.field(.text($0)) }.joined(separator: ",") + "\n"
            for row in result.rows { text += row.map(CSV.field).joined(separator: ",") + "\n" }
            return text
        case .json:
            let objects = result.rows.map { row in
                "{" + zip(result.columns, row).map { "\(quote($0)):\(json($1))" }.joined(separator: ",") + "}"
            }
            return "[" + objects.joined(separator: ",\n ") + "]\n"
        }
    }

    static func text(_ value: Value) -> String {
        switch value {
        case .null: ""
        case .text(let text): text
        default: CSV.field(value)
        }
    }

    static func isNumeric(_ value: Value) -> Bool {
        switch value {
        case .int64, .double: true
        default: false
        }
    }

    static func table(_ result: QueryResult) -> String {
        let cells = result.rows.map { $0.map(text) }
        var widths = result.columns.map(\.count)
        for row in cells { for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) } }
        func pad(_ text: String, _ width: Int, right: Bool) -> String {
            let space = String(repeating: " ", count: max(0, width - text.count))
            return right ? space + text : text + space
        }
        var lines: [String] = []
        lines.append(" " + result.columns.enumerated().map { index, name in
            let total = widths[index] - name.count
            return String(repeating: " ", count: total / 2) + name + String(repeating: " ", count: total - total / 2)
        }.joined(separator: " | "))
        lines.append(widths.map { String(repeating: "-", count: $0 + 2) }.joined(separator: "+"))
        for (rowIndex, row) in cells.enumerated() {
            lines.append(" " + row.enumerated().map { index, cell in
                pad(cell, widths[index], right: isNumeric(result.rows[rowIndex][index]))
            }.joined(separator: " | "))
        }
        lines.append("(\(result.rows.count) row\(result.rows.count == 1 ? "" : "s"))")
        return lines.map { $0.trimmingTrailingSpaces() }.joined(separator: "\n") + "\n\n"
    }

    /// psql's expanded display: a `-[ RECORD n ]` line, then a `column | value` line for each column.
    static func expanded(_ result: QueryResult) -> String {
        guard !result.rows.isEmpty else { return "(0 rows)\n\n" }
        let cells = result.rows.map { $0.map(text) }
        let nameWidth = result.columns.map(\.count).max() ?? 0
        let valueWidth = cells.joined().map(\.count).max() ?? 0
        // psql draws the record line as wide as the lines below, a `+` over the `|`, the label over its start.
        let rule = String(repeating: "-", count: nameWidth + 1) + "+" + String(repeating: "-", count: valueWidth + 1)
        var lines = ""
        for (index, row) in cells.enumerated() {
            let label = "-[ RECORD \(index + 1) ]"
            lines += label + rule.dropFirst(label.count) + "\n"
            for (name, cell) in zip(result.columns, row) {
                lines += (name + String(repeating: " ", count: nameWidth - name.count) + " | " + cell).trimmingTrailingSpaces() + "\n"
            }
        }
        return lines + "\n"
    }

    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    static func json(_ value: Value) -> String {
        switch value {
        case .null: return "null"
        case .int64(let x): return String(x)
        case .double(let x): return x.isFinite ? CSV.field(value) : "null"
        case .bool(let x): return x ? "true" : "false"
        case .text(let x): return quote(x)
        case .timestamp, .date, .interval, .uuid: return quote(CSV.field(value))
        }
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }
}
