/// The columns an expression can name: each with its table's label, so `t.c` and a bare `c` resolve.
struct Scope {
    /// A column's type is nil where it is known only when the rows are (a derived table's outputs).
    var columns: [(table: String?, name: String, type: ColumnType?)]
    /// What now() returns: the time the statement began, the same for every call in it.
    var now = Timestamps.now()
    /// The values of `$1`, `$2`...
    var parameters: [Value] = []
    /// Plans the subqueries of expressions in this scope (none without one).
    var planner: Planner?
    /// The row of the query this one is nested in, for a correlated subquery's references to it.
    var outer: OuterRow?
    /// The session's cancel request, which long loops poll.
    var cancellation: Cancellation?
    /// Columns only a qualified name reaches, and `*` skips: a USING join's inputs of its merged columns.
    var qualifiedOnly: Set<Int> = []

    init(columns: [(table: String?, name: String, type: ColumnType?)]) { self.columns = columns }

    /// A scope of other columns in the same statement and query level as `template`.
    init(columns: [(table: String?, name: String, type: ColumnType?)], template: Scope) {
        self = template
        self.columns = columns
    }

    func resolve(_ table: String?, _ name: String, _ token: Token) throws(SQLError) -> Int {
        let matches = columns.indices.filter {
            columns[$0].name == name && (table == nil ? !qualifiedOnly.contains($0) : columns[$0].table == table)
        }
        if matches.count > 1 { throw SQLError("42702", "column reference \"\(name)\" is ambiguous", at: token) }
        guard let index = matches.first else {
            if let table, !columns.contains(where: { $0.table == table }) {
                throw SQLError("42P01", "missing FROM-clause entry for table \"\(table)\"", at: token)
            }
            throw SQLError.undefinedColumn(table.map { "\($0).\(name)" } ?? name, at: token)
        }
        return index
    }
}

/// The current row of an outer query, which a correlated subquery's column references read; `referenced`
/// records whether any does (if none, the subquery's answer is the same for every row and is kept).
final class OuterRow {
    let scope: Scope
    var batch = RowBatch(columns: [])
    var row = 0
    var referenced = false
    init(_ scope: Scope) { self.scope = scope }
}

/// A compiled scalar expression: reads row `row` of a batch laid out as its scope.
typealias Evaluator = (RowBatch, Int) throws(SQLError) -> Value

enum Evaluate {
    static let aggregateNames: Set<String> = ["count", "sum", "avg", "min", "max", "string_agg"]

    /// True when `expression` contains an aggregate call.
    static func hasAggregate(_ expression: Expression) -> Bool {
        switch expression {
        case .function(let name, let arguments, _, _):
            return aggregateNames.contains(name) || arguments.contains(where: hasAggregate)
        case .unary(_, let value, _), .isNull(let value, _): return hasAggregate(value)
        case .binary(_, let a, let b, _): return hasAggregate(a) || hasAggregate(b)
        case .between(let a, let b, let c, _): return hasAggregate(a) || hasAggregate(b) || hasAggregate(c)
        case .inList(let a, let list, _): return hasAggregate(a) || list.contains(where: hasAggregate)
        case .aggregate: return true
        case .window(let call):
            return call.arguments.contains(where: hasAggregate) || call.partitionBy.contains(where: hasAggregate)
                || call.orderBy.contains { hasAggregate($0.expression) }
        case .inQuery(let value, _, _, _), .quantified(_, let value, _, _, _): return hasAggregate(value)
        case .literal, .parameter, .column, .subquery, .exists: return false
        }
    }

