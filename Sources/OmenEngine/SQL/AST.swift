/// A binary operator; the raw value is its SQL spelling.
public enum BinaryOperator: String, Sendable {
    case and = "AND", or = "OR"
    case equal = "=", notEqual = "<>", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
    case plus = "+", minus = "-", times = "*", divide = "/", modulo = "%", concatenate = "||"
    /// NULL-safe comparisons: never NULL.
    case distinctFrom = "IS DISTINCT FROM", notDistinctFrom = "IS NOT DISTINCT FROM"

    var isComparison: Bool { [.equal, .notEqual, .less, .lessOrEqual, .greater, .greaterOrEqual].contains(self) }

    /// The comparison with its operands swapped (`a < b` is `b > a`).
    var flipped: BinaryOperator {
        switch self {
        case .less: .greater
        case .lessOrEqual: .greaterOrEqual
        case .greater: .less
        case .greaterOrEqual: .lessOrEqual
        default: self
        }
    }

    /// Whether `order` (the sign of a comparison of the operands) satisfies this comparison.
    func holds(_ order: Int) -> Bool {
        switch self {
        case .equal: order == 0
        case .notEqual: order != 0
        case .less: order < 0
        case .lessOrEqual: order <= 0
        case .greater: order > 0
        default: order >= 0
        }
    }
}

public enum UnaryOperator: String, Sendable { case not = "NOT", negate = "-" }

/// A SQL expression as parsed.
public indirect enum Expression: Equatable, Sendable {
    case literal(Value, Token)
    /// `$n`: the n-th value passed with the statement.
    case parameter(Int, Token)
    case column(table: String?, name: String, Token)
    case unary(UnaryOperator, Expression, Token)
    case binary(BinaryOperator, Expression, Expression, Token)
    case between(Expression, Expression, Expression, negated: Bool)
    case inList(Expression, [Expression], negated: Bool)
    case isNull(Expression, negated: Bool)
    case function(String, [Expression], star: Bool, Token)
    /// An aggregate with PostgreSQL's modifiers: `count(DISTINCT x)`, `string_agg(x, ', ' ORDER BY y)`,
    /// `count(*) FILTER (WHERE ...)` (plain calls are `.function`).
    case aggregate(AggregateCall)
    /// `(SELECT ...)` as a value: one column, at most one row.
    case subquery(Query, Token)
    case exists(Query, Token)
    case inQuery(Expression, Query, negated: Bool, Token)
    /// `x op ANY (SELECT ...)` (also SOME), `x op ALL (SELECT ...)`.
    case quantified(BinaryOperator, Expression, Query, all: Bool, Token)
    /// `f(...) OVER (PARTITION BY ... ORDER BY ... frame)`.
    case window(WindowCall)

    /// Structural equality: the same expression written anywhere (token positions ignored), so that a
    /// select item matches its GROUP BY key.
    public static func == (a: Expression, b: Expression) -> Bool {
        switch (a, b) {
        case (.literal(let x, _), .literal(let y, _)): return x == y
        case (.parameter(let x, _), .parameter(let y, _)): return x == y
        case (.column(let t, let n, _), .column(let u, let m, _)): return t == u && n == m
        case (.unary(let o, let x, _), .unary(let p, let y, _)): return o == p && x == y
        case (.binary(let o, let x1, let x2, _), .binary(let p, let y1, let y2, _)): return o == p && x1 == y1 && x2 == y2
        case (.between(let x, let l, let h, let n), .between(let y, let m, let i, let o)): return x == y && l == m && h == i && n == o
        case (.inList(let x, let l, let n), .inList(let y, let m, let o)): return x == y && l == m && n == o
        case (.isNull(let x, let n), .isNull(let y, let o)): return x == y && n == o
        case (.function(let f, let x, let s, _), .function(let g, let y, let t, _)): return f == g && x == y && s == t
        case (.aggregate(let x), .aggregate(let y)): return x == y
        case (.subquery(let x, _), .subquery(let y, _)), (.exists(let x, _), .exists(let y, _)): return x == y
        case (.inQuery(let x, let q, let n, _), .inQuery(let y, let r, let o, _)): return x == y && q == r && n == o
        case (.window(let x), .window(let y)): return x == y
        case (.quantified(let o, let x, let q, let a, _), .quantified(let p, let y, let r, let b, _)): return o == p && x == y && q == r && a == b
        default: return false
        }
    }

    /// The token to point at when the expression is wrong.
    var token: Token? {
        switch self {
        case .literal(_, let token), .parameter(_, let token), .column(_, _, let token), .unary(_, _, let token),
             .binary(_, _, _, let token), .function(_, _, _, let token),
             .subquery(_, let token), .exists(_, let token), .inQuery(_, _, _, let token), .quantified(_, _, _, _, let token):
            return token
        case .window(let call):
            return call.token
        case .aggregate(let call):
            return call.token
        case .between(let value, _, _, _), .inList(let value, _, _), .isNull(let value, _):
            return value.token
        }
    }
}

