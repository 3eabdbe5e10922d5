/// A recursive-descent parser for OmenDB's SQL. Precedence, loosest first: OR, AND, NOT, comparison
/// (= <> < <= > >=, IS [NOT] NULL, [NOT] BETWEEN, [NOT] IN), || , + -, * / %, unary minus.
public struct Parser {
    private var tokens: [Token]
    private var position = 0

    /// Parses a script of `;`-separated statements.
    public static func parse(_ sql: String) throws(SQLError) -> [Statement] {
        var parser = Parser(tokens: try Lexer.tokenize(sql))
        var statements: [Statement] = []
        while true {
            while parser.accept(symbol: ";") {}
            if case .end = parser.current.kind { return statements }
            statements.append(try parser.statement())
            if case .end = parser.current.kind { return statements }
            try parser.expect(symbol: ";")
        }
    }

    private init(tokens: [Token]) { self.tokens = tokens }

    private var current: Token { tokens[position] }

    private mutating func next() -> Token {
        let token = tokens[position]
        if position < tokens.count - 1 { position += 1 }
        return token
    }

    private func isKeyword(_ word: String) -> Bool {
        if case .keyword(word) = current.kind { return true }
        return false
    }

    /// Whether the token `ahead` places on from the current one is `symbol`.
    private func isSymbol(_ symbol: String, at ahead: Int = 0) -> Bool {
        guard position + ahead < tokens.count else { return false }
        if case .symbol(symbol) = tokens[position + ahead].kind { return true }
        return false
    }

    private mutating func accept(_ word: String) -> Bool {
        guard isKeyword(word) else { return false }
        _ = next()
        return true
    }

    private mutating func accept(symbol: String) -> Bool {
        guard isSymbol(symbol) else { return false }
        _ = next()
        return true
    }

    private func unexpected(_ wanted: String) -> SQLError {
        let found: String
        switch current.kind {
        case .end: found = "end of input"
        default: found = "\"\(current.text)\""
        }
        return .syntax("syntax error at or near \(found): expected \(wanted)", at: current)
    }

    private mutating func expect(_ word: String) throws(SQLError) {
        guard accept(word) else { throw unexpected(word) }
    }

    private mutating func expect(symbol: String) throws(SQLError) {
        guard accept(symbol: symbol) else { throw unexpected("\"\(symbol)\"") }
    }

    private mutating func identifier(_ what: String = "a name") throws(SQLError) -> String {
        guard case .identifier(let name) = current.kind else { throw unexpected(what) }
        _ = next()
        return name
    }

    // MARK: Statements

    private mutating func statement() throws(SQLError) -> Statement {
        let token = current
        switch token.kind {
        case .keyword("SELECT"): return .select(try select())
        case .keyword("INSERT"): return try insert()
        case .keyword("UPDATE"): return try update()
        case .keyword("DELETE"): return try delete()
        case .keyword("CREATE"): return try createTable()
        case .keyword("DROP"): return try dropTable()
        case .keyword("COPY"): return try copy()
        case .keyword("EXPLAIN"):
            _ = next()
            let inner = try statement()
            switch inner {
            case .select, .update, .delete: return .explain(inner)
            default: throw .syntax("EXPLAIN takes SELECT, UPDATE or DELETE", at: token)
            }
        case .keyword("BEGIN"):
            _ = next()
            _ = accept("TRANSACTION") || accept("WORK")
            return .begin
        case .keyword("COMMIT"), .keyword("END"):
            _ = next()
            _ = accept("TRANSACTION") || accept("WORK")
            return .commit
        case .keyword("ROLLBACK"):
            _ = next()
            _ = accept("TRANSACTION") || accept("WORK")
            return .rollback
        default:
            throw unexpected("a statement (SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, COPY, BEGIN, COMMIT, ROLLBACK, EXPLAIN)")
        }
    }

    private mutating func tableReference() throws(SQLError) -> TableReference {
        let token = current
        let name = try identifier("a table name")
        var alias: String?
        if accept("AS") { alias = try identifier("an alias") }
        else if case .identifier(let word) = current.kind { _ = next(); alias = word }
        return TableReference(name: name, alias: alias, token: token)
    }

