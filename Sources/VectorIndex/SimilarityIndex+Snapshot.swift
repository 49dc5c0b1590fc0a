import Dispatch
import Foundation

/// Loading at start-up and snapshot I/O: a forest saved with the ids and fingerprints it indexes, and the change
/// sequence number its vectors were current at.
extension SimilarityIndex {
    // MARK: Loading and snapshots

    /// Starts a bulk load (a collection read at startup): until ``finishLoading()``, adds never start a build.
    public func beginLoading() {
        lock.withWriteLock { loading = true }
    }

    /// Ends a bulk load: below the exact threshold nothing more is needed; otherwise the forest is restored from
    /// the snapshot when it matches the loaded vectors closely enough (items deleted or changed since are
    /// dropped, new ones inserted, as long as those changes stay within ``Configuration/rebuildFraction``), and
    /// built anew otherwise.
    @discardableResult
    public func finishLoading() -> LoadOutcome {
        waitForRebuild()
        let live = lock.withWriteLock { () -> Int in
            loading = false
            return slotTable.liveCount
        }
        guard live > configuration.exactThreshold else { return .exact }
        var reason = "no snapshot configured"
        if let path = configuration.snapshotPath {
            do {
                if let outcome = try restore(from: path) { return outcome }
                reason = "no snapshot at \(path)"
            } catch let error as IndexSnapshotError {
                reason = error.description
            } catch {
                reason = "forest snapshot \(path): \(error)"
            }
        }
        rebuild()
        return .rebuilt(reason: reason)
    }

    /// Restores the forest from `path`; nil when there is no file. Throws when the file cannot be used.
    func restore(from path: String) throws -> LoadOutcome? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let bytes: [UInt8]
        do {
            bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw IndexSnapshotError(kind: .io, path: path, reason: "cannot read: \(error.localizedDescription)")
        }
        let snapshot = try ForestSnapshot(decoding: bytes, path: path)
        let expected = ForestSnapshot.Parameters(
            dimension: configuration.dimension, trees: configuration.trees, leafSize: configuration.leafSize,
            seed: configuration.seed, reducedRank: reducedRank)
        guard snapshot.parameters == expected else {
            throw IndexSnapshotError(kind: .mismatched, path: path, reason: "built with \(snapshot.parameters), configured \(expected)")
        }
        return try lock.withWriteLock { () -> LoadOutcome in
            let rows = RowSource(storage)
            var kept: [Int64: Int32] = [:]
            for item in snapshot.items {
                guard let slot = slotTable.slot(of: item.id),
                      ForestSnapshot.fingerprint(id: item.id, row: rows.row(slot), dimension: rows.dimension) == item.fingerprint
                else { continue }
                kept[item.id] = slot
            }
            let live = slotTable.liveCount
            let dropped = snapshot.items.count - kept.count
            let inserted = live - kept.count
            guard Double(dropped + inserted) <= configuration.rebuildFraction * Double(live) else {
                throw IndexSnapshotError(
                    kind: .mismatched, path: path,
                    reason: "\(dropped) items deleted or changed and \(inserted) added since it was saved")
            }
            var restored = RandomProjectionForest(snapshot: snapshot, slotOf: { kept[$0] }, indexedCount: rows.count)
            let keptSlots = Set(kept.values)
            for slot in 0..<rows.count where !slotTable.isDeleted[slot] && !keptSlots.contains(Int32(slot)) {
                restored.insert(slot: Int32(slot), rows: rows)
            }
            forest = restored
            if reducedRank > 0 {
                let restoredSubspace = PrincipalSubspace(dimension: rows.dimension, rank: reducedRank, basis: snapshot.subspaceBasis)
                subspace = restoredSubspace
                reducedRows = restoredSubspace.projectAll(rows)
                subspaceLearnedAt = live
            }
            changesSinceBuild = dropped + inserted
            snapshotSequence = snapshot.sequence
            mutations += 1
            if dropped + inserted == 0 { savedMutations = mutations }  // the file already holds exactly this
            return .restored(kept: kept.count, inserted: inserted, dropped: dropped)
        }
    }

    /// Writes the current forest to ``Configuration/snapshotPath`` (atomically: a new file renamed over the
    /// old), unless the file already reflects the index. Returns false when there is no forest or no path. The
    /// index lock is held only to take copies.
    @discardableResult
    public func saveSnapshot() throws -> Bool {
        guard let path = configuration.snapshotPath else { return false }
        saveLock.lock()
        defer { saveLock.unlock() }
        let taken = lock.withReadLock { () -> (RandomProjectionForest, PrincipalSubspace?, [Int64], [Bool], RowSource, Int, Int64)?? in
            guard let forest else { return nil }
            if savedMutations == mutations { return .some(nil) }
            return (forest, subspace, slotTable.ids, slotTable.isDeleted, RowSource(storage), mutations, appliedSequence)
        }
        guard let taken else { return false }
        guard let (forest, subspace, ids, deleted, rows, generation, sequence) = taken else { return true }
        var items: [ForestSnapshot.Item] = []
        items.reserveCapacity(ids.count)
        for slot in 0..<min(ids.count, rows.count) where !deleted[slot] {
            items.append(.init(id: ids[slot], fingerprint: ForestSnapshot.fingerprint(
                id: ids[slot], row: rows.row(Int32(slot)), dimension: rows.dimension)))
        }
        items.sort { $0.id < $1.id }
        var snapshot = forest.snapshot(items: items, subspace: subspace) { slot in
            Int(slot) < ids.count && !deleted[Int(slot)] ? ids[Int(slot)] : nil
        }
        snapshot.sequence = sequence
        do {
            try Data(snapshot.encoded()).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw IndexSnapshotError(kind: .io, path: path, reason: "cannot write: \(error.localizedDescription)")
        }
        lock.withWriteLock {
            savedMutations = generation
            snapshotSequence = sequence
        }
        return true
    }

    /// Saves the snapshot after a build; a failure is kept for ``statistics`` rather than thrown (the index
    /// works without a snapshot).
    func recordSnapshotSave() {
        var failure: String?
        do { try saveSnapshot() } catch { failure = "\(error)" }
        lock.withWriteLock { snapshotFailure = failure }
    }

    /// Waits for a background rebuild in progress, if any (tests and orderly shutdown).
    public func waitForRebuild() {
        rebuildGroup.wait()
    }
}