public struct SelectItem: Equatable, Sendable {
    /// nil: `*`, or `table.*` with `table`.
    public var expression: Expression?
    public var alias: String?
    public var table: String? = nil
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
    /// PostgreSQL's default: NULLs last ascending, first descending.
    public var nullsFirst: Bool

    public init(expression: Expression, descending: Bool, nullsFirst: Bool? = nil) {
        self.expression = expression
        self.descending = descending
        self.nullsFirst = nullsFirst ?? descending
    }
}

public struct Select: Equatable, Sendable {
    /// SELECT DISTINCT: each output row once (NaNs equal, as in GROUP BY).
    public var distinct = false
    /// `DISTINCT ON (expressions)`: the first row of each, in ORDER BY's order.
    public var distinctOn: [Expression] = []
    public var items: [SelectItem]
    public var from: FromItem?
    public var filter: Expression?
    public var groupBy: [Expression] = []
    public var having: Expression?
    public var orderBy: [OrderItem] = []
    public var limit: Expression?
    public var offset: Expression?

}

public enum JoinKind: String, Equatable, Sendable {
    case inner = "Inner", left = "Left", right = "Right", full = "Full", cross = "Cross"
}

/// What FROM names: a table (or a WITH query), a derived table, or a join of two items.
public indirect enum FromItem: Equatable, Sendable {
    case table(TableReference)
    case derived(Query, alias: String, Token)
    /// `on` is nil for CROSS JOIN.
    case join(FromItem, FromItem, JoinKind, on: Expression?, Token)
    /// `JOIN ... USING (columns)`: equal on each, which the join's output carries once; nil for NATURAL
    /// JOIN, the columns the two sides have in common.
    case joinUsing(FromItem, FromItem, JoinKind, [String]?, Token)
}

public struct AggregateCall: Equatable, Sendable {
    public var function: String
    public var arguments: [Expression]
    public var star: Bool
    public var distinct: Bool
    public var orderBy: [OrderItem]
    public var filter: Expression?
    public var token: Token

    public static func == (a: AggregateCall, b: AggregateCall) -> Bool {
        a.function == b.function && a.arguments == b.arguments && a.star == b.star && a.distinct == b.distinct
            && a.orderBy == b.orderBy && a.filter == b.filter
    }
}

/// A window function call. `frame` nil: PostgreSQL's default (the partition up to the current row's last
/// peer with ORDER BY, the whole partition without).
public struct WindowCall: Equatable, Sendable {
    public var function: String
    public var arguments: [Expression]
    public var star: Bool
    public var partitionBy: [Expression]
    public var orderBy: [OrderItem]
    public var frame: WindowFrame?
    public var token: Token

    public static func == (a: WindowCall, b: WindowCall) -> Bool {
        a.function == b.function && a.arguments == b.arguments && a.star == b.star && a.partitionBy == b.partitionBy
            && a.orderBy == b.orderBy && a.frame == b.frame
    }
}

/// `ROWS BETWEEN start AND end` (RANGE only with UNBOUNDED and CURRENT ROW bounds).
public struct WindowFrame: Equatable, Sendable {
    public enum Bound: Equatable, Sendable {
        case unboundedPreceding, preceding(Int), currentRow, following(Int), unboundedFollowing
    }
    public var rows: Bool
    public var start: Bound
    public var end: Bound
}

public enum SetOperator: String, Equatable, Sendable { case union = "UNION", intersect = "INTERSECT", except = "EXCEPT" }

