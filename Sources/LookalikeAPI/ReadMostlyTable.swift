import NIOConcurrencyHelpers
import Synchronization

/// A dictionary read by every request and written only the first time a key is seen (a route's metrics): readers
/// take no lock, so 64 connection threads on two cores never queue behind one another, or behind a thread
/// preempted while holding it. Writers copy the table under a lock and publish the copy atomically.
///
/// Tables replaced by a larger one are kept, not freed: a reader may still be looking at one, and there is at most
/// one per distinct key, each small.
final class ReadMostlyTable<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private final class Table: Sendable {
        let entries: [Key: Value]
        init(_ entries: [Key: Value]) { self.entries = entries }
    }

    /// The current table, unretained (`published` keeps it alive).
    private let current: Synchronization.Atomic<Unmanaged<Table>>
    /// Every table published, the current one last; writers hold this lock.
    private let published: NIOLockedValueBox<[Table]>

    init() {
        let empty = Table([:])
        current = Synchronization.Atomic(Unmanaged.passUnretained(empty))
        published = NIOLockedValueBox([empty])
    }

    /// The value for `key`, made by `make` (under the writers' lock, once per key) when it is new.
    func value(for key: Key, orMake make: () -> Value) -> Value {
        if let known = current.load(ordering: .acquiring)._withUnsafeGuaranteedRef({ $0.entries[key] }) {
            return known
        }
        return published.withLockedValue { tables in
            let latest = tables[tables.count - 1]
            if let known = latest.entries[key] { return known }
            var entries = latest.entries
            let value = make()
            entries[key] = value
            let table = Table(entries)
            tables.append(table)
            current.store(Unmanaged.passUnretained(table), ordering: .releasing)
            return value
        }
    }
}