    /// Compiles a scalar expression (no aggregates) against `scope`.
    static func compile(_ expression: Expression, _ scope: Scope) throws(SQLError) -> Evaluator {
        if let planner = scope.planner { try StackBudget.check(planner.stackLimit, at: expression.token) }
        switch expression {
        case .literal(let value, _):
            return { _, _ in value }
        case .parameter(let number, let token):
            guard number <= scope.parameters.count else {
                throw SQLError("08P01", "there is no parameter $\(number)", at: token,
                               hint: "The statement was given \(scope.parameters.count) parameter value\(scope.parameters.count == 1 ? "" : "s").")
            }
            let value = scope.parameters[number - 1]
            return { _, _ in value }
        case .column(let table, let name, let token):
            do {
                let index = try scope.resolve(table, name, token)
                return { batch, row in batch.columns[index].value(at: row) }
            } catch where error.code == "42703" || error.code == "42P01" {
                guard let outer = scope.outer, let read = try? compile(expression, outer.scope) else { throw error }
                outer.referenced = true
                return { (_, _) throws(SQLError) in try read(outer.batch, outer.row) }
            }
        case .unary(let op, let operand, let token):
            let inner = try compile(operand, scope)
            if op == .not {
                return { (batch, row) throws(SQLError) in
                    switch try inner(batch, row) {
                    case .null: return .null
                    case .bool(let flag): return .bool(!flag)
                    case let other: throw .datatype("argument of NOT must be type boolean, not \(typeName(other))", at: token)
                    }
                }
            }
            return { (batch, row) throws(SQLError) in try negate(try inner(batch, row), token) }
        case .binary(let op, let left, let right, let token):
            let a = try compile(left, scope)
            let b = try compile(right, scope)
            switch op {
            case .and:
                return { (batch, row) throws(SQLError) in
                    let x = try truth(try a(batch, row), token)
                    if x == false { return .bool(false) }
                    let y = try truth(try b(batch, row), token)
                    if y == false { return .bool(false) }
                    return x == nil || y == nil ? .null : .bool(true)
                }
            case .or:
                return { (batch, row) throws(SQLError) in
                    let x = try truth(try a(batch, row), token)
                    if x == true { return .bool(true) }
                    let y = try truth(try b(batch, row), token)
                    if y == true { return .bool(true) }
                    return x == nil || y == nil ? .null : .bool(false)
                }
            case .distinctFrom, .notDistinctFrom:
                return { (batch, row) throws(SQLError) in
                    let x = try a(batch, row)
                    let y = try b(batch, row)
                    let same = x == .null || y == .null ? x == y : try compareForPredicate(x, y, token) == 0
                    return .bool(same == (op == .notDistinctFrom))
                }
            case _ where op.isComparison:
                return { (batch, row) throws(SQLError) in
                    guard let order = try compareForPredicate(try a(batch, row), try b(batch, row), token) else { return .null }
                    return .bool(op.holds(order))
                }
            default:
                return { (batch, row) throws(SQLError) in try arithmetic(op, try a(batch, row), try b(batch, row), token) }
            }
        case .between(let value, let low, let high, let negated):
            let token = expression.token
            let v = try compile(value, scope)
            let l = try compile(low, scope)
            let h = try compile(high, scope)
            return { (batch, row) throws(SQLError) in
                let x = try v(batch, row)
                let lower = try compareForPredicate(x, try l(batch, row), token)
                let upper = try compareForPredicate(x, try h(batch, row), token)
                if lower.map({ $0 < 0 }) == true || upper.map({ $0 > 0 }) == true { return .bool(negated) }
                if lower == nil || upper == nil { return .null }
                return .bool(!negated)
            }
        case .inList(let value, let list, let negated):
            let token = expression.token
            let v = try compile(value, scope)
            var items: [Evaluator] = []
            for item in list { items.append(try compile(item, scope)) }
            return { (batch, row) throws(SQLError) in
                let x = try v(batch, row)
                var sawNull = false
                for item in items {
                    guard let order = try compareForPredicate(x, try item(batch, row), token) else {
                        sawNull = true
                        continue
                    }
                    if order == 0 { return .bool(!negated) }
                }
                return sawNull ? .null : .bool(negated)
            }
        case .isNull(let value, let negated):
            let v = try compile(value, scope)
            return { (batch, row) throws(SQLError) in .bool((try v(batch, row) == .null) != negated) }
        case .subquery(let query, let token):
            let subquery = try Subquery(query, scope, token)
            return { (batch, row) throws(SQLError) in
                let rows = try subquery.rows(batch, row)
                guard rows.count <= 1 else {
                    throw SQLError("21000", "more than one row returned by a subquery used as an expression", at: token)
                }
                return rows.first?[0] ?? .null
            }
        case .exists(let query, let token):
            let subquery = try Subquery(query, scope, token, anyWidth: true)
            return { (batch, row) throws(SQLError) in .bool(!(try subquery.rows(batch, row)).isEmpty) }
        case .inQuery(let value, let query, let negated, let token):
            let v = try compile(value, scope)
            let subquery = try Subquery(query, scope, token)
            return { (batch, row) throws(SQLError) in
                let x = try v(batch, row)
                let (values, sawNull) = try subquery.valueSet(batch, row)
                if values.isEmpty && !sawNull { return .bool(negated) }
                if x == .null { return .null }
                if values.contains(Join.normalized(x)) { return .bool(!negated) }
                return sawNull ? .null : .bool(negated)
            }
        case .quantified(let op, let value, let query, let all, let token):
            let v = try compile(value, scope)
            let subquery = try Subquery(query, scope, token)
            return { (batch, row) throws(SQLError) in
                let x = try v(batch, row)
                var sawNull = false
                for candidate in try subquery.rows(batch, row) {
                    guard let order = try compareForPredicate(x, candidate[0], token) else {
                        sawNull = true
                        continue
                    }
                    if op.holds(order) != all { return .bool(!all) }
                }
                return sawNull ? .null : .bool(all)
            }
        case .aggregate(let call):
            throw SQLError("42803", "aggregate function \(call.function) is not allowed here", at: call.token)
        case .window(let call):
            throw SQLError("42P20", "window functions are not allowed here", at: call.token)
        case .function(let name, let arguments, _, let token):
            if aggregateNames.contains(name) {
                throw SQLError("42803", "aggregate function \(name) is not allowed here", at: token)
            }
            var compiled: [Evaluator] = []
            for argument in arguments { compiled.append(try compile(argument, scope)) }
            return try scalarFunction(name, compiled, token, now: scope.now)
        }
    }

