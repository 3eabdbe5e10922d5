import Testing
@testable import OmenEngine

/// Secondary indexes against sequential scans: random tables (NULLs, heavy duplicates, -0.0, NaN,
/// ±Infinity, text sharing 8-byte prefixes and canonically equivalent spellings, extreme integers),
/// random inserts, updates and deletes in committed and rolled-back transactions, snapshots held open
/// across later commits, flushes, compactions, reopen and crash. Every index query must return exactly
/// the rows the same condition selects from a scan of the same snapshot. `OMEN_INDEX_OPERATIONS` sets the
/// number of write operations of the random runs.
@Suite struct SecondaryIndexTests {
    static let columns: [(name: String, type: ColumnType)] = [
        ("i", .int64), ("d", .double), ("ts", .timestamp), ("dt", .date), ("s", .text), ("b", .bool), ("u", .uuid),
    ]
    static let texts = [
        "", "a", "ab", "abab", "e\u{301}", "\u{e9}", "ez", "cafe\u{301}", "caf\u{e9}", "cafe", "applesauce",
        "applesauce-long", "applesauce-longer", "applesau", "applesa", "applesauc\u{e9}", "applesauce\u{301}",
        "Zebra", "zebra", "日本語テキスト", "日本語", "a\u{0}", "zzzzzzzzzzzz",
    ]
    static let doubles: [Double] = [
        0.0, -0.0, .nan, .infinity, -.infinity, 1.5, -2.25, 3, 1e300, -1e-300, .greatestFiniteMagnitude,
        -.greatestFiniteMagnitude, .leastNonzeroMagnitude,
    ]
    static let integers: [Int64] = [.min, .max, .min + 1, .max - 1, 0, -1, 1, 2, 3, 1 << 40]
    /// UUIDs sharing their leading 64 bits (the index's image) and the extremes of the order.
    static let uuids: [UUID] = [
        UUID(high: 0, low: 0), UUID(high: .max, low: .max), UUID(high: 0x018F_3A5E_7B2C_7DEF, low: 1),
        UUID(high: 0x018F_3A5E_7B2C_7DEF, low: .max), UUID(high: 0x018F_3A5E_7B2C_7DEF, low: 1 << 63),
        UUID(high: 1 << 63, low: 0), UUID(high: (1 << 63) - 1, low: .max),
    ]

    static func schema(_ name: String) throws -> TableSchema {
        try TableSchema(name: name, columns: [Column("id", .int64)] + columns.map { Column($0.name, $0.type) }, primaryKey: "id")
    }

    /// A value of `type`, NULL one time in six, drawn mostly from the edge cases so that values repeat.
    static func value(_ type: ColumnType, _ random: inout SeededRandom, nulls: Bool = true) -> Value {
        if nulls && Int.random(in: 0..<6, using: &random) == 0 { return .null }
        let small = Int64.random(in: -4...4, using: &random)
        let pickEdge = Bool.random(using: &random)
        switch type {
        case .int64: return .int64(pickEdge ? integers.randomElement(using: &random)! : small)
        case .double: return .double(pickEdge ? doubles.randomElement(using: &random)! : Double(small) / 2)
        case .timestamp: return .timestamp(pickEdge ? integers.randomElement(using: &random)! : small * 1_000_000)
        // Dates as far out as the SQL layer prints them (days of ±2^63 microseconds).
        case .date: return .date(pickEdge ? [-100_000_000, 100_000_000, 0, -1, 9000].randomElement(using: &random)! : small)
        case .bool: return .bool(Bool.random(using: &random))
        case .text:
            if pickEdge { return .text(texts.randomElement(using: &random)!) }
            let length = Int.random(in: 0...11, using: &random)
            return .text(String((0..<length).map { _ in Bool.random(using: &random) ? "a" : "b" }))
        case .uuid:
            if pickEdge { return .uuid(uuids.randomElement(using: &random)!) }
            return .uuid(UUID(high: 0x018F_3A5E_7B2C_7DEF, low: UInt64(bitPattern: small)))
        case .interval: return .null
        }
    }

    static func row(_ id: Int64, _ random: inout SeededRandom) -> [Value] {
        [.int64(id)] + columns.map { value($0.type, &random) }
    }

