/// A binary max-heap of (score, slot) pairs packed into one `Int64` each (score in the high half), so a
/// comparison is one integer compare. A min-heap is the same heap over negated scores.
struct ScoredSlotHeap {
    private(set) var keys: [Int64] = []

    init(capacity: Int) { keys.reserveCapacity(capacity) }

    var count: Int { keys.count }
    var isEmpty: Bool { keys.isEmpty }

    @inline(__always) static func key(score: Int32, slot: Int32) -> Int64 {
        Int64(score) << 32 | Int64(UInt32(bitPattern: slot))
    }
    @inline(__always) static func score(_ key: Int64) -> Int32 { Int32(truncatingIfNeeded: key >> 32) }
    @inline(__always) static func slot(_ key: Int64) -> Int32 { Int32(truncatingIfNeeded: key) }

    /// The largest key.
    var top: Int64? { keys.first }

    mutating func push(score: Int32, slot: Int32) {
        keys.append(Self.key(score: score, slot: slot))
        var child = keys.count - 1
        let moving = keys[child]
        while child > 0 {
            let parent = (child - 1) / 2
            guard keys[parent] < moving else { break }
            keys[child] = keys[parent]
            child = parent
        }
        keys[child] = moving
    }

    @discardableResult
    mutating func pop() -> Int64 {
        let top = keys[0]
        let last = keys.removeLast()
        guard !keys.isEmpty else { return top }
        var parent = 0
        let count = keys.count
        while true {
            var child = 2 * parent + 1
            guard child < count else { break }
            if child + 1 < count && keys[child + 1] > keys[child] { child += 1 }
            guard keys[child] > last else { break }
            keys[parent] = keys[child]
            parent = child
        }
        keys[parent] = last
        return top
    }

    mutating func removeAll() { keys.removeAll(keepingCapacity: true) }
}