    private mutating func createTable() throws(SQLError) -> Statement {
        try expect("CREATE")
        try expect("TABLE")
        var ifNotExists = false
        if accept("IF") {
            try expect("NOT")
            try expect("EXISTS")
            ifNotExists = true
        }
        let nameToken = current
        let name = try identifier("a table name")
        try expect(symbol: "(")
        var columns: [Column] = []
        var primaryKey: String?
        var keyToken = nameToken
        repeat {
            if accept("PRIMARY") {
                try expect("KEY")
                try expect(symbol: "(")
                keyToken = current
                let key = try identifier("a column name")
                try expect(symbol: ")")
                guard primaryKey == nil else { throw SQLError("42P16", "multiple primary keys for table \"\(name)\" are not allowed", at: keyToken) }
                primaryKey = key
                continue
            }
            let columnToken = current
            let columnName = try identifier("a column name")
            let type = try columnType()
            var column = Column(columnName, type)
            while true {
                if accept("NOT") {
                    try expect("NULL")
                    column.nullable = false
                } else if accept("NULL") {
                    column.nullable = true
                } else if accept("PRIMARY") {
                    try expect("KEY")
                    guard primaryKey == nil else {
                        throw SQLError("42P16", "multiple primary keys for table \"\(name)\" are not allowed", at: columnToken)
                    }
                    primaryKey = columnName
                    keyToken = columnToken
                    column.nullable = false
                } else {
                    break
                }
            }
            columns.append(column)
        } while accept(symbol: ",")
        try expect(symbol: ")")
        guard let primaryKey else {
            throw SQLError("42P16", "table \"\(name)\" needs a PRIMARY KEY (a BIGINT, INTEGER or TIMESTAMP column)", at: nameToken)
        }
        do {
            return .createTable(try TableSchema(name: name, columns: columns, primaryKey: primaryKey), ifNotExists: ifNotExists)
        } catch {
            throw SQLError("42P16", error.description, at: keyToken)
        }
    }

    private mutating func columnType() throws(SQLError) -> ColumnType {
        let token = current
        guard case .identifier(let word) = token.kind else { throw unexpected("a type") }
        _ = next()
        switch word {
        case "bigint", "int8", "integer", "int", "int4", "smallint", "int2": return .int64
        case "double":
            guard case .identifier("precision") = current.kind else { return .double }
            _ = next()
            return .double
        case "float", "float8", "real", "float4", "numeric", "decimal": return .double
        case "text", "varchar", "string": return .text
        case "boolean", "bool": return .bool
        case "timestamp", "timestamptz": return .timestamp
        default: throw SQLError("42704", "type \"\(word)\" does not exist", at: token,
                                hint: "Types: BIGINT, INTEGER, DOUBLE PRECISION, TEXT, BOOLEAN, TIMESTAMP.")
        }
    }

    private mutating func dropTable() throws(SQLError) -> Statement {
        try expect("DROP")
        try expect("TABLE")
        var ifExists = false
        if accept("IF") {
            try expect("EXISTS")
            ifExists = true
        }
        let token = current
        return .dropTable(try identifier("a table name"), ifExists: ifExists, token)
    }

    private mutating func insert() throws(SQLError) -> Statement {
        try expect("INSERT")
        try expect("INTO")
        let table = try tableReference()
        var columns: [String]?
        if accept(symbol: "(") {
            var names: [String] = []
            repeat { names.append(try identifier("a column name")) } while accept(symbol: ",")
            try expect(symbol: ")")
            columns = names
        }
        try expect("VALUES")
        var rows: [[Expression]] = []
        repeat {
            try expect(symbol: "(")
            var row: [Expression] = []
            repeat { row.append(try expression()) } while accept(symbol: ",")
            try expect(symbol: ")")
            rows.append(row)
        } while accept(symbol: ",")
        return .insert(table: table, columns: columns, rows: rows)
    }

    private mutating func copy() throws(SQLError) -> Statement {
        try expect("COPY")
        let table = try tableReference()
        let from: Bool
        if case .identifier("from") = current.kind { _ = next(); from = true }
        else if accept("FROM") { from = true }
        else if accept("TO") { from = false }
        else { throw unexpected("FROM or TO") }
        guard case .string(let path) = current.kind else { throw unexpected("a quoted file name") }
        _ = next()
        var header = false
        if accept(symbol: "(") {
            repeat {
                if accept("HEADER") {
                    header = true
                    if accept("TRUE") { header = true } else if accept("FALSE") { header = false }
                } else if case .identifier("format") = current.kind {
                    _ = next()
                    guard case .identifier("csv") = current.kind else { throw unexpected("csv") }
                    _ = next()
                } else {
                    throw unexpected("HEADER or FORMAT csv")
                }
            } while accept(symbol: ",")
            try expect(symbol: ")")
        }
        return from ? .copyFrom(table: table, path: path, header: header) : .copyTo(table: table, path: path, header: header)
    }

    private mutating func update() throws(SQLError) -> Statement {
        try expect("UPDATE")
        let table = try tableReference()
        try expect("SET")
        var assignments: [(String, Expression, Token)] = []
        repeat {
            let token = current
            let name = try identifier("a column name")
            try expect(symbol: "=")
            assignments.append((name, try expression(), token))
        } while accept(symbol: ",")
        let filter = accept("WHERE") ? try expression() : nil
        return .update(table: table, assignments: assignments, filter: filter)
    }

