/// A recursive-descent parser for OmenDB's SQL. Precedence, loosest first: OR, AND, NOT, comparison
/// (= <> < <= > >=, IS [NOT] NULL, [NOT] BETWEEN, [NOT] IN), || , + -, * / %, unary minus.
public struct Parser {
    private var tokens: [Token]
    private var position = 0
    /// How deep the expression being parsed nests (parentheses, NOT and minus chains, subqueries, and
    /// arithmetic chains, whose trees are as deep as they are long).
    private var depth = 0
    /// Deeper statements are refused (54001), as are ones that would take the parser past its stack
    /// budget; chains of AND and OR are built balanced and cost only their logarithm.
    static let depthLimit = 10_000
    private let stackLimit = StackBudget.limit()

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

    private func isKeyword(_ word: String, at ahead: Int = 0) -> Bool {
        guard position + ahead < tokens.count else { return false }
        if case .keyword(word) = tokens[position + ahead].kind { return true }
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

    /// Words that are keywords only in one place (`OVER`, `ROWS`, `CONFLICT`...) stay usable as names.
    private func isWord(_ word: String, at ahead: Int = 0) -> Bool {
        guard position + ahead < tokens.count else { return false }
        if case .identifier(word) = tokens[position + ahead].kind { return true }
        return false
    }

    private mutating func accept(word: String) -> Bool {
        guard isWord(word) else { return false }
        _ = next()
        return true
    }

    private mutating func expect(word: String) throws(SQLError) {
        guard accept(word: word) else { throw unexpected(word.uppercased()) }
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

    /// A name after AS: any word, keywords too, as PostgreSQL's column labels.
    private mutating func label(_ what: String) throws(SQLError) -> String {
        if case .keyword = current.kind { return next().text.lowercased() }
        return try identifier(what)
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
        case .keyword("SELECT"), .keyword("WITH"), .symbol("("): return .query(try query())
        case .keyword("INSERT"): return try insert()
        case .keyword("UPDATE"): return try update()
        case .keyword("DELETE"): return try delete()
        case .keyword("CREATE"): return isWord("index", at: 1) ? try createIndex() : try createTable()
        case .keyword("DROP"): return isWord("index", at: 1) ? try dropIndex() : try dropTable()
        case .keyword("COPY"): return try copy()
        case .keyword("EXPLAIN"):
            _ = next()
            let inner = try statement()
            switch inner {
            case .query, .update, .delete: return .explain(inner)
            default: throw .syntax("EXPLAIN takes SELECT, UPDATE or DELETE", at: token)
            }
        case .keyword("BEGIN"):
            _ = next()
            _ = accept(word: "transaction") || accept(word: "work")
            return .begin
        case .keyword("COMMIT"), .keyword("END"):
            _ = next()
            _ = accept(word: "transaction") || accept(word: "work")
            return .commit
        case .keyword("ROLLBACK"):
            _ = next()
            _ = accept(word: "transaction") || accept(word: "work")
            return .rollback
        default:
            throw unexpected("a statement (SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, COPY, BEGIN, COMMIT, ROLLBACK, EXPLAIN)")
        }
    }

    private mutating func tableReference() throws(SQLError) -> TableReference {
        let token = current
        let name = try identifier("a table name")
        var alias: String?
        if accept("AS") { alias = try label("an alias") }
        // USING after a joined table starts its column list (PostgreSQL reserves the word).
        else if case .identifier(let word) = current.kind, word != "using" { _ = next(); alias = word }
        return TableReference(name: name, alias: alias, token: token)
    }

    private mutating func createTable() throws(SQLError) -> Statement {
        try expect("CREATE")
        try expect("TABLE")
        var ifNotExists = false
        if accept(word: "if") {
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
                try expect(word: "key")
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
                    try expect(word: "key")
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
        if accept("INTERVAL") { return .interval }
        guard case .identifier(let word) = token.kind else { throw unexpected("a type") }
        _ = next()
        if word == "double" {
            if case .identifier("precision") = current.kind { _ = next() }
            return .double
        }
        guard let type = word == "string" ? .text : ColumnType(sqlTypeName: word) else {
            throw SQLError("42704", "type \"\(word)\" does not exist", at: token,
                           hint: "Types: BIGINT, INTEGER, DOUBLE PRECISION, TEXT, BOOLEAN, TIMESTAMP, DATE, INTERVAL, UUID.")
        }
        return type
    }

    private mutating func dropTable() throws(SQLError) -> Statement {
        try expect("DROP")
        try expect("TABLE")
        var ifExists = false
        if accept(word: "if") {
            try expect("EXISTS")
            ifExists = true
        }
        let token = current
        return .dropTable(try identifier("a table name"), ifExists: ifExists, token)
    }

    /// `CREATE INDEX [IF NOT EXISTS] [name] ON table [USING learned] (column)`: one column; without a
    /// name, PostgreSQL's `table_column_idx`.
    private mutating func createIndex() throws(SQLError) -> Statement {
        try expect("CREATE")
        try expect(word: "index")
        var ifNotExists = false
        if accept(word: "if") {
            try expect("NOT")
            try expect("EXISTS")
            ifNotExists = true
        }
        let name = isKeyword("ON") ? nil : try identifier("an index name")
        try expect("ON")
        let tableToken = current
        let table = try identifier("a table name")
        if accept(word: "using") { try expect(word: "learned") }
        try expect(symbol: "(")
        let column = try identifier("a column name")
        if isSymbol(",") {
            throw SQLError("0A000", "an index covers one column", at: current, hint: "Create one index per column.")
        }
        try expect(symbol: ")")
        return .createIndex(name: name ?? "\(table)_\(column)_idx", table: table, column: column, ifNotExists: ifNotExists, tableToken)
    }

    private mutating func dropIndex() throws(SQLError) -> Statement {
        try expect("DROP")
        try expect(word: "index")
        let ifExists = accept(word: "if")
        if ifExists { try expect("EXISTS") }
        let token = current
        return .dropIndex(try identifier("an index name"), ifExists: ifExists, token)
    }

    private mutating func insert() throws(SQLError) -> Statement {
        try expect("INSERT")
        try expect("INTO")
        let table = try tableReference()
        let columns = try columnList()
        let source: InsertSource
        if accept("VALUES") {
            var rows: [[Expression]] = []
            repeat {
                try expect(symbol: "(")
                var row: [Expression] = []
                repeat { row.append(try expression()) } while accept(symbol: ",")
                try expect(symbol: ")")
                rows.append(row)
            } while accept(symbol: ",")
            source = .values(rows)
        } else if isKeyword("SELECT") || isKeyword("WITH") || isSymbol("(") {
            source = .query(try query())
        } else {
            throw unexpected("VALUES or SELECT")
        }
        var onConflict: ConflictAction?
        if isKeyword("ON") && isWord("conflict", at: 1) {
            let token = next()
            _ = next()
            if accept(symbol: "(") {
                repeat { _ = try identifier("a column name") } while accept(symbol: ",")
                try expect(symbol: ")")
            }
            try expect(word: "do")
            if accept(word: "nothing") {
                onConflict = ConflictAction(assignments: [], filter: nil, token: token)
            } else {
                try expect("UPDATE")
                try expect("SET")
                let assignments = try assignmentList()
                onConflict = ConflictAction(assignments: assignments, filter: accept("WHERE") ? try expression() : nil, token: token)
            }
        }
        return .insert(table: table, columns: columns, source: source, onConflict: onConflict, returning: try returning())
    }

    /// `(a, b, ...)` after a table name (INSERT's and COPY's target columns), or nil without one.
    private mutating func columnList() throws(SQLError) -> [String]? {
        guard accept(symbol: "(") else { return nil }
        var names: [String] = []
        repeat { names.append(try identifier("a column name")) } while accept(symbol: ",")
        try expect(symbol: ")")
        return names
    }

    /// `RETURNING items`, or none.
    private mutating func returning() throws(SQLError) -> [SelectItem] {
        accept("RETURNING") ? try selectItems() : []
    }

    private mutating func assignmentList() throws(SQLError) -> [Assignment] {
        var assignments: [Assignment] = []
        repeat {
            let token = current
            let name = try identifier("a column name")
            try expect(symbol: "=")
            assignments.append(Assignment(column: name, value: try expression(), token: token))
        } while accept(symbol: ",")
        return assignments
    }

    private mutating func copy() throws(SQLError) -> Statement {
        try expect("COPY")
        // No alias here: the word after the table is FROM or TO.
        let tableToken = current
        let table = TableReference(name: try identifier("a table name"), alias: nil, token: tableToken)
        let columns = try columnList()
        let from: Bool
        if case .identifier("from") = current.kind { _ = next(); from = true }
        else if accept("FROM") { from = true }
        else if accept(word: "to") { from = false }
        else { throw unexpected("FROM or TO") }
        var path: String?
        if case .string(let file) = current.kind {
            _ = next()
            path = file
        } else if !accept(word: from ? "stdin" : "stdout") {
            throw unexpected(from ? "a quoted file name or STDIN" : "a quoted file name or STDOUT")
        }
        if columns != nil && !from { throw unexpected("FROM (COPY TO takes no column list)") }
        var header = CSV.Header.none
        var format: CopyFormat?
        _ = accept("WITH")
        if accept(symbol: "(") {
            repeat {
                if accept(word: "header") {
                    header = .skip
                    if accept("TRUE") { header = .skip } else if accept("FALSE") { header = .none }
                    else if accept(word: "match") { header = .match }
                } else if case .identifier("format") = current.kind {
                    _ = next()
                    if accept(word: "csv") { format = .csv } else if accept(word: "text") { format = .text } else {
                        throw unexpected("csv or text")
                    }
                } else {
                    throw unexpected("HEADER or FORMAT csv|text")
                }
            } while accept(symbol: ",")
            try expect(symbol: ")")
        }
        return from ? .copyFrom(table: table, columns: columns, path: path, header: header, format: format)
            : .copyTo(table: table, path: path, header: header != .none, format: format)
    }

    private mutating func update() throws(SQLError) -> Statement {
        try expect("UPDATE")
        let table = try tableReference()
        try expect("SET")
        let assignments = try assignmentList()
        let filter = accept("WHERE") ? try expression() : nil
        return .update(table: table, assignments: assignments, filter: filter, returning: try returning())
    }

    private mutating func delete() throws(SQLError) -> Statement {
        try expect("DELETE")
        try expect("FROM")
        let table = try tableReference()
        let filter = accept("WHERE") ? try expression() : nil
        return .delete(table: table, filter: filter, returning: try returning())
    }

    /// `[WITH ...] body [ORDER BY ...] [LIMIT ...] [OFFSET ...]`; a plain SELECT keeps its ORDER BY and
    /// LIMIT, which may name its input columns.
    private mutating func query() throws(SQLError) -> Query {
        try descend()
        defer { depth -= 1 }
        var with: [(name: String, query: Query, token: Token)] = []
        if accept("WITH") {
            repeat {
                let token = current
                let name = try identifier("a WITH query name")
                try expect("AS")
                try expect(symbol: "(")
                with.append((name, try query(), token))
                try expect(symbol: ")")
            } while accept(symbol: ",")
        }
        var body = try queryTerm()
        while isKeyword("UNION") || isKeyword("EXCEPT") {
            let op: SetOperator = next().text.uppercased() == "UNION" ? .union : .except
            let all = accept("ALL")
            if !all { _ = accept("DISTINCT") }
            body = .set(op, all: all, body, try queryTerm())
        }
        var orderBy: [OrderItem] = []
        if accept("ORDER") {
            try expect("BY")
            orderBy = try orderItems()
        }
        var limit = accept("LIMIT") ? try expression() : nil
        var offset: Expression?
        if accept("OFFSET") {
            offset = try expression()
            _ = accept(word: "rows") || accept(word: "row")
        }
        // The standard's `FETCH FIRST n ROWS ONLY`.
        if limit == nil && accept(word: "fetch") {
            let token = current
            guard accept(word: "first") || accept(word: "next") else { throw unexpected("FIRST or NEXT") }
            limit = isWord("row") || isWord("rows") ? .literal(.int64(1), token) : try expression()
            guard accept(word: "rows") || accept(word: "row") else { throw unexpected("ROWS") }
            try expect(word: "only")
        }
        if case .select(var select) = body, select.orderBy.isEmpty, select.limit == nil, select.offset == nil {
            select.orderBy = orderBy
            select.limit = limit
            select.offset = offset
            return Query(with: with, body: .select(select))
        }
        return Query(with: with, body: body, orderBy: orderBy, limit: limit, offset: offset)
    }

    /// INTERSECT binds tighter than UNION and EXCEPT.
    private mutating func queryTerm() throws(SQLError) -> QueryBody {
        var body = try queryPrimary()
        while accept("INTERSECT") {
            let all = accept("ALL")
            if !all { _ = accept("DISTINCT") }
            body = .set(.intersect, all: all, body, try queryPrimary())
        }
        return body
    }

    /// A SELECT, or a parenthesized query (whose ORDER BY and LIMIT it keeps, as a derived table's).
    private mutating func queryPrimary() throws(SQLError) -> QueryBody {
        if accept(symbol: "(") {
            let inner = try query()
            try expect(symbol: ")")
            if inner.with.isEmpty && inner.orderBy.isEmpty && inner.limit == nil && inner.offset == nil { return inner.body }
            let token = current
            var select = Select(items: [SelectItem(expression: nil, alias: nil)])
            select.from = .derived(inner, alias: "subquery", token)
            return .select(select)
        }
        return .select(try select())
    }

    private mutating func selectItems() throws(SQLError) -> [SelectItem] {
        var items: [SelectItem] = []
        repeat {
            if accept(symbol: "*") {
                items.append(SelectItem(expression: nil, alias: nil))
                continue
            }
            if case .identifier(let table) = current.kind, isSymbol(".", at: 1), isSymbol("*", at: 2) {
                for _ in 0..<3 { _ = next() }
                items.append(SelectItem(expression: nil, alias: nil, table: table))
                continue
            }
            let value = try expression()
            var alias: String?
            if accept("AS") { alias = try label("an alias") }
            else if case .identifier(let word) = current.kind { _ = next(); alias = word }
            items.append(SelectItem(expression: value, alias: alias))
        } while accept(symbol: ",")
        return items
    }

    private mutating func orderItems() throws(SQLError) -> [OrderItem] {
        var items: [OrderItem] = []
        repeat {
            let value = try expression()
            var descending = false
            if accept("DESC") { descending = true } else { _ = accept("ASC") }
            var nullsFirst: Bool?
            if accept(word: "nulls") {
                if accept(word: "first") { nullsFirst = true }
                else if accept(word: "last") { nullsFirst = false }
                else { throw unexpected("FIRST or LAST") }
            }
            items.append(OrderItem(expression: value, descending: descending, nullsFirst: nullsFirst))
        } while accept(symbol: ",")
        return items
    }

    private mutating func select() throws(SQLError) -> Select {
        try expect("SELECT")
        let distinct = accept("DISTINCT")
        var distinctOn: [Expression] = []
        if distinct && accept("ON") {
            try expect(symbol: "(")
            repeat { distinctOn.append(try expression()) } while accept(symbol: ",")
            try expect(symbol: ")")
        }
        var select = Select(items: try selectItems())
        select.distinct = distinct && distinctOn.isEmpty
        select.distinctOn = distinctOn
        if accept("FROM") {
            var from = try fromPrimary()
            while true {
                let token = current
                if accept(symbol: ",") {
                    from = .join(from, try fromPrimary(), .cross, on: nil, token)
                    continue
                }
                if accept("CROSS") {
                    try expect("JOIN")
                    from = .join(from, try fromPrimary(), .cross, on: nil, token)
                    continue
                }
                let kind: JoinKind
                let natural = accept("NATURAL")
                if accept("JOIN") { kind = .inner }
                else if accept("INNER") { try expect("JOIN"); kind = .inner }
                else if isKeyword("LEFT") || isKeyword("RIGHT") || isKeyword("FULL") {
                    switch next().text.uppercased() {
                    case "LEFT": kind = .left
                    case "RIGHT": kind = .right
                    default: kind = .full
                    }
                    _ = accept("OUTER")
                    try expect("JOIN")
                } else if natural {
                    throw unexpected("JOIN")
                } else {
                    break
                }
                let right = try fromPrimary()
                if natural {
                    from = .joinUsing(from, right, kind, nil, token)
                    continue
                }
                if accept(word: "using") {
                    try expect(symbol: "(")
                    var columns: [String] = []
                    repeat { columns.append(try identifier("a column name")) } while accept(symbol: ",")
                    try expect(symbol: ")")
                    from = .joinUsing(from, right, kind, columns, token)
                    continue
                }
                try expect("ON")
                from = .join(from, right, kind, on: try expression(), token)
            }
            select.from = from
        }
        if accept("WHERE") { select.filter = try expression() }
        if accept("GROUP") {
            try expect("BY")
            repeat { select.groupBy.append(try expression()) } while accept(symbol: ",")
        }
        if accept("HAVING") { select.having = try expression() }
        return select
    }

    /// A table, a WITH query's name, or `(query) [AS] alias`.
    private mutating func fromPrimary() throws(SQLError) -> FromItem {
        let token = current
        if accept(symbol: "(") {
            let inner = try query()
            try expect(symbol: ")")
            if accept("AS") { return .derived(inner, alias: try label("an alias"), token) }
            guard case .identifier(let alias) = current.kind else {
                throw SQLError("42601", "subquery in FROM must have an alias", at: current,
                               hint: "For example, FROM (SELECT ...) [AS] foo.")
            }
            _ = next()
            return .derived(inner, alias: alias, token)
        }
        return .table(try tableReference())
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
            arguments.append(operand.map { .binary(.equal, $0, condition, when) } ?? condition)
            arguments.append(try expression())
        }
        arguments.append(accept("ELSE") ? try expression() : .literal(.null, token))
        try expect("END")
        return .function("case", arguments, star: false, token)
    }

    /// `OVER ( [PARTITION BY ...] [ORDER BY ...] [ROWS|RANGE frame] )` after a call.
    private mutating func windowCall(_ name: String, _ arguments: [Expression], star: Bool, _ token: Token) throws(SQLError) -> WindowCall {
        try expect(symbol: "(")
        var call = WindowCall(function: name, arguments: arguments, star: star, partitionBy: [], orderBy: [], frame: nil, token: token)
        if accept(word: "partition") {
            try expect("BY")
            repeat { call.partitionBy.append(try expression()) } while accept(symbol: ",")
        }
        if accept("ORDER") {
            try expect("BY")
            call.orderBy = try orderItems()
        }
        if isWord("rows") || isWord("range") {
            let rows = next().text.lowercased() == "rows"
            if accept("BETWEEN") {
                let start = try frameBound()
                try expect("AND")
                call.frame = WindowFrame(rows: rows, start: start, end: try frameBound())
            } else {
                call.frame = WindowFrame(rows: rows, start: try frameBound(), end: .currentRow)
            }
            if !rows, let frame = call.frame, [frame.start, frame.end].contains(where: {
                if case .preceding = $0 { return true }
                if case .following = $0 { return true }
                return false
            }) {
                throw SQLError("0A000", "RANGE with an offset is not supported", at: token, hint: "Use ROWS BETWEEN n PRECEDING AND CURRENT ROW.")
            }
        }
        try expect(symbol: ")")
        return call
    }

    private mutating func frameBound() throws(SQLError) -> WindowFrame.Bound {
        if accept(word: "unbounded") {
            if accept(word: "preceding") { return .unboundedPreceding }
            try expect(word: "following")
            return .unboundedFollowing
        }
        if accept(word: "current") {
            try expect(word: "row")
            return .currentRow
        }
        let token = current
        guard case .integer(let count) = token.kind, count >= 0, count <= Int32.max else {
            throw SQLError("22013", "frame offset must be a non-negative integer", at: token)
        }
        _ = next()
        if accept(word: "preceding") { return .preceding(Int(count)) }
        try expect(word: "following")
        return .following(Int(count))
    }

    // MARK: Expressions

    mutating func expression() throws(SQLError) -> Expression {
        try descend()
        defer { depth -= 1 }
        return try or()
    }

    private mutating func descend(_ levels: Int = 1) throws(SQLError) {
        depth += levels
        try StackBudget.check(stackLimit, at: current)
        guard depth <= Self.depthLimit else {
            throw SQLError("54001", "statement too complex: it nests more than \(Self.depthLimit) levels deep", at: current,
                           hint: "Flatten it: chains of AND and OR are fine at any length, and IN (...) takes a list.")
        }
    }

    private mutating func or() throws(SQLError) -> Expression {
        var terms = [try and()]
        var tokens: [Token] = []
        while isKeyword("OR") {
            tokens.append(next())
            terms.append(try and())
        }
        return Self.balanced(.or, terms[...], tokens[...])
    }

    private mutating func and() throws(SQLError) -> Expression {
        var terms = [try not()]
        var tokens: [Token] = []
        while isKeyword("AND") {
            tokens.append(next())
            terms.append(try not())
        }
        return Self.balanced(.and, terms[...], tokens[...])
    }

    /// A chain of one associative operator as a balanced tree (`tokens[i]` joins `terms[i]` and the next).
    private static func balanced(_ op: BinaryOperator, _ terms: ArraySlice<Expression>, _ tokens: ArraySlice<Token>) -> Expression {
        if terms.count == 1 { return terms.first! }
        let middle = terms.startIndex + terms.count / 2
        let token = tokens[tokens.startIndex + terms.count / 2 - 1]
        return .binary(op, balanced(op, terms[..<middle], tokens[..<(tokens.startIndex + terms.count / 2 - 1)]),
                       balanced(op, terms[middle...], tokens[(tokens.startIndex + terms.count / 2)...]), token)
    }

    private mutating func not() throws(SQLError) -> Expression {
        if isKeyword("NOT") {
            try descend()
            defer { depth -= 1 }
            let token = next()
            return .unary(.not, try not(), token)
        }
        return try comparison()
    }

    private mutating func comparison() throws(SQLError) -> Expression {
        let left = try concatenation()
        let token = current
        if case .symbol(let symbol) = token.kind, let op = BinaryOperator(rawValue: symbol), op.isComparison {
            _ = next()
            if (isWord("any") || isWord("some") || isKeyword("ALL")) && isSymbol("(", at: 1) {
                let all = next().text.uppercased() == "ALL"
                _ = next()
                guard isKeyword("SELECT") || isKeyword("WITH") else { throw unexpected("a subquery (arrays are not supported)") }
                let inner = try query()
                try expect(symbol: ")")
                return .quantified(op, left, inner, all: all, token)
            }
            return .binary(op, left, try concatenation(), token)
        }
        if accept("IS") {
            let negated = accept("NOT")
            if accept("DISTINCT") {
                try expect("FROM")
                return .binary(negated ? .notDistinctFrom : .distinctFrom, left, try concatenation(), token)
            }
            try expect("NULL")
            return .isNull(left, negated: negated)
        }
        let negated = accept("NOT")
        if isKeyword("LIKE") || isKeyword("ILIKE") {
            let token = next()
            let match = Expression.function(token.text.lowercased(), [left, try concatenation()], star: false, token)
            return negated ? .unary(.not, match, token) : match
        }
        if accept("BETWEEN") {
            let low = try concatenation()
            try expect("AND")
            return .between(left, low, try concatenation(), negated: negated)
        }
        if isKeyword("IN") {
            let token = next()
            try expect(symbol: "(")
            if isKeyword("SELECT") || isKeyword("WITH") {
                let inner = try query()
                try expect(symbol: ")")
                return .inQuery(left, inner, negated: negated, token)
            }
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
        var chain = 0
        defer { depth -= chain }
        while isSymbol("||") {
            try descend()
            chain += 1
            let token = next()
            left = .binary(.concatenate, left, try additive(), token)
        }
        return left
    }

    private mutating func additive() throws(SQLError) -> Expression {
        var left = try multiplicative()
        var chain = 0
        defer { depth -= chain }
        while isSymbol("+") || isSymbol("-") {
            try descend()
            chain += 1
            let token = next()
            left = .binary(BinaryOperator(rawValue: token.text)!, left, try multiplicative(), token)
        }
        return left
    }

    private mutating func multiplicative() throws(SQLError) -> Expression {
        var left = try unary()
        var chain = 0
        defer { depth -= chain }
        while isSymbol("*") || isSymbol("/") || isSymbol("%") {
            try descend()
            chain += 1
            let token = next()
            left = .binary(BinaryOperator(rawValue: token.text)!, left, try unary(), token)
        }
        return left
    }

    private mutating func unary() throws(SQLError) -> Expression {
        if isSymbol("-") {
            try descend()
            defer { depth -= 1 }
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
            return .unary(.negate, try unary(), token)
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
        if accept("INTERVAL") { return "interval" }
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
        case .parameter(let number):
            _ = next()
            return .parameter(number, token)
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
            guard let interval = Timestamps.parseInterval(text) else {
                throw SQLError("22007", "invalid input syntax for type interval: \"\(text)\"", at: literal)
            }
            return .literal(.interval(interval), token)
        case .symbol("(") where isKeyword("SELECT", at: 1) || isKeyword("WITH", at: 1):
            _ = next()
            let inner = try query()
            try expect(symbol: ")")
            return .subquery(inner, token)
        case .keyword("EXISTS"):
            _ = next()
            try expect(symbol: "(")
            let inner = try query()
            try expect(symbol: ")")
            return .exists(inner, token)
        case .symbol("("):
            _ = next()
            let inner = try expression()
            try expect(symbol: ")")
            return inner
        case .keyword("CASE"):
            return try caseExpression()
        case .keyword("LEFT"), .keyword("RIGHT"):
            guard isSymbol("(", at: 1) else { throw unexpected("an expression") }
            _ = next()
            _ = next()
            var arguments: [Expression] = []
            repeat { arguments.append(try expression()) } while accept(symbol: ",")
            try expect(symbol: ")")
            return .function(token.text.lowercased(), arguments, star: false, token)
        case .identifier(let name) where ["substring", "position"].contains(name) && isSymbol("(", at: 1):
            // The SQL-standard forms: substring(s FROM a [FOR b]), position(a IN b); the comma forms too.
            _ = next()
            _ = next()
            let first = name == "position" ? try concatenation() : try expression()
            var arguments = [first]
            if name == "position" {
                try expect("IN")
                arguments = [try concatenation(), first]
            } else if accept("FROM") {
                arguments.append(try expression())
                if accept(word: "for") { arguments.append(try expression()) }
            } else if accept(word: "for") {
                arguments += [.literal(.int64(1), token), try expression()]
            } else {
                while accept(symbol: ",") { arguments.append(try expression()) }
            }
            try expect(symbol: ")")
            return .function(name == "position" ? "strpos" : "substring", arguments, star: false, token)
        case .identifier(let name) where ["date", "timestamp", "timestamptz", "uuid"].contains(name) && position + 1 < tokens.count:
            // A typed literal, `DATE '2024-01-01'`; otherwise a column of that name.
            guard case .string(let text) = tokens[position + 1].kind else { _ = next(); return .column(table: nil, name: name, token) }
            _ = next()
            _ = next()
            return .function("cast", [.literal(.text(text), token), .literal(.text(name), token)], star: false, token)
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
                var call = AggregateCall(function: name, arguments: [], star: false, distinct: false, orderBy: [], filter: nil, token: token)
                if accept(symbol: "*") {
                    call.star = true
                } else if !isSymbol(")") {
                    call.distinct = accept("DISTINCT")
                    if !call.distinct { _ = accept("ALL") }
                    repeat { call.arguments.append(try expression()) } while accept(symbol: ",")
                    if accept("ORDER") {
                        try expect("BY")
                        call.orderBy = try orderItems()
                    }
                }
                try expect(symbol: ")")
                if accept(word: "filter") {
                    try expect(symbol: "(")
                    try expect("WHERE")
                    call.filter = try expression()
                    try expect(symbol: ")")
                }
                let modified = call.distinct || !call.orderBy.isEmpty || call.filter != nil
                if modified && !Evaluate.aggregateNames.contains(name) {
                    throw SQLError("42809", "DISTINCT, ORDER BY or FILTER specified, but \(name) is not an aggregate function", at: token)
                }
                if accept(word: "over") {
                    if modified { throw SQLError("0A000", "DISTINCT, ORDER BY and FILTER are not supported in window functions", at: token) }
                    return .window(try windowCall(name, call.arguments, star: call.star, token))
                }
                if modified || name == "string_agg" { return .aggregate(call) }
                return .function(name, call.arguments, star: call.star, token)
            }
            if accept(symbol: ".") {
                let columnToken = current
                let column = try identifier("a column name")
                return .column(table: name, name: column, columnToken)
            }
            // SQL's niladic functions, when no column of the name is meant.
            if ["current_date", "current_timestamp", "localtimestamp"].contains(name) { return .function(name, [], star: false, token) }
            return .column(table: nil, name: name, token)
        default:
            throw unexpected("an expression")
        }
    }
}
