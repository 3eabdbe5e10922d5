import OmenEngine

/// A connection's run-time parameters (SET, SHOW, RESET): what clients set and ask for on connect. The
/// engine works in UTF-8, ISO dates and UTC, so those three accept only their one value.
struct ServerSettings {
    static let version = "15.0 (OmenDB 0.1.0)"

    /// What ParameterStatus reports at startup.
    static let reported: [(String, String)] = [
        ("server_version", version), ("server_encoding", "UTF8"), ("client_encoding", "UTF8"),
        ("DateStyle", "ISO, MDY"), ("IntervalStyle", "postgres"), ("TimeZone", "UTC"), ("integer_datetimes", "on"),
        ("standard_conforming_strings", "on"), ("is_superuser", "on"), ("application_name", ""),
    ]

    private static let fixed: [String: Set<String>] = [
        "client_encoding": ["utf8", "unicode", "utf-8"], "timezone": ["utc", "etc/utc", "gmt", "z", "00:00", "+00"],
        "datestyle": ["iso", "iso, mdy", "iso,mdy"],
    ]

    private var values: [String: String] = [:]

    init() {
        for (name, value) in Self.reported { values[name.lowercased()] = value }
        values["transaction_isolation"] = "repeatable read"
        values["default_transaction_isolation"] = "repeatable read"
        values["search_path"] = "public"
        values["server_version_num"] = "150000"
        values["statement_timeout"] = "0"
    }

    /// The answer to `sql` if it is a command the server itself takes (SET, RESET, SHOW, DISCARD ALL,
    /// `SELECT version()`), nil for SQL the engine runs. With `session` nil it only recognises.
    mutating func answer(_ sql: String, session: SQLSession?) throws(SQLError) -> QueryResult? {
        var words = Self.words(sql)
        guard let first = words.first else { return nil }
        switch first {
        case "set":
            words.removeFirst()
            if words.first == "session" || words.first == "local" { words.removeFirst() }
            guard words.count >= 2, let name = words.first, name != "transaction", name != "session" else { return nil }
            let valueWords = words.dropFirst().first == "=" || words.dropFirst().first == "to" ? words.dropFirst(2) : words.dropFirst()
            let value = valueWords.joined(separator: " ").trimmingQuotes()
            guard let session else { return QueryResult(columns: [], rows: [], tag: "SET") }
            return try set(name, value, session)
        case "reset":
            guard words.count == 2 else { return nil }
            if session != nil {
                if words[1] == "all" { self = ServerSettings(); session!.statementTimeout = nil } else if let fresh = ServerSettings().values[words[1]] {
                    values[words[1]] = fresh
                }
            }
            return QueryResult(columns: [], rows: [], tag: "RESET")
        case "show":
            guard words.count == 2 else { return nil }
            let name = words[1]
            let value = values[name] ?? ""
            return QueryResult(columns: [name], rows: [[.text(value)]], tag: "SHOW", types: [.text])
        case "discard":
            guard words == ["discard", "all"] else { return nil }
            if let session {
                self = ServerSettings()
                session.statementTimeout = nil
            }
            return QueryResult(columns: [], rows: [], tag: "DISCARD ALL")
        case "select":
            if words == ["select", "version", "(", ")"] || words == ["select", "pg_catalog.version", "(", ")"] {
                return QueryResult(columns: ["version"], rows: [[.text("PostgreSQL \(Self.version)")]], tag: "SELECT 1", types: [.text])
            }
            if words.count == 5, words[1] == "current_setting" || words[1] == "pg_catalog.current_setting", words[2] == "(", words[4] == ")" {
                let name = words[3].trimmingQuotes().lowercased()
                return QueryResult(columns: ["current_setting"], rows: [[.text(values[name] ?? "")]], tag: "SELECT 1", types: [.text])
            }
            return nil
        default:
            return nil
        }
    }

    /// `sql` with each `current_setting('name')` replaced by the setting's value as a string literal, so that
    /// the engine runs a query that reads settings (Grafana's `current_setting('server_version_num')::int`).
    func substituted(_ sql: String) -> String {
        guard sql.contains("current_setting") else { return sql }
        var result = "", rest = sql[...]
        while let call = rest.firstRange(of: "current_setting(") {
            let inside = rest[call.upperBound...].drop { $0 == " " }
            guard inside.first == "'", let close = inside.dropFirst().firstIndex(of: "'") else { break }
            let after = inside[inside.index(after: close)...].drop { $0 == " " }
            guard after.first == ")" else { break }
            var start = call.lowerBound
            if rest[..<start].hasSuffix("pg_catalog.") { start = rest.index(start, offsetBy: -"pg_catalog.".count) }
            let name = inside[inside.index(after: inside.startIndex)..<close].lowercased()
            let value = values[name] ?? ""
            result += rest[..<start] + "'" + value.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "''") + "'"
            rest = after.dropFirst()
        }
        return result + rest
    }

    private mutating func set(_ name: String, _ value: String, _ session: SQLSession) throws(SQLError) -> QueryResult {
        if let allowed = Self.fixed[name], !allowed.contains(value.lowercased()) {
            throw SQLError("22023", "invalid value for parameter \"\(name)\": \"\(value)\"",
                           hint: "OmenDB works in UTF-8, with ISO dates and in UTC only.")
        }
        if name == "statement_timeout" {
            let digits = value.prefix(while: \.isNumber)
            let milliseconds = Int64(digits) ?? 0
            session.statementTimeout = milliseconds > 0 ? .milliseconds(milliseconds) : nil
        }
        values[name] = value
        return QueryResult(columns: [], rows: [], tag: "SET")
    }

    /// `sql` as lower-case words: identifiers (dots kept), quoted strings whole, and single punctuation;
    /// a trailing `;` dropped.
    private static func words(_ sql: String) -> [String] {
        var words: [String] = []
        var current = ""
        var quote: Character?
        for character in sql {
            if let open = quote {
                current.append(character)
                if character == open { quote = nil }
                continue
            }
            if character == "'" || character == "\"" {
                current.append(character)
                quote = character
            } else if character.isLetter || character.isNumber || character == "_" || character == "." || character == "-" || character == ":" || character == "+" || character == "/" {
                current.append(contentsOf: character.lowercased())
            } else {
                if !current.isEmpty { words.append(current); current = "" }
                if !character.isWhitespace && character != ";" && character != "," { words.append(String(character)) }
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }
}

extension String {
    /// The text inside one pair of single or double quotes, or the text itself.
    func trimmingQuotes() -> String {
        guard count >= 2, let first, first == "'" || first == "\"", last == first else { return self }
        return String(dropFirst().dropLast())
    }
}
