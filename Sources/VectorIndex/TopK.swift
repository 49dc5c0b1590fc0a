/// Keeps the `k` highest-scoring items seen, in a binary min-heap of size `k`.
struct TopK {
    private(set) var items: [(score: Float, slot: Int32)] = []
    let k: Int

    init(k: Int) {
        self.k = k
        items.reserveCapacity(k)
    }

    /// The lowest score kept, once `k` items are kept; `-infinity` before.
    var threshold: Float { items.count < k ? -.infinity : items[0].score }

    mutating func insert(score: Float, slot: Int32) {
        guard k > 0 else { return }
        if items.count < k {
            items.append((score, slot))
            var child = items.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                if items[parent].score <= items[child].score { break }
                items.swapAt(parent, child)
                child = parent
            }
        } else if score > items[0].score {
            items[0] = (score, slot)
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var smallest = parent
                if left < items.count && items[left].score < items[smallest].score { smallest = left }
                if right < items.count && items[right].score < items[smallest].score { smallest = right }
                if smallest == parent { break }
                items.swapAt(parent, smallest)
                parent = smallest
            }
        }
    }

    /// Kept items, best first (ties broken by slot for determinism).
    func sorted() -> [(score: Float, slot: Int32)] {
        items.sorted { $0.score != $1.score ? $0.score > $1.score : $0.slot < $1.slot }
    }
}
