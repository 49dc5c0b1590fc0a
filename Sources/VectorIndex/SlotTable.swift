import MetadataFilter

/// Which id each slot holds. A slot is a row position shared by the index's row stores (vectors, codes,
/// subspace rows), appended in order and never reused: replacing an id appends a new slot and leaves the old
/// one a tombstone, as removing does, so readers holding slot numbers never see a row change under them.
struct SlotTable {
    /// Slot → id, tombstones included.
    private(set) var ids: [Int64] = []
    /// Slot → whether it is a tombstone; read directly by the scans.
    private(set) var isDeleted: [Bool] = []
    /// The live slots as bits: a filter's bitmap is intersected with it word by word.
    private(set) var live = SlotBitmap(count: 0)
    private(set) var tombstones = 0
    private var slotOf: [Int64: Int32] = [:]

    /// Slots in use, tombstones included (the row stores' row count).
    var count: Int { ids.count }

    var liveCount: Int { ids.count - tombstones }

    /// The live slot of `id`.
    func slot(of id: Int64) -> Int32? { slotOf[id] }

    /// Gives `id` the next slot (the old one, if any, becomes a tombstone) and returns it.
    mutating func append(id: Int64) -> Int32 {
        if let old = slotOf[id] { markDeleted(old) }
        let slot = Int32(ids.count)
        ids.append(id)
        isDeleted.append(false)
        live.append(true)
        slotOf[id] = slot
        return slot
    }

    /// Makes `id`'s slot a tombstone; false when `id` has none.
    mutating func remove(id: Int64) -> Bool {
        guard let slot = slotOf.removeValue(forKey: id) else { return false }
        markDeleted(slot)
        return true
    }

    private mutating func markDeleted(_ slot: Int32) {
        if !isDeleted[Int(slot)] {
            isDeleted[Int(slot)] = true
            live.remove(Int(slot))
            tombstones += 1
        }
    }
}