    static func scalarFunction(_ name: String, _ arguments: [Evaluator], _ token: Token, now: Int64) throws(SQLError) -> Evaluator {
        func arity(_ count: Int) throws(SQLError) {
            guard arguments.count == count else {
                throw SQLError("42883", "function \(name) takes \(count) argument\(count == 1 ? "" : "s")", at: token)
            }
        }
        /// A two-argument function that is NULL when either argument is.
        func strict2(_ body: @escaping (Value, Value) throws(SQLError) -> Value) throws(SQLError) -> Evaluator {
            try arity(2)
            return { (batch, row) throws(SQLError) in
                let x = try arguments[0](batch, row)
                let y = try arguments[1](batch, row)
                if x == .null || y == .null { return .null }
                return try body(x, y)
            }
        }
        switch name {
        case "time_bucket":
            // TimescaleDB's: time_bucket(width, ts [, origin]); widths of days and time from Monday 2000-01-03
            // unless an origin is given, widths of months from January 2000 (or the origin's month).
            guard arguments.count == 2 || arguments.count == 3 else { try arity(2); return { _, _ in .null } }
            return { (batch, row) throws(SQLError) in
                let width = try arguments[0](batch, row)
                let time = try arguments[1](batch, row)
                var origin: Int64?
                if arguments.count == 3 {
                    switch try arguments[2](batch, row) {
                    case .null: return .null
                    case .timestamp(let value), .int64(let value): origin = value
                    case .date(let days): origin = try midnight(days, token)
                    case .text(let text):
                        guard let parsed = Timestamps.parse(text) else {
                            throw SQLError("22007", "invalid input syntax for type timestamp: \"\(text)\"", at: token)
                        }
                        origin = parsed
                    case let other: throw .datatype("time_bucket's origin must be a timestamp, not \(typeName(other))", at: token)
                    }
                }
                guard let bucket = try bucketWidth(width, token) else { return .null }
                let value: Int64
                switch time {
                case .null: return .null
                case .timestamp(let x), .int64(let x): value = x
                case .date(let days): value = try midnight(days, token)
                default: throw .datatype("time_bucket needs a timestamp, not \(typeName(time))", at: token)
                }
                let start: Int64?
                switch bucket {
                case .micros(let micros):
                    if case .int64 = time, arguments.count == 2 { start = value.bucketStart(width: micros) }
                    else { start = value.bucketStart(width: micros, origin: origin ?? Timestamps.bucketOrigin) }
                case .months(let months):
                    if case .int64 = time { throw .datatype("time_bucket by months needs a timestamp, not bigint", at: token) }
                    start = Timestamps.monthBucket(value, months: months, origin: origin ?? 0)
                }
                guard let start else {
                    throw SQLError("22008", "time_bucket's bucket starts before the earliest timestamp", at: token)
                }
                switch time {
                case .int64: return .int64(start)
                case .date: return .date(start.floorDivided(by: Timestamps.microsPerDay).quotient)
                default: return .timestamp(start)
                }
            }
        case "abs":
            try arity(1)
            return { (batch, row) throws(SQLError) in
                switch try arguments[0](batch, row) {
                case .int64(let value):
                    guard value != .min else { throw SQLError("22003", "bigint out of range", at: token) }
                    return .int64(Swift.abs(value))
                case .double(let value): return .double(Swift.abs(value))
                case .null: return .null
                case let other: throw .datatype("abs needs a number, not \(typeName(other))", at: token)
                }
            }
        case "lower", "upper", "length":
            try arity(1)
            return { (batch, row) throws(SQLError) in
                switch try arguments[0](batch, row) {
                case .text(let text):
                    if name == "length" { return .int64(Int64(text.unicodeScalars.count)) }
                    return .text(name == "lower" ? text.lowercased() : text.uppercased())
                case .null: return .null
                case let other: throw .datatype("\(name) needs text, not \(typeName(other))", at: token)
                }
            }
        case "coalesce":
            guard !arguments.isEmpty else { try arity(1); return { _, _ in .null } }
            return { (batch, row) throws(SQLError) in
                for argument in arguments {
                    let value = try argument(batch, row)
                    if value != .null { return value }
                }
                return .null
            }
        case "case":
            // (condition, result) pairs, then the ELSE result: only the chosen result is evaluated.
            return { (batch, row) throws(SQLError) in
                var index = 0
                while index + 1 < arguments.count {
                    if try arguments[index](batch, row) == .bool(true) { return try arguments[index + 1](batch, row) }
                    index += 2
                }
                return try arguments[arguments.count - 1](batch, row)
            }
        case "like", "ilike":
            return try strict2 { (x, y) throws(SQLError) in
                guard case .text(let text) = x, case .text(let pattern) = y else {
                    throw .datatype("\(name.uppercased()) needs text, not \(typeName(x)) and \(typeName(y))", at: token)
                }
                return .bool(name == "like" ? likeMatches(text, pattern) : likeMatches(text.lowercased(), pattern.lowercased()))
            }
        case "cast":
            try arity(2)
            return { (batch, row) throws(SQLError) in
                guard case .text(let type) = try arguments[1](batch, row) else { return .null }
                return try cast(try arguments[0](batch, row), to: type, token)
            }
        case "now", "current_timestamp", "localtimestamp":
            try arity(0)
            return { _, _ in .timestamp(now) }
        case "gen_random_uuid":
            try arity(0)
            return { _, _ in .uuid(UUID.random()) }
        case "current_date":
            try arity(0)
            return { _, _ in .date(now.floorDivided(by: Timestamps.microsPerDay).quotient) }
        case "date_trunc", "date_part":
            return try strict2 { (x, y) throws(SQLError) in
                guard case .text(let field) = x else {
                    throw .datatype("\(name) needs a unit and a timestamp, not \(typeName(x)) and \(typeName(y))", at: token)
                }
                let micros: Int64
                switch y {
                case .timestamp(let value): micros = value
                case .date(let days): micros = try midnight(days, token)
                case .interval(let interval) where name == "date_part":
                    guard let part = Timestamps.part(field.lowercased(), of: interval) else {
                        throw SQLError("22023", "unit \"\(field)\" not recognized for interval", at: token)
                    }
                    return .double(part)
                default: throw .datatype("\(name) needs a unit and a timestamp, not \(typeName(x)) and \(typeName(y))", at: token)
                }
                let result = name == "date_trunc" ? Timestamps.truncate(micros, to: field.lowercased()).map(Value.timestamp)
                    : Timestamps.part(field.lowercased(), of: micros).map(Value.double)
                guard let result else {
                    // A known unit whose truncation starts before the earliest timestamp.
                    if Timestamps.truncate(0, to: field.lowercased()) != nil { throw SQLError("22008", "timestamp out of range", at: token) }
                    throw SQLError("22023", "unit \"\(field)\" not recognized for \(name)", at: token,
                                   hint: "Units: microseconds, milliseconds, second, minute, hour, day, week, month, quarter, year (and for date_part: dow, isodow, doy, epoch).")
                }
                return result
            }
        default:
            if let function = try libraryFunction(name, arguments, token) { return function }
            throw SQLError("42883", "function \(name) does not exist", at: token,
                           hint: "Functions: time_bucket, date_trunc, date_part (extract), now, abs, lower, upper, length, coalesce, \(libraryNames.sorted().joined(separator: ", ")); aggregates count, sum, avg, min, max; window functions row_number, rank, dense_rank, ntile, lag, lead, first_value, last_value.")
        }
    }