    /// The oracle's order of two non-null values of one type, written from the types' own comparisons:
    /// NaN equals NaN and lies above every number, -0.0 equals 0.0 (Swift's ==), text by Swift's String order.
    static func order(_ a: Value, _ b: Value) -> Int {
        func sign<T: Comparable>(_ x: T, _ y: T) -> Int { x < y ? -1 : x == y ? 0 : 1 }
        switch (a, b) {
        case (.int64(let x), .int64(let y)), (.timestamp(let x), .timestamp(let y)), (.date(let x), .date(let y)): return sign(x, y)
        case (.double(let x), .double(let y)):
            if x.isNaN || y.isNaN { return x.isNaN && y.isNaN ? 0 : x.isNaN ? 1 : -1 }
            return sign(x, y)
        case (.text(let x), .text(let y)): return sign(x, y)
        case (.bool(let x), .bool(let y)): return x == y ? 0 : x ? 1 : -1
        case (.uuid(let x), .uuid(let y)): return sign(x.high, y.high) != 0 ? sign(x.high, y.high) : sign(x.low, y.low)
        default: fatalError("unordered \(a) \(b)")
        }
    }

    static func matches(_ value: Value, _ low: IndexBound?, _ high: IndexBound?) -> Bool {
        if value == .null { return false }
        if let low { let o = order(value, low.value); if o < 0 || (o == 0 && !low.inclusive) { return false } }
        if let high { let o = order(value, high.value); if o > 0 || (o == 0 && !high.inclusive) { return false } }
        return true
    }

    /// A random range: a point, one open side, or both sides, inclusive or not.
    static func range(_ type: ColumnType, _ random: inout SeededRandom) -> (IndexBound?, IndexBound?) {
        let a = IndexBound(value(type, &random, nulls: false), inclusive: Bool.random(using: &random))
        let b = IndexBound(value(type, &random, nulls: false), inclusive: Bool.random(using: &random))
        switch Int.random(in: 0..<4, using: &random) {
        case 0: return (IndexBound(a.value), IndexBound(a.value))
        case 1: return (a, nil)
        case 2: return (nil, b)
        default: return order(a.value, b.value) <= 0 ? (a, b) : (b, a)
        }
    }

