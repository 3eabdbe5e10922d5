import OmenEngine

/// Answers to the catalog queries clients send, from the engine's own catalog: psql's `\d`, `\dt`, `\di`
/// and `\d table` (pg_class, pg_attribute and pg_index as psql 15 reads them), psycopg's type lookup
/// (pg_type by `to_regtype`), and information_schema's schemata, tables and columns as Grafana's table and
/// column lists read them. Every table lives in schema `public` and has the OID 16384 plus its rank by
/// name. Other catalog queries get no rows.
enum CatalogQueries {
    static func answer(_ sql: String, parameters: [Value], database: Database) -> QueryResult? {
        if sql.contains("information_schema.") { return informationSchema(sql, database: database) }
        if sql.contains("FROM pg_type t") && sql.contains("to_regtype(") {
            let name = parameters.first.flatMap { $0 == .null ? nil : $0.text } ?? quoted(after: "to_regtype(", in: sql) ?? ""
            let rows = CatalogType.named(name).map { type in
                [Value.text(type.name), .int64(Int64(type.oid)), .int64(Int64(type.arrayOID)), .text(type.regtype), .text(",")]
            }
            return QueryResult(columns: ["name", "oid", "array_oid", "regtype", "delimiter"], rows: rows.map { $0 },
                               tag: "SELECT \(rows.count)", types: [.text, .int64, .int64, .text, .text])
        }
        if sql.contains("FROM pg_extension") || sql.contains("FROM pg_catalog.pg_extension") { return result(["extversion"], []) }
        guard sql.contains("pg_catalog.") else { return nil }
        let schemas = database.schemas.sorted { $0.name < $1.name }
        func oid(_ name: String) -> Int? { schemas.firstIndex { $0.name == name }.map { 16_384 + $0 } }
        func table(_ oid: Int?) -> TableSchema? {
            guard let oid, schemas.indices.contains(oid - 16_384) else { return nil }
            return schemas[oid - 16_384]
        }
        let pattern = namePattern(sql)

        // \d, \dt, \di (and their name patterns): the relation list.
        if sql.contains("pg_catalog.pg_get_userbyid(c.relowner)") && sql.contains("FROM pg_catalog.pg_class c") {
            let kinds = relationKinds(sql)
            var rows: [[Value]] = []
            if kinds.contains("r") {
                for schema in schemas where pattern.map({ matches(schema.name, $0) }) ?? true {
                    rows.append([.text("public"), .text(schema.name), .text("table"), .text("omendb")])
                }
            }
            if kinds.contains("i") {
                for index in database.indexes() where pattern.map({ matches(index.name, $0) }) ?? true {
                    rows.append([.text("public"), .text(index.name), .text("index"), .text("omendb"), .text(index.table)])
                }
            }
            let width = rows.first?.count ?? (kinds.contains("i") && !kinds.contains("r") ? 5 : 4)
            rows.sort { ($0[1].text, $0[2].text) < ($1[1].text, $1[2].text) }
            return result(["Schema", "Name", "Type", "Owner", "Table"].prefix(width).map { $0 }, rows)
        }
        // \d NAME, first step: the relation's OID.
        if sql.hasPrefix("SELECT c.oid,\n  n.nspname,\n  c.relname\nFROM pg_catalog.pg_class c") {
            let rows = schemas.filter { schema in pattern.map { matches(schema.name, $0) } ?? true }
                .map { [Value.text(String(oid($0.name)!)), .text("public"), .text($0.name)] }
            return result(["oid", "nspname", "relname"], rows)
        }
        let relation = table(quotedOID(sql))
        // \d NAME: the relation's kind and flags.
        if sql.hasPrefix("SELECT c.relchecks, c.relkind, c.relhasindex") {
            guard let relation else { return result(Array(repeating: "?column?", count: 15), []) }
            let hasIndex = !database.indexes(on: relation.name).isEmpty || !relation.hasRowIDs
            let row: [Value] = [.text("0"), .text("r"), .text(hasIndex ? "t" : "f"), .text("f"), .text("f"), .text("f"), .text("f"),
                                .text("f"), .text("f"), .text(""), .text("0"), .text(""), .text("p"), .text("d"), .text("learned")]
            return result(["relchecks", "relkind", "relhasindex", "relhasrules", "relhastriggers", "relrowsecurity",
                           "relforcerowsecurity", "relhasoids", "relispartition", "reloptions", "reltablespace", "reloftype",
                           "relpersistence", "relreplident", "amname"], [row])
        }
        // \d NAME: the columns.
        if sql.contains("FROM pg_catalog.pg_attribute a") && sql.contains("pg_catalog.format_type(a.atttypid, a.atttypmod)") {
            let rows = (relation?.visibleColumns ?? []).map { column -> [Value] in
                [.text(column.name), .text(typeName(column.type)), .null, .text(column.nullable ? "f" : "t"), .null, .text(""), .text("")]
            }
            return result(["attname", "format_type", "pg_get_expr", "attnotnull", "attcollation", "attidentity", "attgenerated"], rows)
        }
        // \d NAME: the indexes, the primary key first.
        if sql.contains("pg_catalog.pg_get_indexdef(i.indexrelid, 0, true)") {
            var rows: [[Value]] = []
            if let relation {
                let key = relation.columns[relation.primaryKey].name
                if !relation.hasRowIDs {
                    rows.append(indexRow("\(relation.name)_pkey", relation.name, key, primary: true))
                }
                for index in database.indexes(on: relation.name) {
                    rows.append(indexRow(index.name, relation.name, index.column, primary: index.isPrimaryKey))
                }
                rows.sort { ($0[1].text == "t" ? 0 : 1, $0[0].text) < ($1[1].text == "t" ? 0 : 1, $1[0].text) }
            }
            return result(["relname", "indisprimary", "indisunique", "indisclustered", "indisvalid", "pg_get_indexdef",
                           "pg_get_constraintdef", "contype", "condeferrable", "condeferred", "indisreplident", "reltablespace"], rows)
        }
        // Policies, statistics, publications, inheritance, partitions and the rest: OmenDB has none.
        if (try? Parser.parse(sql)) == nil { return result([], []) }
        return nil
    }