    /// A date's midnight as a timestamp; 22008 beyond the timestamps' range.
    static func midnight(_ days: Int64, _ token: Token?) throws(SQLError) -> Int64 {
        guard let micros = Timestamps.midnight(days) else { throw SQLError("22008", "date out of range", at: token) }
        return micros
    }

    enum BucketWidth { case micros(Int64), months(Int64) }

    /// time_bucket's width: a positive interval of days and time, or of whole months (not both, as
    /// TimescaleDB); nil for NULL.
    static func bucketWidth(_ value: Value, _ token: Token) throws(SQLError) -> BucketWidth? {
        if case .int64(let micros) = value, micros > 0 { return .micros(micros) }
        var interval: Interval
        switch value {
        case .null: return nil
        case .interval(let given): interval = given
        case .text(let text):
            guard let parsed = Timestamps.parseInterval(text) else {
                throw SQLError("22007", "invalid input syntax for type interval: \"\(text)\"", at: token)
            }
            interval = parsed
        default: throw .datatype("time_bucket needs an interval, not \(typeName(value))", at: token)
        }
        if interval.months != 0 {
            guard interval.days == 0, interval.micros == 0 else {
                throw SQLError("0A000", "time_bucket's width of months cannot have days or time", at: token)
            }
            guard interval.months > 0 else { throw .datatype("time_bucket needs a positive interval", at: token) }
            return .months(interval.months)
        }
        let (dayMicros, overflow) = interval.days.multipliedReportingOverflow(by: Timestamps.microsPerDay)
        let (width, sumOverflow) = dayMicros.addingReportingOverflow(interval.micros)
        guard !overflow, !sumOverflow, width > 0 else { throw .datatype("time_bucket needs a positive interval", at: token) }
        return .micros(width)
    }