    private mutating func delete() throws(SQLError) -> Statement {
        try expect("DELETE")
        try expect("FROM")
        let table = try tableReference()
        let filter = accept("WHERE") ? try expression() : nil
        return .delete(table: table, filter: filter)
    }

    private mutating func select() throws(SQLError) -> Select {
        try expect("SELECT")
        let distinct = accept("DISTINCT")
        var items: [SelectItem] = []
        repeat {
            if accept(symbol: "*") {
                items.append(SelectItem(expression: nil, alias: nil))
                continue
            }
            let value = try expression()
            var alias: String?
            if accept("AS") { alias = try identifier("an alias") }
            else if case .identifier(let word) = current.kind { _ = next(); alias = word }
            items.append(SelectItem(expression: value, alias: alias))
        } while accept(symbol: ",")
        var select = Select(items: items)
        select.distinct = distinct
        if accept("FROM") {
            select.from = try tableReference()
            if accept("INNER") { try expect("JOIN"); select.join = try joinClause(leftOuter: false) }
            else if accept("JOIN") { select.join = try joinClause(leftOuter: false) }
            else if accept("LEFT") {
                _ = accept("OUTER")
                try expect("JOIN")
                select.join = try joinClause(leftOuter: true)
            } else if isKeyword("RIGHT") || isKeyword("FULL") || isKeyword("CROSS") || isKeyword("NATURAL") {
                throw SQLError("0A000", "\(current.text) joins are not supported yet", at: current,
                               hint: "Use JOIN ... ON or LEFT JOIN ... ON (a RIGHT JOIN is a LEFT JOIN with the tables swapped).")
            }
            else if isSymbol(",") { throw SQLError("0A000", "comma joins are not supported; use JOIN ... ON", at: current) }
        }
        if accept("WHERE") { select.filter = try expression() }
        if accept("GROUP") {
            try expect("BY")
            repeat { select.groupBy.append(try expression()) } while accept(symbol: ",")
        }
        if accept("HAVING") { select.having = try expression() }
        if accept("ORDER") {
            try expect("BY")
            repeat {
                let value = try expression()
                var descending = false
                if accept("DESC") { descending = true } else { _ = accept("ASC") }
                select.orderBy.append(OrderItem(expression: value, descending: descending))
            } while accept(symbol: ",")
        }
        if accept("LIMIT") { select.limit = try expression() }
        if accept("OFFSET") { select.offset = try expression() }
        return select
    }

    private mutating func joinClause(leftOuter: Bool) throws(SQLError) -> (table: TableReference, on: Expression, leftOuter: Bool) {
        let table = try tableReference()
        try expect("ON")
        return (table, try expression(), leftOuter)
    }

    /// `CASE [operand] WHEN ... THEN ... [ELSE ...] END`, as the function `case` over (condition, result)
    /// pairs and the ELSE result (NULL when absent); an operand makes each condition `operand = value`.
    private mutating func caseExpression() throws(SQLError) -> Expression {
        let token = next()
        let operand: Expression? = isKeyword("WHEN") ? nil : try expression()
        var arguments: [Expression] = []
        guard isKeyword("WHEN") else { throw unexpected("WHEN") }
        while isKeyword("WHEN") {
            let when = next()
            let condition = try expression()
            try expect("THEN")
            arguments.append(operand.map { .binary("=", $0, condition, when) } ?? condition)
            arguments.append(try expression())
        }
        arguments.append(accept("ELSE") ? try expression() : .literal(.null, token))
        try expect("END")
        return .function("case", arguments, star: false, token)
    }

    // MARK: Expressions

    mutating func expression() throws(SQLError) -> Expression { try or() }

    private mutating func or() throws(SQLError) -> Expression {
        var left = try and()
        while isKeyword("OR") {
            let token = next()
            left = .binary("OR", left, try and(), token)
        }
        return left
    }

    private mutating func and() throws(SQLError) -> Expression {
        var left = try not()
        while isKeyword("AND") {
            let token = next()
            left = .binary("AND", left, try not(), token)
        }
        return left
    }

    private mutating func not() throws(SQLError) -> Expression {
        if isKeyword("NOT") {
            let token = next()
            return .unary("NOT", try not(), token)
        }
        return try comparison()
    }

    private mutating func comparison() throws(SQLError) -> Expression {
        let left = try concatenation()
        let token = current
        if case .symbol(let op) = token.kind, ["=", "<>", "<", "<=", ">", ">="].contains(op) {
            _ = next()
            return .binary(op, left, try concatenation(), token)
        }
        if accept("IS") {
            let negated = accept("NOT")
            try expect("NULL")
            return .isNull(left, negated: negated)
        }
        let negated = accept("NOT")
        if isKeyword("LIKE") || isKeyword("ILIKE") {
            let token = next()
            let match = Expression.function(token.text.lowercased(), [left, try concatenation()], star: false, token)
            return negated ? .unary("NOT", match, token) : match
        }
        if accept("BETWEEN") {
            let low = try concatenation()
            try expect("AND")
            return .between(left, low, try concatenation(), negated: negated)
        }
        if accept("IN") {
            try expect(symbol: "(")
            var list: [Expression] = []
            repeat { list.append(try expression()) } while accept(symbol: ",")
            try expect(symbol: ")")
            return .inList(left, list, negated: negated)
        }
        if negated { throw unexpected("BETWEEN or IN after NOT") }
        return left
    }