    /// information_schema's `schemata` (one schema, public), `tables` and `columns`, filtered by the
    /// schema and table names the query compares with literals; the columns named as the query aliases
    /// them (Grafana: `AS "table"`, `AS "column"`, `AS "type"`).
    private static func informationSchema(_ sql: String, database: Database) -> QueryResult {
        let schema = quoted(after: "quote_ident(table_schema) = ", in: sql) ?? quoted(after: "table_schema = ", in: sql)
        let tableName = quoted(after: "quote_ident(table_name) = ", in: sql) ?? quoted(after: "table_name = ", in: sql)
        func column(_ name: String, alias: String) -> String { sql.contains("AS \"\(alias)\"") || sql.contains("as \"\(alias)\"") ? alias : name }
        if sql.contains("information_schema.schemata") {
            return result([column("schema_name", alias: "name")], [[.text("public")]])
        }
        let tables = database.schemas.sorted { $0.name < $1.name }.filter { _ in schema.map { $0 == "public" } ?? true }
        if sql.contains("information_schema.columns") {
            let rows = tables.filter { table in tableName.map { $0 == table.name } ?? true }.flatMap { table in
                table.visibleColumns.map { [Value.text(table.name), .text($0.name), .text(typeName($0.type))] }
            }
            if sql.contains("AS \"column\"") { return result(["column", column("data_type", alias: "type")], rows.map { Array($0.dropFirst()) }) }
            return result(["table_name", "column_name", "data_type"], rows)
        }
        if sql.contains("information_schema.tables") {
            let rows = tables.filter { table in tableName.map { $0 == table.name } ?? true }.map { [Value.text($0.name)] }
            return result([column("table_name", alias: "table")], rows)
        }
        return result([], [])
    }

    /// The single-quoted literal right after `marker` in `sql` (`''` read as `'`).
    private static func quoted(after marker: String, in sql: String) -> String? {
        guard let start = sql.firstRange(of: marker + "'") else { return nil }
        var text = "", rest = sql[start.upperBound...]
        while let character = rest.popFirst() {
            if character == "'" {
                guard rest.first == "'" else { return text }
                rest.removeFirst()
            }
            text.append(character)
        }
        return nil
    }

    private static func indexRow(_ name: String, _ table: String, _ column: String, primary: Bool) -> [Value] {
        let definition = "CREATE \(primary ? "UNIQUE " : "")INDEX \(name) ON public.\(table) USING learned (\(column))"
        return [.text(name), .text(primary ? "t" : "f"), .text(primary ? "t" : "f"), .text("f"), .text("t"), .text(definition),
                primary ? .text("PRIMARY KEY (\(column))") : .null, primary ? .text("p") : .null, .text("f"), .text("f"), .text("f"), .text("0")]
    }

    private static func result(_ columns: [String], _ rows: [[Value]]) -> QueryResult {
        QueryResult(columns: columns, rows: rows, tag: "SELECT \(rows.count)", types: columns.map { _ in .text })
    }

