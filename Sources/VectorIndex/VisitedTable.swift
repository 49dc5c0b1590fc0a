import Foundation

/// Which slots one graph walk has scored, cleared in O(1) by moving to a new generation.
final class VisitedTable {
    private var marks: [UInt16] = []
    private var generation: UInt16 = 0

    /// Starts a walk over `count` slots.
    func reset(count: Int) {
        if marks.count < count { marks += [UInt16](repeating: 0, count: count - marks.count + count / 4) }
        generation &+= 1
        if generation == 0 {
            for index in marks.indices { marks[index] = 0 }
            generation = 1
        }
    }

    /// Marks `slot`; false when it was already marked in this walk.
    @inline(__always)
    func insert(_ slot: Int32) -> Bool {
        let index = Int(slot)
        if marks[index] == generation { return false }
        marks[index] = generation
        return true
    }
}

/// Tables handed to concurrent walks, so a search does not clear a table as large as the index.
/// `@unchecked Sendable` is safe because `tables` is touched only under `lock`, and a table is used by one walk
/// at a time (taken out of the pool while in use).
final class VisitedPool: @unchecked Sendable {
    private let lock = NSLock()
    private var tables: [VisitedTable] = []

    func withTable<T>(count: Int, _ body: (VisitedTable) throws -> T) rethrows -> T {
        let table = lock.withLock { tables.popLast() } ?? VisitedTable()
        table.reset(count: count)
        defer { lock.withLock { tables.append(table) } }
        return try body(table)
    }
}