    static func typeName(_ value: Value) -> String { value.type?.sqlName ?? "unknown" }

    static func truth(_ value: Value, _ token: Token) throws(SQLError) -> Bool? {
        switch value {
        case .null: return nil
        case .bool(let flag): return flag
        default: throw .datatype("argument of AND/OR must be type boolean, not \(typeName(value))", at: token)
        }
    }

    static func negate(_ value: Value, _ token: Token) throws(SQLError) -> Value {
        switch value {
        case .null: return .null
        case .int64(let integer):
            guard integer != .min else { throw SQLError("22003", "bigint out of range", at: token) }
            return .int64(-integer)
        case .double(let number): return .double(-number)
        case .interval(let interval):
            guard let negated = interval.negated else { throw SQLError("22008", "interval out of range", at: token) }
            return .interval(negated)
        default: throw SQLError("42883", "operator does not exist: - \(typeName(value))", at: token)
        }
    }

    static func arithmetic(_ op: BinaryOperator, _ a: Value, _ b: Value, _ token: Token) throws(SQLError) -> Value {
        if a == .null || b == .null { return .null }
        if op == .concatenate {
            return .text(text(a) + text(b))
        }
        switch (a, b) {
        case (.int64(let x), .int64(let y)):
            let result: (Int64, Bool)
            switch op {
            case .plus: result = x.addingReportingOverflow(y)
            case .minus: result = x.subtractingReportingOverflow(y)
            case .times: result = x.multipliedReportingOverflow(by: y)
            case .divide, .modulo:
                guard y != 0 else { throw SQLError("22012", "division by zero", at: token) }
                result = op == .divide ? x.dividedReportingOverflow(by: y) : x.remainderReportingOverflow(dividingBy: y)
            default: throw SQLError("42883", "operator does not exist: bigint \(op.rawValue) bigint", at: token)
            }
            guard !result.1 else { throw SQLError("22003", "bigint out of range", at: token) }
            return .int64(result.0)
        case (.timestamp(let x), .int64(let y)) where op == .plus || op == .minus:
            let result = op == .plus ? x.addingReportingOverflow(y) : x.subtractingReportingOverflow(y)
            guard !result.overflow else { throw SQLError("22008", "timestamp out of range", at: token) }
            return .timestamp(result.partialValue)
        case (.timestamp, _), (_, .timestamp), (.date, _), (_, .date), (.interval, _), (_, .interval):
            return try temporalArithmetic(op, a, b, token)
        default:
            guard let x = number(a), let y = number(b) else {
                throw SQLError("42883", "operator does not exist: \(typeName(a)) \(op.rawValue) \(typeName(b))", at: token)
            }
            switch op {
            case .plus: return .double(x + y)
            case .minus: return .double(x - y)
            case .times: return .double(x * y)
            case .divide:
                guard y != 0 else { throw SQLError("22012", "division by zero", at: token) }
                return .double(x / y)
            case .modulo:
                guard y != 0 else { throw SQLError("22012", "division by zero", at: token) }
                return .double(x.truncatingRemainder(dividingBy: y))
            default: throw SQLError("42883", "operator does not exist: \(typeName(a)) \(op.rawValue) \(typeName(b))", at: token)
            }
        }
    }

