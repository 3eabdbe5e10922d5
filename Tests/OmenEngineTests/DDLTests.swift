import Testing
@testable import OmenEngine

/// CREATE TABLE and DROP TABLE inside a transaction take effect with its commit record: a crash (the
/// database abandoned without close, as SIGKILL leaves it) before the commit leaves neither, after it both,
/// checkpoints in between included; other transactions cannot write into a table not yet committed.
@Suite struct DDLTests {
    /// Runs `body` on a session over the database at `directory`, then abandons it (no close, no checkpoint).
    func crashAfter(_ directory: TemporaryDirectory, _ body: (SQLSession) throws -> Void) throws {
        let database = try Database.open(directory.path)
        try body(SQLSession(database: database))
    }

    /// The rows of `sql` after reopening, or nil when the table is missing (42P01).
    func afterReopen(_ directory: TemporaryDirectory, _ sql: String) throws -> [[Value]]? {
        let database = try Database.open(directory.path)
        defer { database.close() }
        do throws(SQLError) {
            return try SQLSession(database: database).execute(sql)[0].rows
        } catch {
            #expect(error.code == "42P01")
            return nil
        }
    }

    @Test(arguments: [false, true]) func uncommittedCreateLeavesNoTable(checkpoint: Bool) throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try crashAfter(directory) { session in
            _ = try session.execute("CREATE TABLE kept (id BIGINT PRIMARY KEY); INSERT INTO kept VALUES (1)")
            _ = try session.execute("BEGIN; CREATE TABLE fresh (id BIGINT PRIMARY KEY, v TEXT); INSERT INTO fresh VALUES (1, 'a')")
            if checkpoint { try session.database.checkpoint() }
            _ = try SQLSession(database: session.database).execute("INSERT INTO kept VALUES (2)")
        }
        #expect(try afterReopen(directory, "SELECT v FROM fresh") == nil)
        #expect(try afterReopen(directory, "SELECT count(*) FROM kept") == [[.int64(2)]])
    }

    @Test(arguments: [false, true]) func committedCreateSurvives(checkpoint: Bool) throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try crashAfter(directory) { session in
            _ = try session.execute("BEGIN; CREATE TABLE fresh (id BIGINT PRIMARY KEY, v TEXT); INSERT INTO fresh VALUES (1, 'a')")
            // A checkpoint while the creation is pending: the manifest lists the table as pending, not as a table.
            if checkpoint { try session.database.checkpoint() }
            _ = try session.execute("CREATE TABLE empty (id BIGINT PRIMARY KEY); COMMIT")
            if checkpoint { try session.database.checkpoint() }
        }
        #expect(try afterReopen(directory, "SELECT id, v FROM fresh") == [[.int64(1), .text("a")]])
        #expect(try afterReopen(directory, "SELECT count(*) FROM empty") == [[.int64(0)]])
    }

    @Test(arguments: [false, true]) func dropTakesEffectWithTheCommit(commit: Bool) throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try crashAfter(directory) { session in
            _ = try session.execute("CREATE TABLE old (id BIGINT PRIMARY KEY); INSERT INTO old VALUES (1), (2)")
            _ = try session.execute("BEGIN; DROP TABLE old")
            try session.database.checkpoint()
            if commit { _ = try session.execute("COMMIT") }
        }
        #expect(try afterReopen(directory, "SELECT count(*) FROM old") == (commit ? nil : [[.int64(2)]]))
    }

    @Test func rollbackUndoesAndOthersCannotWriteAnUncommittedTable() throws {
        let scratch = try ScratchSession()
        defer { scratch.close() }
        let creator = scratch.session
        let other = SQLSession(database: scratch.database)
        _ = try creator.execute("BEGIN; CREATE TABLE fresh (id BIGINT PRIMARY KEY)")
        var code: String?
        do throws(SQLError) { _ = try other.execute("INSERT INTO fresh VALUES (1)") } catch { code = error.code }
        #expect(code == "42P01")
        _ = try creator.execute("ROLLBACK")
        _ = try other.execute("CREATE TABLE fresh (id BIGINT PRIMARY KEY, v TEXT); INSERT INTO fresh VALUES (1, 'x')")
        #expect(try creator.execute("SELECT v FROM fresh")[0].rows == [[.text("x")]])
    }
}
