public import Foundation

/// An import job as its status reports it: what it reads, how far it got, and how fast.
public struct ImportJob: Sendable, Equatable {
    public enum State: String, Sendable, Codable, CaseIterable {
        /// Waiting for the job before it (jobs run one at a time, in the order they were created).
        case queued
        case running
        /// Every item has its outcome.
        case completed
        /// Stopped on request; items not started stay pending.
        case cancelled
    }

    /// What happens to an image that is a near-duplicate of another stored one.
    public enum DuplicatePolicy: String, Sendable, Codable, CaseIterable {
        /// Stored all the same (the outcome names the near-duplicates).
        case store
        /// Not stored: the item's outcome is `duplicate`.
        case skip
    }

    public let id: String
    public let collection: String
    public var state: State
    /// "manifest (jsonl)", "manifest (csv)" or "folder NAME".
    public let source: String
    public let concurrency: Int
    public let onDuplicate: DuplicatePolicy
    public let created: Date
    public var started: Date?
    public var finished: Date?
    public let total: Int
    /// Items per state.
    public var counts: [ImportItem.State: Int]
    /// Items finished per second over the recent past (nil before two have finished in this run).
    public var itemsPerSecond: Double?

    public init(id: String, collection: String, state: State, source: String, concurrency: Int, onDuplicate: DuplicatePolicy,
                created: Date, started: Date? = nil, finished: Date? = nil, total: Int, counts: [ImportItem.State: Int],
                itemsPerSecond: Double? = nil) {
        self.id = id
        self.collection = collection
        self.state = state
        self.source = source
        self.concurrency = concurrency
        self.onDuplicate = onDuplicate
        self.created = created
        self.started = started
        self.finished = finished
        self.total = total
        self.counts = counts
        self.itemsPerSecond = itemsPerSecond
    }

    /// Items with an outcome.
    public var done: Int { counts.filter { $0.key.isFinal }.values.reduce(0, +) }
}