    static func number(_ value: Value) -> Double? {
        switch value {
        case .int64(let x): Double(x)
        case .double(let x): x
        default: nil
        }
    }

    /// Whether `text` matches the LIKE `pattern`: `%` any run, `_` one character, `\\` escapes.
    static func likeMatches(_ text: String, _ pattern: String) -> Bool {
        let t = Array(text), p = Array(pattern)
        // Iterative matching with one backtrack point: the last `%` seen.
        var i = 0, j = 0, star = -1, mark = 0
        while i < t.count {
            if j < p.count && p[j] == "\\" && j + 1 < p.count && p[j + 1] == t[i] { i += 1; j += 2; continue }
            if j < p.count && p[j] != "%" && p[j] != "\\" && (p[j] == "_" || p[j] == t[i]) { i += 1; j += 1; continue }
            if j < p.count && p[j] == "%" { star = j; mark = i; j += 1; continue }
            guard star >= 0 else { return false }
            j = star + 1
            mark += 1
            i = mark
        }
        while j < p.count && p[j] == "%" { j += 1 }
        return j == p.count
    }

    /// `value` as SQL type `type` (CAST and `::`), as PostgreSQL converts: floats round to the nearest
    /// integer, text is parsed, a date is the timestamp's day.
    static func cast(_ value: Value, to type: String, _ token: Token?) throws(SQLError) -> Value {
        if value == .null { return .null }
        func invalid(_ target: String) -> SQLError {
            SQLError("22P02", "invalid input syntax for type \(target): \"\(text(value))\"", at: token)
        }
        switch type {
        case "bigint", "int8", "integer", "int", "int4", "smallint", "int2":
            switch value {
            case .int64: return value
            case .double(let x):
                let rounded = x.rounded(.toNearestOrEven)
                guard let integer = Int64(exactly: rounded) else { throw SQLError("22003", "bigint out of range", at: token) }
                return .int64(integer)
            case .text(let x):
                guard let integer = Int64(x.trimmingSpaces) else { throw invalid(type) }
                return .int64(integer)
            case .bool(let x): return .int64(x ? 1 : 0)
            case .timestamp, .date, .interval, .uuid, .null: throw .datatype("cannot cast \(typeName(value)) to \(type)", at: token)
            }
        case "double precision", "float8", "float", "real", "float4", "numeric", "decimal":
            switch value {
            case .double: return value
            case .int64(let x): return .double(Double(x))
            case .text(let x):
                guard let number = Double(x.trimmingSpaces) else { throw invalid(type) }
                return .double(number)
            default: throw .datatype("cannot cast \(typeName(value)) to \(type)", at: token)
            }
        case "text", "varchar", "char", "character":
            return .text(text(value))
        case "boolean", "bool":
            switch value {
            case .bool: return value
            case .int64(let x): return .bool(x != 0)
            case .text(let x):
                switch x.trimmingSpaces.lowercased() {
                case "t", "true", "yes", "y", "on", "1": return .bool(true)
                case "f", "false", "no", "n", "off", "0": return .bool(false)
                default: throw invalid("boolean")
                }
            default: throw .datatype("cannot cast \(typeName(value)) to boolean", at: token)
            }
        case "uuid":
            switch value {
            case .uuid: return value
            case .text(let x):
                guard let id = UUID(parsing: x) else { throw invalid("uuid") }
                return .uuid(id)
            default: throw .datatype("cannot cast \(typeName(value)) to uuid", at: token)
            }
        case "interval":
            switch value {
            case .interval: return value
            case .text(let x):
                guard let interval = Timestamps.parseInterval(x) else { throw SQLError("22007", "invalid input syntax for type interval: \"\(x)\"", at: token) }
                return .interval(interval)
            default: throw .datatype("cannot cast \(typeName(value)) to interval", at: token)
            }
        case "timestamp", "timestamptz", "date":
            let micros: Int64
            switch value {
            case .timestamp(let x): micros = x
            case .date(let days): micros = try midnight(days, token)
            case .text(let x):
                guard let parsed = Timestamps.parse(x) else { throw SQLError("22007", "invalid input syntax for type timestamp: \"\(x)\"", at: token) }
                micros = parsed
            default: throw .datatype("cannot cast \(typeName(value)) to \(type)", at: token)
            }
            return type == "date" ? .date(micros.floorDivided(by: Timestamps.microsPerDay).quotient) : .timestamp(micros)
        default:
            throw SQLError("42704", "type \"\(type)\" does not exist", at: token,
                           hint: "Types: bigint, integer, double precision, text, boolean, timestamp, date, interval, uuid.")
        }
    }

