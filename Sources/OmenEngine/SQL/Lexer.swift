/// One token of SQL text, with where it starts.
public struct Token: Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        case identifier(String)  // lower-cased unless quoted
        case keyword(String)     // upper-cased
        case integer(Int64)
        case number(Double)
        case string(String)
        /// `$n`, a parameter of the statement.
        case parameter(Int)
        case symbol(String)
        case end
    }
    public var kind: Kind
    public var line: Int
    public var column: Int
    /// The token's text as written.
    public var text: String
}

/// Splits SQL text into tokens: identifiers and keywords (case-insensitive), "quoted identifiers",
/// 'strings' ('' escapes a quote), integers and decimals, operators, `--` and `/* */` comments.
public struct Lexer {
    static let keywords: Set<String> = [
        "SELECT", "FROM", "WHERE", "GROUP", "BY", "HAVING", "ORDER", "ASC", "DESC", "LIMIT", "OFFSET", "AS",
        "AND", "OR", "NOT", "NULL", "IS", "IN", "BETWEEN", "TRUE", "FALSE", "INSERT", "INTO", "VALUES",
        "UPDATE", "SET", "DELETE", "CREATE", "TABLE", "DROP", "PRIMARY", "BEGIN", "COMMIT", "ROLLBACK",
        "EXPLAIN", "JOIN", "INNER", "ON", "COPY", "EXISTS", "DISTINCT",
        "INTERVAL", "CASE", "WHEN", "THEN", "ELSE", "END", "LIKE", "LEFT", "RIGHT",
        "FULL", "CROSS", "OUTER", "NATURAL", "ILIKE", "WITH", "UNION", "INTERSECT", "EXCEPT", "ALL", "RETURNING",
    ]

    public static func tokenize(_ sql: String) throws(SQLError) -> [Token] {
        let chars = Array(sql.unicodeScalars)
        var tokens: [Token] = []
        var index = 0
        var line = 1
        var column = 1
        func advance(_ count: Int = 1) {
            for _ in 0..<count where index < chars.count {
                if chars[index] == "\n" { line += 1; column = 1 } else { column += 1 }
                index += 1
            }
        }
        while index < chars.count {
            let c = chars[index]
            let startLine = line, startColumn = column, start = index
            func token(_ kind: Token.Kind) -> Token {
                var text = ""
                text.unicodeScalars.append(contentsOf: chars[start..<index])
                return Token(kind: kind, line: startLine, column: startColumn, text: text)
            }
            if c.properties.isWhitespace { advance(); continue }
            if c == "-" && index + 1 < chars.count && chars[index + 1] == "-" {
                while index < chars.count && chars[index] != "\n" { advance() }
                continue
            }
            if c == "/" && index + 1 < chars.count && chars[index + 1] == "*" {
                advance(2)
                while index < chars.count && !(chars[index] == "*" && index + 1 < chars.count && chars[index + 1] == "/") { advance() }
                guard index < chars.count else {
                    throw .syntax("unterminated /* comment", at: Token(kind: .end, line: startLine, column: startColumn, text: ""))
                }
                advance(2)
                continue
            }
            if c.properties.isAlphabetic || c == "_" {
                while index < chars.count && (chars[index].properties.isAlphabetic || chars[index] == "_"
                                              || ("0"..."9").contains(chars[index])) { advance() }
                var word = ""
                word.unicodeScalars.append(contentsOf: chars[start..<index])
                let upper = word.uppercased()
                tokens.append(token(keywords.contains(upper) ? .keyword(upper) : .identifier(word.lowercased())))
                continue
            }
            if ("0"..."9").contains(c) || (c == "." && index + 1 < chars.count && ("0"..."9").contains(chars[index + 1])) {
                var isDecimal = false
                while index < chars.count && (("0"..."9").contains(chars[index]) || chars[index] == ".") {
                    if chars[index] == "." { if isDecimal { break }; isDecimal = true }
                    advance()
                }
                if index < chars.count && (chars[index] == "e" || chars[index] == "E") {
                    isDecimal = true
                    advance()
                    if index < chars.count && (chars[index] == "+" || chars[index] == "-") { advance() }
                    while index < chars.count && ("0"..."9").contains(chars[index]) { advance() }
                }
                var text = ""
                text.unicodeScalars.append(contentsOf: chars[start..<index])
                if !isDecimal, let value = Int64(text) {
                    tokens.append(token(.integer(value)))
                } else if let value = Double(text) {
                    tokens.append(token(.number(value)))
                } else {
                    throw .syntax("invalid number \(text)", at: token(.end))
                }
                continue
            }
            if c == "$" && index + 1 < chars.count && ("0"..."9").contains(chars[index + 1]) {
                advance()
                while index < chars.count && ("0"..."9").contains(chars[index]) { advance() }
                var digits = ""
                digits.unicodeScalars.append(contentsOf: chars[(start + 1)..<index])
                guard let number = Int(digits), number >= 1, number <= 65535 else {
                    throw .syntax("there is no parameter $\(digits)", at: token(.end))
                }
                tokens.append(token(.parameter(number)))
                continue
            }
            if c == "'" || c == "\"" {
                let quote = c
                advance()
                var text = ""
                while true {
                    guard index < chars.count else {
                        throw .syntax(quote == "'" ? "unterminated quoted string" : "unterminated quoted identifier",
                                      at: Token(kind: .end, line: startLine, column: startColumn, text: ""))
                    }
                    if chars[index] == quote {
                        if index + 1 < chars.count && chars[index + 1] == quote {
                            text.unicodeScalars.append(quote)
                            advance(2)
                            continue
                        }
                        advance()
                        break
                    }
                    text.unicodeScalars.append(chars[index])
                    advance()
                }
                tokens.append(token(quote == "'" ? .string(text) : .identifier(text)))
                continue
            }
            let two = index + 1 < chars.count ? String(String.UnicodeScalarView([c, chars[index + 1]])) : ""
            if ["<=", ">=", "<>", "!=", "||", "::"].contains(two) {
                advance(2)
                tokens.append(token(.symbol(two == "!=" ? "<>" : two)))
                continue
            }
            if "=<>+-*/%(),;.".unicodeScalars.contains(c) {
                advance()
                tokens.append(token(.symbol(String(c))))
                continue
            }
            advance()
            throw .syntax("unexpected character \"\(String(c))\"", at: token(.end))
        }
        tokens.append(Token(kind: .end, line: line, column: column, text: ""))
        return tokens
    }
}
