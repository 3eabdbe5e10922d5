import Dispatch
import Testing
@testable import OmenEngine

/// A statement stops with 57014 when its session's statement timeout passes or a cancel is requested (from
/// another thread, as a signal handler would), and the session goes on.
@Suite struct CancellationTests {
    /// A table of 60 rows.
    static let setup = "CREATE TABLE c (id BIGINT PRIMARY KEY); INSERT INTO c VALUES "
        + (1...60).map { "(\($0))" }.joined(separator: ", ")

    /// Hours of work: a five-way cross join of 60 rows.
    static let endless = "SELECT count(*) FROM c a, c b, c d, c e, c f WHERE a.id + b.id + d.id + e.id + f.id = 0"

    func outcome(_ session: SQLSession, _ sql: String) -> SQLError? {
        do throws(SQLError) {
            _ = try session.execute(sql)
            return nil
        } catch { return error }
    }

    @Test func statementTimeoutStopsALongStatement() throws {
        let scratch = try ScratchSession(Self.setup)
        defer { scratch.close() }
        let session = scratch.session
        session.statementTimeout = .milliseconds(200)
        let clock = ContinuousClock()
        let start = clock.now
        let error = outcome(session, Self.endless)
        #expect(error?.code == "57014" && error?.message.contains("statement timeout") == true, "\(String(describing: error))")
        #expect(clock.now - start < .seconds(20))
        let after = try session.execute("SELECT count(*) FROM c")
        #expect(after[0].rows == [[.int64(60)]])
    }

    @Test func cancelFromAnotherThreadStopsTheStatement() throws {
        let scratch = try ScratchSession(Self.setup)
        defer { scratch.close() }
        let session = scratch.session
        let cancellation = session.cancellation
        // A Dispatch thread, not a task: the test runner's task pool may be busy with other tests for
        // minutes, and the statement would run (and allocate) all that while. A queue of its own, not the
        // global one: that has a thread a core, which other tests' blocking work can hold (the cancel
        // then came 27 s late on two cores).
        DispatchQueue(label: "cancellation test").asyncAfter(deadline: .now() + .milliseconds(300)) {
            cancellation.request()
        }
        let clock = ContinuousClock()
        let start = clock.now
        let error = outcome(session, Self.endless)
        #expect(clock.now - start < .seconds(20))
        #expect(error?.code == "57014" && error?.message.contains("user request") == true, "\(String(describing: error))")
        let after = try session.execute("SELECT 1 + 1")
        #expect(after[0].rows == [[.int64(2)]])
    }
}