    /// The value as text, as output and `||` show it.
    static func text(_ value: Value) -> String {
        switch value {
        case .null: ""
        case .int64(let x): String(x)
        case .double(let x): formatDouble(x)
        case .text(let x): x
        case .bool(let x): x ? "t" : "f"
        case .timestamp(let x): Timestamps.format(x)
        case .date(let x): Timestamps.formatDate(x)
        case .interval(let x): Timestamps.formatInterval(x)
        case .uuid(let x): x.text
        }
    }

    static func formatDouble(_ x: Double) -> String {
        if x.isNaN { return "NaN" }
        if x.isInfinite { return x > 0 ? "Infinity" : "-Infinity" }
        if x == x.rounded(), Swift.abs(x) < 1e15 { return String(Int64(x)) }
        return "\(x)"
    }

    /// Comparison for predicates: nil when either side is NULL; text meets a timestamp by parsing it.
    static func compareForPredicate(_ a: Value, _ b: Value, _ token: Token?) throws(SQLError) -> Int? {
        if a == .null || b == .null { return nil }
        switch (a, b) {
        case (.date, .text), (.interval, .text), (.uuid, .text):
            return compare(a, try cast(b, to: typeName(a), token))
        case (.text, .date), (.text, .interval), (.text, .uuid):
            return compare(try cast(a, to: typeName(b), token), b)
        case (.date, .date), (.date, .timestamp), (.timestamp, .date), (.interval, .interval), (.uuid, .uuid):
            return compare(a, b)
        case (.timestamp, .text(let text)):
            guard let parsed = Timestamps.parse(text) else {
                throw SQLError("22007", "invalid input syntax for type timestamp: \"\(text)\"", at: token)
            }
            return compare(a, .timestamp(parsed))
        case (.text(let text), .timestamp):
            guard let parsed = Timestamps.parse(text) else {
                throw SQLError("22007", "invalid input syntax for type timestamp: \"\(text)\"", at: token)
            }
            return compare(.timestamp(parsed), b)
        case (.int64, .int64), (.double, .double), (.int64, .double), (.double, .int64), (.text, .text),
             (.bool, .bool), (.timestamp, .timestamp), (.timestamp, .int64), (.int64, .timestamp):
            return compare(a, b)
        default:
            throw SQLError("42883", "operator does not exist: \(typeName(a)) = \(typeName(b))", at: token,
                           hint: "No operator matches the given types; you might need an explicit conversion.")
        }
    }

