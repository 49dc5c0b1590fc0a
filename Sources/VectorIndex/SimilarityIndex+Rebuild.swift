import Dispatch
import Foundation

/// Rebuild scheduling: when inserts and deletions pass the rebuild fraction, a new forest is built in the
/// background from a view of the rows and swapped in under the write lock.
extension SimilarityIndex {
    // MARK: Rebuild

    /// The subspace rank in force: 0 when off or when it would not be smaller than the vectors.
    var reducedRank: Int {
        configuration.reducedDimension > 0 && configuration.reducedDimension < configuration.dimension
            ? configuration.reducedDimension : 0
    }

    func needsRebuild() -> Bool {
        guard !rebuilding, !loading else { return false }
        let live = slotTable.liveCount
        if forest == nil { return live > configuration.exactThreshold }
        return Double(changesSinceBuild) > configuration.rebuildFraction * Double(max(live, 1))
    }

    func scheduleRebuild() {
        let start = lock.withWriteLock { () -> Bool in
            guard !rebuilding else { return false }
            rebuilding = true
            return true
        }
        guard start else { return }
        rebuildGroup.enter()
        rebuildQueue.async { [self] in
            defer { rebuildGroup.leave() }
            rebuild()
        }
    }

    /// Builds a new forest now, on the calling thread, and swaps it in (also what the background rebuild runs).
    public func rebuild() {
        let (rows, live, deletedAtSnapshot, keepSubspace) = lock.withReadLock { () -> (RowSource, [Int32], Int, Bool) in
            let rows = RowSource(storage)
            let live = (0..<rows.count).compactMap { slotTable.isDeleted[$0] ? nil : Int32($0) }
            return (rows, live, slotTable.tombstones, subspace != nil && live.count < 2 * subspaceLearnedAt)
        }
        var newForest = RandomProjectionForest(
            rows: rows, slots: live, treeCount: configuration.trees, leafSize: configuration.leafSize,
            seed: configuration.seed)
        // A failed eigen-decomposition only costs the subspace stage; search stays exact on the candidates.
        let newSubspace = reducedRank > 0 && !live.isEmpty && !keepSubspace
            ? try? PrincipalSubspace(training: rows, slots: live, rank: reducedRank) : nil
        let newReducedRows = newSubspace?.projectAll(rows)
        let again = lock.withWriteLock { () -> Bool in
            let current = RowSource(storage)
            // Replay rows added while building; deletions since then stay tombstones. Both count as changes
            // against the new forest.
            for slot in rows.count..<current.count {
                if let newSubspace, let newReducedRows {
                    _ = newSubspace.fixedPointCoordinates(of: current.row(Int32(slot))).withUnsafeBufferPointer {
                        newReducedRows.append($0)
                    }
                }
                if !slotTable.isDeleted[slot] { newForest.insert(slot: Int32(slot), rows: current) }
            }
            forest = newForest
            mutations += 1
            if !keepSubspace {  // a kept subspace's rows were extended by every add meanwhile
                subspace = newSubspace
                reducedRows = newReducedRows
                subspaceLearnedAt = live.count
            }
            changesSinceBuild = (current.count - rows.count) + (slotTable.tombstones - deletedAtSnapshot)
            rebuilding = false
            rebuilds += 1
            return needsRebuild()
        }
        if configuration.snapshotPath != nil { recordSnapshotSave() }
        if again { scheduleRebuild() }
    }
}
