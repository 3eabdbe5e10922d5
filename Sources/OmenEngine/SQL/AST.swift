/// A SQL expression as parsed.
public indirect enum Expression: Equatable, Sendable {
    case literal(Value, Token)
    /// An interval in microseconds (`INTERVAL '1 hour'`).
    case interval(Int64, Token)
    case column(table: String?, name: String, Token)
    case unary(String, Expression, Token)
    case binary(String, Expression, Expression, Token)
    case between(Expression, Expression, Expression, negated: Bool)
    case inList(Expression, [Expression], negated: Bool)
    case isNull(Expression, negated: Bool)
    case function(String, [Expression], star: Bool, Token)

    /// Structural equality: the same expression written anywhere (token positions ignored), so that a
    /// select item matches its GROUP BY key.
    public static func == (a: Expression, b: Expression) -> Bool {
        switch (a, b) {
        case (.literal(let x, _), .literal(let y, _)): return x == y
        case (.interval(let x, _), .interval(let y, _)): return x == y
        case (.column(let t, let n, _), .column(let u, let m, _)): return t == u && n == m
        case (.unary(let o, let x, _), .unary(let p, let y, _)): return o == p && x == y
        case (.binary(let o, let x1, let x2, _), .binary(let p, let y1, let y2, _)): return o == p && x1 == y1 && x2 == y2
        case (.between(let x, let l, let h, let n), .between(let y, let m, let i, let o)): return x == y && l == m && h == i && n == o
        case (.inList(let x, let l, let n), .inList(let y, let m, let o)): return x == y && l == m && n == o
        case (.isNull(let x, let n), .isNull(let y, let o)): return x == y && n == o
        case (.function(let f, let x, let s, _), .function(let g, let y, let t, _)): return f == g && x == y && s == t
        default: return false
        }
    }

    /// The token to point at when the expression is wrong.
    var token: Token? {
        switch self {
        case .literal(_, let token), .interval(_, let token), .column(_, _, let token), .unary(_, _, let token),
             .binary(_, _, _, let token), .function(_, _, _, let token):
            return token
        case .between(let value, _, _, _), .inList(let value, _, _), .isNull(let value, _):
            return value.token
        }
    }
}

public struct SelectItem: Equatable, Sendable {
    /// nil: `*`.
    public var expression: Expression?
    public var alias: String?
}

public struct TableReference: Equatable, Sendable {
    public var name: String
    public var alias: String?
    public var token: Token
    var label: String { alias ?? name }
}

public struct OrderItem: Equatable, Sendable {
    public var expression: Expression
    public var descending: Bool
}

public struct Select: Equatable, Sendable {
    /// SELECT DISTINCT: each output row once (NaNs equal, as in GROUP BY).
    public var distinct = false
    public var items: [SelectItem]
    public var from: TableReference?
    /// `JOIN table ON condition`; `leftOuter` for LEFT [OUTER] JOIN, which keeps unmatched left rows.
    public var join: (table: TableReference, on: Expression, leftOuter: Bool)?
    public var filter: Expression?
    public var groupBy: [Expression] = []
    public var having: Expression?
    public var orderBy: [OrderItem] = []
    public var limit: Expression?
    public var offset: Expression?

    public static func == (a: Select, b: Select) -> Bool {
        a.distinct == b.distinct && a.items == b.items && a.from == b.from && a.join?.table == b.join?.table && a.join?.on == b.join?.on
            && a.join?.leftOuter == b.join?.leftOuter
            && a.filter == b.filter && a.groupBy == b.groupBy && a.having == b.having && a.orderBy == b.orderBy
            && a.limit == b.limit && a.offset == b.offset
    }
}

/// A SQL statement as parsed.
public indirect enum Statement: Equatable, Sendable {
    case createTable(TableSchema, ifNotExists: Bool)
    case dropTable(String, ifExists: Bool, Token)
    case insert(table: TableReference, columns: [String]?, rows: [[Expression]])
    case copyFrom(table: TableReference, path: String, header: Bool)
    case copyTo(table: TableReference, path: String, header: Bool)
    case select(Select)
    case update(table: TableReference, assignments: [(String, Expression, Token)], filter: Expression?)
    case delete(table: TableReference, filter: Expression?)
    case begin, commit, rollback
    case explain(Statement)

    public static func == (a: Statement, b: Statement) -> Bool {
        switch (a, b) {
        case (.createTable(let x, let i), .createTable(let y, let j)): return x == y && i == j
        case (.dropTable(let x, let i, _), .dropTable(let y, let j, _)): return x == y && i == j
        case (.insert(let t, let c, let r), .insert(let u, let d, let s)): return t == u && c == d && r == s
        case (.copyFrom(let t, let p, let h), .copyFrom(let u, let q, let i)): return t == u && p == q && h == i
        case (.copyTo(let t, let p, let h), .copyTo(let u, let q, let i)): return t == u && p == q && h == i
        case (.select(let x), .select(let y)): return x == y
        case (.update(let t, let a, let f), .update(let u, let b, let g)):
            return t == u && f == g && a.map(\.0) == b.map(\.0) && a.map(\.1) == b.map(\.1)
        case (.delete(let t, let f), .delete(let u, let g)): return t == u && f == g
        case (.begin, .begin), (.commit, .commit), (.rollback, .rollback): return true
        case (.explain(let x), .explain(let y)): return x == y
        default: return false
        }
    }
}
