import Testing
@testable import OmenEngine

/// A commit log for the tests: every transaction not listed is in progress.
struct Log: TransactionStatusSource {
    var committed: Set<TransactionID> = []
    var aborted: Set<TransactionID> = []
    func status(of transaction: TransactionID) -> TransactionStatus {
        committed.contains(transaction) ? .committed : aborted.contains(transaction) ? .aborted : .inProgress
    }
}

@Suite struct MVCCTests {
    // Transactions 1...9 exist; the snapshot was taken by 7 while 5 was running, before 8 and 9 began.
    let log = Log(committed: [1, 2, 3, 5, 8], aborted: [4, 6])
    let snapshot = Snapshot(xmin: 5, xmax: 8, inProgress: [5], current: 7)

    @Test func committedBeforeTheSnapshotIsVisible() {
        #expect(snapshot.isVisible(VersionStamp(creator: 1), in: log))
        #expect(snapshot.isVisible(VersionStamp(creator: 3), in: log))
    }

    @Test func committedButInProgressAtSnapshotIsInvisible() {
        // 5 has committed since, but the snapshot saw it running.
        #expect(!snapshot.isVisible(VersionStamp(creator: 5), in: log))
    }

    @Test func committedAfterTheSnapshotIsInvisible() {
        #expect(!snapshot.isVisible(VersionStamp(creator: 8), in: log))
    }

    @Test func stillRunningCreatorIsInvisible() {
        #expect(!snapshot.isVisible(VersionStamp(creator: 9), in: log))
    }

    @Test func ownWritesAreVisible() {
        #expect(snapshot.isVisible(VersionStamp(creator: 7), in: log))
    }

    @Test func ownDeletesHide() {
        #expect(!snapshot.isVisible(VersionStamp(creator: 7, deleter: 7), in: log))
        #expect(!snapshot.isVisible(VersionStamp(creator: 1, deleter: 7), in: log))
    }

    @Test func abortedCreatorIsInvisible() {
        #expect(!snapshot.isVisible(VersionStamp(creator: 4), in: log))
        #expect(!snapshot.isVisible(VersionStamp(creator: 6, deleter: 0), in: log))
    }

    @Test func committedVisibleDeleterHides() {
        #expect(!snapshot.isVisible(VersionStamp(creator: 1, deleter: 2), in: log))
    }

    @Test func inProgressDeleterDoesNotHide() {
        #expect(snapshot.isVisible(VersionStamp(creator: 1, deleter: 9), in: log))
        // Committed now, but running when the snapshot was taken.
        #expect(snapshot.isVisible(VersionStamp(creator: 1, deleter: 5), in: log))
        // Committed after the snapshot.
        #expect(snapshot.isVisible(VersionStamp(creator: 1, deleter: 8), in: log))
    }

    @Test func abortedDeleterDoesNotHide() {
        #expect(snapshot.isVisible(VersionStamp(creator: 1, deleter: 4), in: log))
    }

    @Test func snapshotBoundsClassifyTransactions() {
        #expect(!snapshot.considersRunning(4))
        #expect(snapshot.considersRunning(5))
        #expect(!snapshot.considersRunning(6))
        #expect(snapshot.considersRunning(8))
        #expect(snapshot.sees(3, in: log))
        #expect(!snapshot.sees(4, in: log))
    }

    @Test func readerWithoutTransactionSeesOnlyCommitted() {
        let reader = Snapshot(xmin: 5, xmax: 8, inProgress: [5], current: 0)
        #expect(reader.isVisible(VersionStamp(creator: 1), in: log))
        #expect(!reader.isVisible(VersionStamp(creator: 7), in: log))
        #expect(!reader.isVisible(VersionStamp(creator: 0), in: log))
    }
}
