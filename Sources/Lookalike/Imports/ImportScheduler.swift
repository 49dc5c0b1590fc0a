import Foundation

/// The items of one running job, handed to its lanes: unfinished items read from the journal a page at a time,
/// in position order, with items waiting for another try set aside until their time; counts and the recent rate.
final class ImportScheduler: @unchecked Sendable {
    // @unchecked: every stored property below is touched only while `condition` is locked.
    private let condition = NSCondition()
    private var buffered: [ImportItem] = []
    private var bufferedIndex = 0
    private var loadedThrough = 0
    private var exhausted = false
    private var delayed: [(due: Date, item: ImportItem)] = []
    private var halted = false
    private var counts: [ImportItem.State: Int]
    private var recentFinishes: [Date] = []
    private let loadPage: (_ after: Int) throws -> [ImportItem]

    /// `counts`: the job's items per state when it starts; `loadPage`: unfinished items after a position.
    init(counts: [ImportItem.State: Int], loadPage: @escaping (_ after: Int) throws -> [ImportItem]) {
        self.counts = counts
        self.loadPage = loadPage
    }

    /// The next item to work on, waiting for a delayed one when only those remain; nil when none remain or
    /// the job was halted.
    func next() throws -> ImportItem? {
        condition.lock()
        defer { condition.unlock() }
        while !halted {
            if bufferedIndex == buffered.count && !exhausted {
                buffered = try loadPage(loadedThrough)
                bufferedIndex = 0
                if let last = buffered.last { loadedThrough = last.position } else { exhausted = true }
            }
            let now = Date()
            if let index = delayed.indices.min(by: { delayed[$0].due < delayed[$1].due }), delayed[index].due <= now {
                return delayed.remove(at: index).item
            }
            if bufferedIndex < buffered.count {
                defer { bufferedIndex += 1 }
                return buffered[bufferedIndex]
            }
            guard let due = delayed.map(\.due).min() else { return nil }
            condition.wait(until: due)
        }
        return nil
    }

    /// Sets `item` aside until `due`.
    func retry(_ item: ImportItem, at due: Date) {
        condition.lock()
        delayed.append((due, item))
        condition.broadcast()
        condition.unlock()
    }

    /// Counts an item's move from `old` to `new` state (an outcome, or a try that failed).
    func moved(from old: ImportItem.State, to new: ImportItem.State) {
        guard old != new else { return }
        condition.lock()
        counts[old, default: 0] -= 1
        counts[new, default: 0] += 1
        if new.isFinal {
            recentFinishes.append(Date())
            if recentFinishes.count > 512 { recentFinishes.removeFirst(recentFinishes.count - 256) }
        }
        condition.unlock()
    }

    /// Stops handing out items (cancel or shutdown); lanes finish what they hold.
    func halt() {
        condition.lock()
        halted = true
        condition.broadcast()
        condition.unlock()
    }

    var isHalted: Bool {
        condition.lock()
        defer { condition.unlock() }
        return halted
    }

    /// Items per state, and items finished per second over the last (up to) 256 outcomes of this run.
    var progress: (counts: [ImportItem.State: Int], itemsPerSecond: Double?) {
        condition.lock()
        defer { condition.unlock() }
        let window = recentFinishes.suffix(256)
        guard window.count >= 2, let first = window.first, let last = window.last, last > first else { return (counts, nil) }
        // Measured up to now, so a stalled job's rate falls instead of freezing at its last value.
        let span = max(last, Date()).timeIntervalSince(first)
        return (counts, Double(window.count - 1) / span)
    }
}