    /// A total order for sorting and min/max: numbers by value (NaN above all), NULL above everything.
    static func compare(_ a: Value, _ b: Value) -> Int {
        switch (a, b) {
        case (.null, .null): return 0
        case (.null, _): return 1
        case (_, .null): return -1
        case (.int64(let x), .int64(let y)), (.timestamp(let x), .timestamp(let y)), (.timestamp(let x), .int64(let y)),
             (.int64(let x), .timestamp(let y)):
            return x < y ? -1 : x == y ? 0 : 1
        case (.text(let x), .text(let y)): return x < y ? -1 : x == y ? 0 : 1
        case (.bool(let x), .bool(let y)): return x == y ? 0 : (!x ? -1 : 1)
        case (.date(let x), .date(let y)): return x < y ? -1 : x == y ? 0 : 1
        case (.interval(let x), .interval(let y)): return x.span < y.span ? -1 : x.span == y.span ? 0 : 1
        case (.uuid(let x), .uuid(let y)): return x < y ? -1 : x == y ? 0 : 1
        // A date is its midnight when it meets a timestamp.
        case (.date(let x), .timestamp(let y)): return compareDay(x, y)
        case (.timestamp(let x), .date(let y)): return -compareDay(y, x)
        default:
            if case .int64(let x) = a, case .double(let y) = b { return compareMixed(x, y) }
            if case .double(let x) = a, case .int64(let y) = b { return -compareMixed(y, x) }
            if case .double(let x) = a, case .double(let y) = b {
                if x.isNaN || y.isNaN { return x.isNaN && y.isNaN ? 0 : (x.isNaN ? 1 : -1) }
                return x < y ? -1 : x == y ? 0 : 1
            }
            return rank(a) < rank(b) ? -1 : rank(a) == rank(b) ? 0 : 1
        }
    }

    private static func compareDay(_ day: Int64, _ micros: Int64) -> Int {
        guard let midnight = Timestamps.midnight(day) else { return day < 0 ? -1 : 1 }
        return midnight < micros ? -1 : midnight == micros ? 0 : 1
    }

    private static func compareMixed(_ x: Int64, _ y: Double) -> Int {
        if y.isNaN { return -1 }
        // Doubles at or beyond ±2^63 lie beyond every Int64 (2^63 itself is not one); inside, the floor
        // converts exactly.
        if y >= 9_223_372_036_854_775_808.0 { return -1 }
        if y < -9_223_372_036_854_775_808.0 { return 1 }
        let rounded = y.rounded(.down)
        let whole = Int64(rounded)
        if x != whole { return x < whole ? -1 : 1 }
        return rounded == y ? 0 : -1
    }

    private static func rank(_ value: Value) -> Int {
        switch value {
        case .bool: 0
        case .int64, .double, .timestamp, .date, .interval: 1
        case .text, .uuid: 2
        case .null: 3
        }
    }

    /// `value` converted for a column of `column`'s type (an INSERT, UPDATE or COPY value).
    static func coerce(_ value: Value, to column: Column, _ token: Token?) throws(SQLError) -> Value {
        switch (column.type, value) {
        case (_, .null):
            if !column.nullable {
                throw SQLError("23502", "null value in column \"\(column.name)\" violates not-null constraint", at: token)
            }
            return .null
        case (.timestamp, .text(let text)):
            guard let micros = Timestamps.parse(text) else {
                throw SQLError("22007", "invalid input syntax for type timestamp: \"\(text)\"", at: token)
            }
            return .timestamp(micros)
        case (.double, .int64(let x)): return .double(Double(x))
        case (.int64, .double(let x)):
            guard x == x.rounded(), let integer = Int64(exactly: x) else {
                throw SQLError("22003", "value \(x) is out of range or not an integer for column \"\(column.name)\"", at: token)
            }
            return .int64(integer)
        case (.int64, .int64), (.double, .double), (.text, .text), (.bool, .bool), (.timestamp, .timestamp),
             (.date, .date), (.interval, .interval), (.uuid, .uuid):
            return value
        case (.date, .text), (.interval, .text), (.uuid, .text), (.date, .timestamp), (.timestamp, .date):
            return try cast(value, to: column.type.sqlName, token)
        default:
            // An integer is no timestamp: 1704067200 would silently become microseconds after 2000.
            throw SQLError("42804", "column \"\(column.name)\" is of type \(column.type.sqlName) but expression is of type \(typeName(value))", at: token,
                           hint: column.type == .timestamp ? "Write the timestamp as a quoted literal, as in '2024-01-01 00:00:00'." : nil)
        }
    }
}
