import LearnedIndex

/// A transaction id; 0 means "none" (an entry nobody deleted has deleter 0).
public typealias TransactionID = UInt64

/// What became of a transaction.
public enum TransactionStatus: Sendable {
    case inProgress, committed, aborted
}

/// Answers the status of any transaction (the commit log).
public protocol TransactionStatusSource {
    func status(of transaction: TransactionID) -> TransactionStatus
}

/// Who created an entry and who deleted it.
@frozen
public struct VersionStamp: Equatable, Sendable {
    public var creator: TransactionID
    public var deleter: TransactionID

    @inlinable
    public init(creator: TransactionID, deleter: TransactionID = 0) {
        self.creator = creator
        self.deleter = deleter
    }
}

/// What a transaction may see, by PostgreSQL's rules: transactions below `xmin` have finished; those at
/// or above `xmax` started after the snapshot; those in `inProgress` were running when it was taken. A
/// transaction's effects are visible when it committed and the snapshot does not consider it running;
/// the snapshot's own transaction always sees its own writes.
public struct Snapshot: Equatable, Sendable {
    public let xmin: TransactionID
    public let xmax: TransactionID
    /// Sorted, each in `xmin..<xmax`.
    public let inProgress: [TransactionID]
    /// The transaction reading through the snapshot (0 for none).
    public let current: TransactionID

    public init(xmin: TransactionID, xmax: TransactionID, inProgress: [TransactionID], current: TransactionID) {
        self.xmin = xmin
        self.xmax = xmax
        self.inProgress = inProgress.sorted()
        self.current = current
    }

    /// True when the snapshot treats `transaction` as still running (or not yet started).
    public func considersRunning(_ transaction: TransactionID) -> Bool {
        if transaction >= xmax { return true }
        if transaction < xmin { return false }
        let index = inProgress.partitionPoint { $0 >= transaction }
        return index < inProgress.count && inProgress[index] == transaction
    }

    /// True when `transaction`'s effects are visible: it committed and the snapshot does not see it running.
    public func sees(_ transaction: TransactionID, in log: some TransactionStatusSource) -> Bool {
        !considersRunning(transaction) && log.status(of: transaction) == .committed
    }

    /// Whether an entry with `stamp` is visible through this snapshot.
    public func isVisible(_ stamp: VersionStamp, in log: some TransactionStatusSource) -> Bool {
        // Created by this transaction: visible unless this transaction also deleted it.
        if stamp.creator == current && current != 0 {
            return stamp.deleter != current
        }
        // Created by a transaction that aborted, is running, or committed after the snapshot: invisible.
        guard sees(stamp.creator, in: log) else { return false }
        if stamp.deleter == 0 { return true }
        if stamp.deleter == current && current != 0 { return false }
        // A deleter that aborted, is running, or committed after the snapshot has not deleted it yet.
        return !sees(stamp.deleter, in: log)
    }
}
