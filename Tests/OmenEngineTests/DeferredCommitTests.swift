#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import Testing
@testable import OmenEngine

/// Commits that do not wait for the disk (`SQLSession.run(_:whenDurable:)`, as `omendb serve` runs them):
/// told by the log's flusher thread once durable, and visible by then; refusals thrown at once; a close
/// tells every commit still waiting.
@Suite struct DeferredCommitTests {
    final class Outcomes: Sendable {
        let results = Mutex<[Result<QueryResult, SQLError>]>([])
        var count: Int { results.withLock { $0.count } }
        @Sendable func add(_ result: Result<QueryResult, SQLError>) { results.withLock { $0.append(result) } }
    }

    static let table = "CREATE TABLE kv (k BIGINT PRIMARY KEY, v TEXT)"

    @Test func quickWritesAreSmallInsertsAndTransactionControl() throws {
        let scratch = try ScratchSession(Self.table)
        defer { scratch.close() }
        let session = scratch.session
        func quick(_ sql: String) throws -> Bool { session.isQuickWrite(try Parser.parse(sql)[0]) }
        #expect(try quick("INSERT INTO kv VALUES ($1, 'x') ON CONFLICT (k) DO NOTHING"))
        #expect(try quick("INSERT INTO kv (k, v) VALUES (1, $2::text), (-2, NULL)"))
        #expect(try quick("BEGIN") && quick("COMMIT") && quick("ROLLBACK"))
        #expect(try !quick("INSERT INTO kv SELECT k + 1, v FROM kv"))
        #expect(try !quick("INSERT INTO kv VALUES ((SELECT max(k) FROM kv), 'x')"))
        #expect(try !quick("INSERT INTO kv VALUES (1, 'x') ON CONFLICT (k) DO UPDATE SET v = 'y'"))
        #expect(try !quick("INSERT INTO kv VALUES (1, 'x') RETURNING k"))
        #expect(try !quick("UPDATE kv SET v = 'y' WHERE k = 1"))
    }

    /// Waits (up to 10 s) until `count` outcomes are in.
    static func waitFor(_ outcomes: Outcomes, count: Int) {
        for _ in 0..<10_000 where outcomes.count < count { usleep(1_000) }
    }

    @Test func deferredCommitsAreToldOnceDurableAndVisible() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        var database = try Database.open(directory.path)
        let writer = SQLSession(database: database), reader = SQLSession(database: database)
        _ = try writer.execute(Self.table)
        let outcomes = Outcomes()
        let insert = try Parser.parse("INSERT INTO kv VALUES ($1, 'x')")[0]
        let commits = environmentInt("OMEN_ENGINE_DEFERRED_COMMITS", default: 500)
        for key in 1...commits {
            #expect(try writer.run(insert, parameters: [.int64(Int64(key))], whenDurable: outcomes.add) == nil)
            // Told means visible: a commit is made visible before it is told, and only once durable.
            let told = outcomes.count
            let visible = try reader.execute("SELECT count(*) FROM kv")[0].rows[0][0]
            guard case .int64(let count) = visible, count >= told else {
                Issue.record("\(told) told, \(visible) visible")
                break
            }
        }
        Self.waitFor(outcomes, count: commits)
        #expect(outcomes.results.withLock { $0.allSatisfy { (try? $0.get().tag) == "INSERT 0 1" } } && outcomes.count == commits)
        #expect(try reader.execute("SELECT count(*) FROM kv")[0].rows == [[.int64(Int64(commits))]])
        // A read does not wait: its result comes back at once, and nothing is left to tell.
        let read = try writer.run(try Parser.parse("SELECT v FROM kv WHERE k = 2")[0], whenDurable: outcomes.add)
        #expect(read?.rows == [[.text("x")]] && outcomes.count == commits)
        database.close()
        database = try Database.open(directory.path)
        #expect(try SQLSession(database: database).execute("SELECT count(*) FROM kv")[0].rows == [[.int64(Int64(commits))]])
        database.close()
    }

    @Test func conflictsAreThrownAtOnceAndCloseTellsTheWaiting() throws {
        let scratch = try ScratchSession(Self.table + "; INSERT INTO kv VALUES (1, 'a')")
        let first = scratch.session, second = SQLSession(database: scratch.database)
        let outcomes = Outcomes()
        _ = try first.execute("BEGIN; UPDATE kv SET v = 'b' WHERE k = 1")
        _ = try second.execute("BEGIN; UPDATE kv SET v = 'c' WHERE k = 1")
        let commit = try Parser.parse("COMMIT")[0]
        #expect(try first.run(commit, whenDurable: outcomes.add) == nil)
        Self.waitFor(outcomes, count: 1)
        do {
            _ = try second.run(commit, whenDurable: outcomes.add)
            Issue.record("the second committer won")
        } catch { #expect(error.code == "40001") }
        #expect(try scratch.session.run(try Parser.parse("INSERT INTO kv VALUES (2, 'z')")[0], whenDurable: outcomes.add) == nil)
        scratch.close()
        let tags = outcomes.results.withLock { $0.map { try? $0.get().tag } }
        #expect(tags == ["COMMIT", "INSERT 0 1"])
    }
}