/// A SELECT, or set operations over several.
public indirect enum QueryBody: Equatable, Sendable {
    case select(Select)
    case set(SetOperator, all: Bool, QueryBody, QueryBody)
}

/// A whole query: WITH tables, the body, and for set operations the ORDER BY and LIMIT over the result
/// (a plain SELECT carries its own).
public struct Query: Equatable, Sendable {
    public var with: [(name: String, query: Query, token: Token)] = []
    public var body: QueryBody
    public var orderBy: [OrderItem] = []
    public var limit: Expression?
    public var offset: Expression?

    public static func == (a: Query, b: Query) -> Bool {
        a.with.map(\.name) == b.with.map(\.name) && a.with.map(\.query) == b.with.map(\.query) && a.body == b.body
            && a.orderBy == b.orderBy && a.limit == b.limit && a.offset == b.offset
    }
}

/// `ON CONFLICT (key) DO NOTHING | DO UPDATE SET ... [WHERE ...]`.
public struct ConflictAction: Equatable, Sendable {
    /// Empty for DO NOTHING.
    public var assignments: [Assignment]
    public var filter: Expression?
    public var token: Token
}

public struct Assignment: Equatable, Sendable {
    public var column: String
    public var value: Expression
    public var token: Token
}

/// Where INSERT's rows come from.
public enum InsertSource: Equatable, Sendable {
    case values([[Expression]])
    case query(Query)
}

/// A SQL statement as parsed.
public indirect enum Statement: Equatable, Sendable {
    case createTable(TableSchema, ifNotExists: Bool)
    case dropTable(String, ifExists: Bool, Token)
    /// `CREATE INDEX [IF NOT EXISTS] name ON table (column)`; the token is the table's. Run by IndexScan.swift.
    case createIndex(name: String, table: String, column: String, ifNotExists: Bool, Token)
    case dropIndex(String, ifExists: Bool, Token)
    case insert(table: TableReference, columns: [String]?, source: InsertSource, onConflict: ConflictAction?, returning: [SelectItem])
    /// `path` nil: STDIN (FROM) or STDOUT (TO), the data passed with the statement or returned with its result.
    /// `columns`: the file's fields in order (COPY t (a, b) FROM), nil for the table's columns. `format`
    /// nil: none given, which the engine reads as CSV and `omendb serve` as text (PostgreSQL's default).
    case copyFrom(table: TableReference, columns: [String]?, path: String?, header: CSV.Header, format: CopyFormat?)
    case copyTo(table: TableReference, path: String?, header: Bool, format: CopyFormat?)
    case query(Query)
    case update(table: TableReference, assignments: [Assignment], filter: Expression?, returning: [SelectItem])
    case delete(table: TableReference, filter: Expression?, returning: [SelectItem])
    case begin, commit, rollback
    case explain(Statement)

    public static func == (a: Statement, b: Statement) -> Bool {
        switch (a, b) {
        case (.createTable(let x, let i), .createTable(let y, let j)): return x == y && i == j
        case (.dropTable(let x, let i, _), .dropTable(let y, let j, _)): return x == y && i == j
        case (.createIndex(let n, let t, let c, let i, _), .createIndex(let m, let u, let d, let j, _)): return n == m && t == u && c == d && i == j
        case (.dropIndex(let x, let i, _), .dropIndex(let y, let j, _)): return x == y && i == j
        case (.insert(let t, let c, let r, let o, let x), .insert(let u, let d, let s, let p, let y)):
            return t == u && c == d && r == s && o == p && x == y
        case (.copyFrom(let t, let c, let p, let h, let f), .copyFrom(let u, let d, let q, let i, let g)):
            return t == u && c == d && p == q && h == i && f == g
        case (.copyTo(let t, let p, let h, let f), .copyTo(let u, let q, let i, let g)): return t == u && p == q && h == i && f == g
        case (.query(let x), .query(let y)): return x == y
        case (.update(let t, let a, let f, let r), .update(let u, let b, let g, let s)): return t == u && a == b && f == g && r == s
        case (.delete(let t, let f, let r), .delete(let u, let g, let s)): return t == u && f == g && r == s
        case (.begin, .begin), (.commit, .commit), (.rollback, .rollback): return true
        case (.explain(let x), .explain(let y)): return x == y
        default: return false
        }
    }
}