    /// format_type's names for the engine's types.
    static func typeName(_ type: ColumnType) -> String {
        switch type {
        case .timestamp: "timestamp without time zone"
        default: type.sqlName
        }
    }

    /// The relkinds of `c.relkind IN ('r','p','')`.
    private static func relationKinds(_ sql: String) -> Set<Character> {
        guard let start = sql.firstRange(of: "c.relkind IN (") else { return [] }
        let list = sql[start.upperBound...].prefix { $0 != ")" }
        return Set(list.filter { $0 != "'" && $0 != "," && $0 != " " })
    }

    /// The name psql matches with `c.relname OPERATOR(pg_catalog.~) '^(NAME)$'`, as a regular expression of
    /// literal characters and `.*` (psql's `*`) and `.` (its `?`).
    private static func namePattern(_ sql: String) -> String? {
        guard let start = sql.firstRange(of: "c.relname OPERATOR(pg_catalog.~) '^(") else { return nil }
        let rest = sql[start.upperBound...]
        guard let end = rest.firstRange(of: ")$'") else { return nil }
        return String(rest[..<end.lowerBound])
    }

    /// Whether `name` matches psql's pattern: literal characters, `.*` and `.`.
    static func matches(_ name: String, _ pattern: String) -> Bool {
        let name = Array(name), pattern = Array(pattern)
        func match(_ i: Int, _ j: Int) -> Bool {
            if j == pattern.count { return i == name.count }
            if pattern[j] == ".", j + 1 < pattern.count, pattern[j + 1] == "*" {
                return (i...name.count).contains { match($0, j + 2) }
            }
            guard i < name.count else { return false }
            return (pattern[j] == "." || pattern[j] == name[i]) && match(i + 1, j + 1)
        }
        return match(0, 0)
    }

    /// The OID in `= 'NNNNN'`, as psql's `\d` queries name the relation.
    private static func quotedOID(_ sql: String) -> Int? {
        for marker in ["c.oid = '", "a.attrelid = '"] {
            guard let start = sql.firstRange(of: marker) else { continue }
            return Int(sql[start.upperBound...].prefix { $0.isNumber })
        }
        return nil
    }
}

/// The types psycopg may look up by name: the engine's and those its parameters accept, as pg_type and
/// `regtype` name them.
struct CatalogType {
    let name: String, oid: Int32, arrayOID: Int32, regtype: String
    static let all: [CatalogType] = [
        .init(name: "bool", oid: TypeOID.bool, arrayOID: 1000, regtype: "boolean"),
        .init(name: "int2", oid: TypeOID.int2, arrayOID: 1005, regtype: "smallint"),
        .init(name: "int4", oid: TypeOID.int4, arrayOID: 1007, regtype: "integer"),
        .init(name: "int8", oid: TypeOID.int8, arrayOID: 1016, regtype: "bigint"),
        .init(name: "float4", oid: TypeOID.float4, arrayOID: 1021, regtype: "real"),
        .init(name: "float8", oid: TypeOID.float8, arrayOID: 1022, regtype: "double precision"),
        .init(name: "numeric", oid: TypeOID.numeric, arrayOID: 1231, regtype: "numeric"),
        .init(name: "text", oid: TypeOID.text, arrayOID: 1009, regtype: "text"),
        .init(name: "varchar", oid: TypeOID.varchar, arrayOID: 1015, regtype: "character varying"),
        .init(name: "date", oid: TypeOID.date, arrayOID: 1182, regtype: "date"),
        .init(name: "timestamp", oid: TypeOID.timestamp, arrayOID: 1115, regtype: "timestamp without time zone"),
        .init(name: "timestamptz", oid: TypeOID.timestamptz, arrayOID: 1185, regtype: "timestamp with time zone"),
        .init(name: "interval", oid: TypeOID.interval, arrayOID: 1187, regtype: "interval"),
        .init(name: "uuid", oid: TypeOID.uuid, arrayOID: 2951, regtype: "uuid"),
    ]

    /// The type `to_regtype(name)` finds: by pg_type name or by its SQL name, any case, `pg_catalog.` allowed.
    static func named(_ name: String) -> [CatalogType] {
        var name = name.lowercased()
        if name.hasPrefix("pg_catalog.") { name.removeFirst("pg_catalog.".count) }
        let aliases = ["integer": "int4", "int": "int4", "smallint": "int2", "bigint": "int8", "real": "float4", "boolean": "bool",
                       "double precision": "float8", "character varying": "varchar", "timestamp without time zone": "timestamp",
                       "timestamp with time zone": "timestamptz", "decimal": "numeric"]
        let canonical = aliases[name] ?? name
        return all.filter { $0.name == canonical }
    }
}