    /// `queries` random index queries through `txn`, each against a scan of the same snapshot.
    static func check(_ txn: Transaction, _ table: String, _ random: inout SeededRandom, queries: Int,
                      sourceLocation: SourceLocation = #_sourceLocation) throws(EngineError) {
        let all = try txn.scan(table).rows
        for _ in 0..<queries {
            let column = Int.random(in: 0..<columns.count, using: &random)
            let (low, high) = range(columns[column].type, &random)
            let expected = all.filter { matches($0[column + 1], low, high) }
            let got = try txn.rows(index: "\(table)_\(columns[column].name)", low: low, high: high).rows
            #expect(got == expected, "\(table).\(columns[column].name) in \(String(describing: low))...\(String(describing: high))",
                    sourceLocation: sourceLocation)
        }
    }

    static func createIndexedTable(_ database: Database, _ table: String) throws {
        try database.createTable(try schema(table))
        try createIndexes(database, table)
    }

    static func createIndexes(_ database: Database, _ table: String) throws {
        for column in columns { try database.createIndex(name: "\(table)_\(column.name)", table: table, column: column.name) }
    }

    @Test func randomWritesSnapshotsAndReopenMatchScans() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let options = { var options = Database.Options(); options.flushThreshold = 400; options.compactionTrigger = 3; return options }()
        var database: Database? = try Database.open(directory.path, options: options)
        try database!.createTable(try Self.schema("t"))
        var random = SeededRandom(state: 2026_12_03)
        // Enough rows before the index exists that its hot buffer later passes the merge threshold.
        try database!.transaction { txn throws(EngineError) in
            for id in Int64(0)..<2000 { try txn.insert("t", Self.row(id * 3, &random)) }
        }
        try Self.createIndexes(database!, "t")
        let operations = environmentInt("OMEN_INDEX_OPERATIONS", default: 4000)
        var done = 0
        var readers: [Transaction] = []
        var round = 0
        while done < operations {
            round += 1
            do {
                let txn = try database!.begin()
                for _ in 0..<Int.random(in: 1...40, using: &random) {
                    done += 1
                    let id = Int64.random(in: 0..<6_000, using: &random)
                    switch Int.random(in: 0..<10, using: &random) {
                    case 0..<4:
                        if try txn.get("t", key: id) == nil { try txn.insert("t", Self.row(id, &random)) }
                    case 4..<8:
                        let column = Self.columns.randomElement(using: &random)!
                        try txn.update("t", key: id, set: [column.name: Self.value(column.type, &random)])
                    default:
                        try txn.delete("t", key: id)
                    }
                }
                // Own uncommitted writes are found through the index.
                try Self.check(txn, "t", &random, queries: 3)
                if Int.random(in: 0..<4, using: &random) == 0 { txn.rollback() } else { try txn.commit() }
            }
            // Old snapshots still see their own versions through the index.
            for reader in readers { try Self.check(reader, "t", &random, queries: 2) }
            if Int.random(in: 0..<3, using: &random) == 0 { readers.append(try database!.begin()) }
            if readers.count > 3 { readers.removeFirst().rollback() }
            if round % 25 == 0 { try database!.checkpoint() }
            if round % 60 == 0 {
                for reader in readers { reader.rollback() }
                readers = []
                if round % 120 == 0 { try database!.close() }  // else: a crash, nothing flushed
                database = nil
                database = try Database.open(directory.path, options: options)
                #expect(database!.indexes(on: "t").map(\.column) == Self.columns.map(\.name).sorted())
            }
            try database!.transaction { txn throws(EngineError) in try Self.check(txn, "t", &random, queries: 4) }
        }
        for reader in readers { reader.rollback() }
        // Rebuilt at open: exactly one entry per non-null value, the stale ones gone.
        try database!.close()
        database = try Database.open(directory.path, options: options)
        defer { try? database?.close() }
        let rows = try database!.transaction { txn throws(EngineError) in try txn.scan("t").rows }
        for (position, column) in Self.columns.enumerated() {
            let statistics = try database!.indexStatistics("t_\(column.name)", at: nil)
            #expect(statistics.learnedEntries == rows.filter { $0[position + 1] != .null }.count)
            #expect(statistics.hotEntries == 0)
        }
        try database!.transaction { txn throws(EngineError) in try Self.check(txn, "t", &random, queries: 200) }
    }

    @Test func hotEntriesMergeIntoTheLearnedRun() throws {
        try withFreshDatabase { database in
            var random = SeededRandom(state: 11)
            try Self.createIndexedTable(database, "t")
            for batch in Int64(0)..<10 {
                try database.transaction { txn throws(EngineError) in
                    for id in 0..<Int64(1000) { try txn.insert("t", Self.row(id * 10 + batch, &random)) }
                }
            }
            let statistics = try database.indexStatistics("t_i", at: .int64(0))
            #expect(statistics.learnedEntries + statistics.hotEntries == 10_000 - (try database.transaction { txn throws(EngineError) in
                try txn.scan("t").rows.filter { $0[1] == .null }.count
            }))
            #expect(statistics.learnedEntries > 4096 && statistics.hotEntries <= 4096)
            #expect(statistics.window.map { $0.count <= 2 * SecondaryIndex.epsilon + 2 } ?? false)
            try database.transaction { txn throws(EngineError) in try Self.check(txn, "t", &random, queries: 100) }
        }
    }

    @Test func emptyAndOneRowTables() throws {
        try withFreshDatabase { database in
            var random = SeededRandom(state: 5)
            try Self.createIndexedTable(database, "e")
            try database.transaction { txn throws(EngineError) in try Self.check(txn, "e", &random, queries: 50) }
            try database.createTable(try Self.schema("one"))
            try database.transaction { txn throws(EngineError) in
                try txn.insert("one", [.int64(7), .int64(3), .double(-0.0), .timestamp(0), .date(0), .text("caf\u{e9}"), .bool(true), .uuid(UUID(high: 1, low: 2))])
            }
            try Self.createIndexes(database, "one")
            try database.transaction { txn throws(EngineError) in
                try Self.check(txn, "one", &random, queries: 100)
                #expect(try txn.rows(index: "one_d", low: IndexBound(.double(0)), high: IndexBound(.double(0))).count == 1)
                #expect(try txn.rows(index: "one_s", low: IndexBound(.text("cafe\u{301}")), high: IndexBound(.text("cafe\u{301}"))).count == 1)
                #expect(try txn.rows(index: "one_i", low: IndexBound(.int64(3), inclusive: false), high: nil).count == 0)
                #expect(try txn.rows(index: "one_i", low: IndexBound(.null), high: nil).count == 0)
                // An integer bound widens to the double column's type.
                #expect(try txn.rows(index: "one_d", low: IndexBound(.int64(0)), high: IndexBound(.int64(0))).count == 1)
            }
        }
    }

    @Test func anIndexCreatedWhileATransactionWritesSeesItsRowsAfterCommit() throws {
        try withFreshDatabase { database in
            try database.createTable(try Self.schema("t"))
            let writer = try database.begin()
            try writer.insert("t", [.int64(1), .int64(42), .null, .null, .null, .text("x"), .null, .null])
            try database.createIndex(name: "t_i", table: "t", column: "i")
            #expect(try writer.rows(index: "t_i", low: IndexBound(.int64(42)), high: IndexBound(.int64(42))).count == 1)
            let other = try database.begin()
            #expect(try other.rows(index: "t_i", low: IndexBound(.int64(42)), high: IndexBound(.int64(42))).count == 0)
            try writer.commit()
            #expect(try other.rows(index: "t_i", low: IndexBound(.int64(42)), high: IndexBound(.int64(42))).count == 0)
            other.rollback()
            try database.transaction { txn throws(EngineError) in
                #expect(try txn.rows(index: "t_i", low: IndexBound(.int64(42)), high: nil).count == 1)
            }
        }
    }

    @Test func catalogErrorsAndDroppingTheTableDropsItsIndexes() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        var database = try Database.open(directory.path)
        try database.createTable(try Self.schema("t"))
        try database.createIndex(name: "t_s", table: "t", column: "s")
        #expect(throws: EngineError.indexExists("t_s")) { try database.createIndex(name: "t_s", table: "t", column: "i") }
        #expect(throws: EngineError.tableNotFound("u")) { try database.createIndex(name: "u_s", table: "u", column: "s") }
        #expect(throws: EngineError.indexNotFound("nope")) { try database.dropIndex("nope") }
        #expect(database.indexes() == [IndexDefinition(name: "t_s", table: "t", column: "s")])
        try database.dropTable("t")
        #expect(database.indexes().isEmpty)
        try database.createTable(try Self.schema("t"))
        try database.createIndex(name: "t_s", table: "t", column: "b")
        try database.createIndex(name: "gone", table: "t", column: "i")
        try database.dropIndex("gone")
        database = try { database.close(); return try Database.open(directory.path) }()
        defer { database.close() }
        #expect(database.indexes() == [IndexDefinition(name: "t_s", table: "t", column: "b")])
    }
}

