import OmenEngine

/// Answers to the catalog queries clients send, from the engine's own catalog: psql's `\d`, `\dt`, `\di`
/// and `\d table` (pg_class, pg_attribute and pg_index as psql 15 reads them). Every table lives in schema
/// `public` and has the OID 16384 plus its rank by name. Other pg_catalog queries get no rows.
enum CatalogQueries {
    static func answer(_ sql: String, database: Database) -> QueryResult? {
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