    private mutating func concatenation() throws(SQLError) -> Expression {
        var left = try additive()
        while isSymbol("||") {
            let token = next()
            left = .binary("||", left, try additive(), token)
        }
        return left
    }

    private mutating func additive() throws(SQLError) -> Expression {
        var left = try multiplicative()
        while isSymbol("+") || isSymbol("-") {
            let token = next()
            left = .binary(token.text, left, try multiplicative(), token)
        }
        return left
    }

    private mutating func multiplicative() throws(SQLError) -> Expression {
        var left = try unary()
        while isSymbol("*") || isSymbol("/") || isSymbol("%") {
            let token = next()
            left = .binary(token.text, left, try unary(), token)
        }
        return left
    }

    private mutating func unary() throws(SQLError) -> Expression {
        if isSymbol("-") {
            let token = next()
            // Folded here so that -9223372036854775808 is a literal, not an overflow.
            if case .integer(let value) = current.kind {
                _ = next()
                return .literal(.int64(-value), token)
            }
            if case .identifier = current.kind {} else if isSymbol("(") {} else if case .number(let value) = current.kind {
                _ = next()
                return .literal(.double(-value), token)
            }
            return .unary("-", try unary(), token)
        }
        if isSymbol("+") { _ = next() }
        var value = try primary()
        while isSymbol("::") {
            let token = next()
            value = .function("cast", [value, .literal(.text(try typeName()), token)], star: false, token)
        }
        return value
    }

    /// A type name after `::` or `AS` in CAST, lowercased (`double precision` in full).
    private mutating func typeName() throws(SQLError) -> String {
        let name = try identifier("a type name").lowercased()
        if name == "double", case .identifier(let word) = current.kind, word.lowercased() == "precision" {
            _ = next()
            return "double precision"
        }
        return name
    }

    private mutating func primary() throws(SQLError) -> Expression {
        let token = current
        switch token.kind {
        case .integer(let value):
            _ = next()
            return .literal(.int64(value), token)
        case .number(let value):
            _ = next()
            return .literal(.double(value), token)
        case .string(let text):
            _ = next()
            return .literal(.text(text), token)
        case .keyword("NULL"):
            _ = next()
            return .literal(.null, token)
        case .keyword("TRUE"):
            _ = next()
            return .literal(.bool(true), token)
        case .keyword("FALSE"):
            _ = next()
            return .literal(.bool(false), token)
        case .keyword("INTERVAL"):
            _ = next()
            guard case .string(let text) = current.kind else { throw unexpected("a quoted interval such as '1 hour'") }
            let literal = next()
            guard let micros = Timestamps.parseInterval(text) else {
                throw SQLError("22007", "invalid input syntax for type interval: \"\(text)\"", at: literal)
            }
            return .interval(micros, token)
        case .symbol("("):
            _ = next()
            let inner = try expression()
            try expect(symbol: ")")
            return inner
        case .keyword("CASE"):
            return try caseExpression()
        case .identifier(let name) where ["cast", "extract"].contains(name.lowercased()) && isSymbol("(", at: 1):
            _ = next()
            _ = next()
            let first: Expression
            if name.lowercased() == "cast" {
                let value = try expression()
                try expect("AS")
                first = .function("cast", [value, .literal(.text(try typeName()), token)], star: false, token)
            } else {
                let field: String
                if case .string(let text) = current.kind { _ = next(); field = text } else { field = try identifier("a field such as hour") }
                try expect("FROM")
                first = .function("date_part", [.literal(.text(field.lowercased()), token), try expression()], star: false, token)
            }
            try expect(symbol: ")")
            return first
        case .identifier(let name):
            _ = next()
            if accept(symbol: "(") {
                if accept(symbol: "*") {
                    try expect(symbol: ")")
                    return .function(name, [], star: true, token)
                }
                var arguments: [Expression] = []
                if !isSymbol(")") {
                    repeat { arguments.append(try expression()) } while accept(symbol: ",")
                }
                try expect(symbol: ")")
                return .function(name, arguments, star: false, token)
            }
            if accept(symbol: ".") {
                let columnToken = current
                let column = try identifier("a column name")
                return .column(table: name, name: column, columnToken)
            }
            return .column(table: nil, name: name, token)
        default:
            throw unexpected("an expression")
        }
    }
}