/// The SQL path: a table with an index on every column against a copy without any, through the same
/// statements, in two sessions (one holding a snapshot across the other's commits); every query's plan
/// must be the index scan and its rows those of the copy's full scan.
@Suite struct SecondaryIndexSQLTests {
    static let names = SecondaryIndexTests.columns.map(\.name)

    /// A WHERE condition with a bound on `column` and its parameters.
    static func condition(_ column: Int, _ random: inout SeededRandom) -> (String, [Value]) {
        let type = SecondaryIndexTests.columns[column].type
        let name = names[column]
        let a = SecondaryIndexTests.value(type, &random, nulls: false)
        let b = SecondaryIndexTests.value(type, &random, nulls: false)
        var condition: String
        var parameters = [a]
        switch Int.random(in: 0..<7, using: &random) {
        case 0: condition = "\(name) = $1"
        case 1: condition = "\(name) < $1"
        case 2: condition = "\(name) <= $1"
        case 3: condition = "$1 < \(name)"
        case 4: condition = "\(name) >= $1"
        case 5: condition = "\(name) BETWEEN $1 AND $2"; parameters.append(b)
        default: condition = "\(name) > $1 AND \(name) <= $2"; parameters.append(b)
        }
        switch Int.random(in: 0..<3, using: &random) {
        case 0: condition += " AND (b OR i IS NULL)"
        case 1: condition += " AND id % 3 <> 1"
        default: break
        }
        return (condition, parameters)
    }

    @Test func indexedQueriesMatchTheUnindexedCopy() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        var options = Database.Options()
        options.flushThreshold = 300
        var database = try Database.open(directory.path, options: options)
        let names = Self.names
        var writer = SQLSession(database: database)
        var reader = SQLSession(database: database)
        let columns = zip(names, SecondaryIndexTests.columns).map { "\($0) \($1.type.sqlName)" }.joined(separator: ", ")
        for table in ["ti", "tp"] {
            _ = try writer.execute("CREATE TABLE \(table) (id BIGINT PRIMARY KEY, \(columns))")
        }
        for name in names { _ = try writer.execute("CREATE INDEX ti_\(name) ON ti (\(name))") }
        var random = SeededRandom(state: 99)
        let operations = environmentInt("OMEN_INDEX_OPERATIONS", default: 6000) / 3
        var done = 0
        var round = 0
        var readerOpen = false

        func compare(_ session: SQLSession, _ count: Int) throws {
            for _ in 0..<count {
                let column = Int.random(in: 0..<names.count, using: &random)
                let (condition, parameters) = Self.condition(column, &random)
                let sql = { (table: String) in "SELECT * FROM \(table) WHERE \(condition) ORDER BY id" }
                let indexed = try session.execute(sql("ti"), parameters: parameters)[0].rows
                let plain = try session.execute(sql("tp"), parameters: parameters)[0].rows
                #expect(indexed == plain, "\(sql("ti")) \(parameters)")
                let plan = try session.execute("EXPLAIN " + sql("ti"), parameters: parameters)[0].rows
                let title = "Learned Index Scan on ti using ti_\(names[column]) (\(names[column]))"
                #expect(plan.contains { $0.first.map { Evaluate.text($0).hasSuffix(title) } ?? false }, "\(sql("ti")): \(plan)")
            }
        }

        while done < operations {
            round += 1
            let begin = Bool.random(using: &random)
            if begin { _ = try writer.execute("BEGIN") }
            for _ in 0..<Int.random(in: 1...12, using: &random) {
                done += 1
                let id = Value.int64(Int64.random(in: 0..<600, using: &random))
                let statement: ((String) -> String, [Value])
                switch Int.random(in: 0..<10, using: &random) {
                case 0..<5:
                    let row = SecondaryIndexTests.row(0, &random).dropFirst()
                    statement = ({ "INSERT INTO \($0) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING" }, [id] + row)
                case 5..<8:
                    let column = Int.random(in: 0..<names.count, using: &random)
                    statement = ({ "UPDATE \($0) SET \(names[column]) = $1 WHERE id = $2" },
                                 [SecondaryIndexTests.value(SecondaryIndexTests.columns[column].type, &random), id])
                default:
                    statement = ({ "DELETE FROM \($0) WHERE id = $1" }, [id])
                }
                for table in ["ti", "tp"] {
                    _ = try writer.execute(statement.0(table), parameters: statement.1)
                }
            }
            if begin {
                try compare(writer, 2)
                _ = try writer.execute(Int.random(in: 0..<4, using: &random) == 0 ? "ROLLBACK" : "COMMIT")
            }
            try compare(writer, 2)
            if readerOpen { try compare(reader, 2) }
            if Int.random(in: 0..<5, using: &random) == 0 {
                _ = try reader.execute(readerOpen ? "COMMIT" : "BEGIN; SELECT count(*) FROM ti")
                readerOpen.toggle()
            }
            if round % 80 == 0 {
                if readerOpen { _ = try reader.execute("COMMIT") }
                readerOpen = false
                database.close()
                database = try Database.open(directory.path, options: options)
                writer = SQLSession(database: database)
                reader = SQLSession(database: database)
                #expect(database.indexes(on: "ti").count == names.count)
                #expect(database.indexes(on: "tp").isEmpty)
            }
        }
        try compare(writer, 100)
        database.close()
    }

    @Test func statementsAndErrors() throws {
        try withFreshDatabase { database in
            let session = SQLSession(database: database)
            _ = try session.execute("CREATE TABLE t (id BIGINT PRIMARY KEY, x BIGINT, span INTERVAL)")
            _ = try session.execute("CREATE INDEX ON t (x); CREATE INDEX IF NOT EXISTS t_x_idx ON t (x)")
            #expect(database.indexes() == [IndexDefinition(name: "t_x_idx", table: "t", column: "x")])
            func code(_ sql: String) -> String? {
                do { _ = try session.execute(sql); return nil } catch { return error.code }
            }
            #expect(code("CREATE INDEX t_x_idx ON t (x)") == "42P07")
            #expect(code("CREATE INDEX i ON nope (x)") == "42P01")
            #expect(code("CREATE INDEX i ON t (nope)") == "42703")
            #expect(code("CREATE INDEX i ON t (span)") == "42704")
            #expect(code("CREATE INDEX i ON t (x, id)") == "0A000")
            #expect(code("DROP INDEX nope") == "42704")
            #expect(code("DROP INDEX IF EXISTS nope") == nil)
            #expect(code("BEGIN; CREATE INDEX i ON t (id)") == "25001")
            #expect(code("SELECT 1") == "25P02")
            _ = try session.execute("ROLLBACK")
            // A primary-key range wins over the index; an unindexable constant leaves the full scan.
            let plans = try ["SELECT * FROM t WHERE x = 1 AND id = 2", "SELECT * FROM t WHERE x = 1.5", "SELECT * FROM t WHERE x <> 1"]
                .map { try session.execute("EXPLAIN " + $0)[0].rows[0] }
            #expect(plans == [[.text("Learned Index Point Lookup on t using primary key (id)")], [.text("Full Scan on t")], [.text("Full Scan on t")]])
            _ = try session.execute("DROP TABLE t")
            #expect(database.indexes().isEmpty)
        }
    }
}

/// Runs `body` on a database in a fresh directory, closed and removed after.
func withFreshDatabase(_ body: (Database) throws -> Void) throws {
    let directory = TemporaryDirectory()
    defer { directory.remove() }
    let database = try Database.open(directory.path)
    defer { database.close() }
    try body(database)
}
