import Foundation

/// The graph saved beside the database and restored at start-up: the full vectors are streamed from the store
/// as always, and the graph (codec, codes, edges) is taken from the file for every entry whose vector still has
/// the fingerprint it was saved with, instead of being built anew.
extension GraphIndex {
    /// Restores the graph from `path` over the loaded rows; nil when there is no file. Throws when the file cannot
    /// be used: damaged, built with other parameters, or too many of its entries deleted or changed since.
    func restore(from path: String) throws(IndexSnapshotError) -> IndexLoadOutcome? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let bytes: [UInt8]
        do {
            bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped))
        } catch {
            throw IndexSnapshotError(kind: .io, path: path, reason: "cannot read: \(error.localizedDescription)")
        }
        let snapshot = try GraphSnapshot(decoding: bytes, path: path)
        let expected = GraphSnapshot.Parameters(dimension: configuration.dimension, degree: configuration.degree,
                                                codeRank: configuration.codeRank)
        guard snapshot.parameters == expected else {
            throw IndexSnapshotError(kind: .mismatched, path: path, reason: "built with \(snapshot.parameters), configured \(expected)")
        }
        return try lock.withWriteLock { () throws(IndexSnapshotError) -> IndexLoadOutcome in
            let rows = RowSource(vectors)
            var slotOfNode = [Int32](repeating: -1, count: snapshot.nodeCount)
            var kept = 0, saved = 0
            for (node, id) in snapshot.ids.enumerated() where id != GraphSnapshot.waypoint {
                saved += 1
                guard let slot = slotTable.slot(of: id),
                      SnapshotHash.fingerprint(id: id, row: rows.row(slot), dimension: rows.dimension) == snapshot.fingerprints[node]
                else { continue }
                slotOfNode[node] = slot
                kept += 1
            }
            let live = slotTable.liveCount
            let dropped = saved - kept, inserted = live - kept
            // Dropped nodes are bridged by their own edges; past a fifth of the graph that would leave it too
            // thin, and a rebuild is what consolidation would do anyway.
            guard dropped * 5 <= max(saved, 1), kept > 0 else {
                throw IndexSnapshotError(kind: .mismatched, path: path,
                                         reason: "\(dropped) of its \(saved) entries deleted or changed since it was saved")
            }
            let liveSlots = (0..<Int32(slotTable.count)).filter { slotTable.live.contains(Int($0)) }
            var restored = ProximityGraph(restoring: snapshot, slotOfNode: slotOfNode, rows: rows, live: liveSlots,
                                          configuration: configuration, kernels: kernels)
            var continued = [Bool](repeating: false, count: slotTable.count)
            for slot in slotOfNode where slot >= 0 { continued[Int(slot)] = true }
            for slot in liveSlots where !continued[Int(slot)] { restored.insert(slot, rows: rows, visited: visitedPool) }
            graph = restored
            builtAtCount = max(snapshot.builtAtCount, 1)
            tombstonesAtBuild = slotTable.tombstones
            changes += 1
            if dropped + inserted == 0 && snapshot.ids.count == saved { savedChanges = changes }  // the file holds exactly this
            if buildIsDue { scheduleBuild() }
            return .restored(kept: kept, inserted: inserted, dropped: dropped)
        }
    }

    /// Writes the graph to ``Configuration/snapshotPath`` (atomically: a new file renamed over the old) unless
    /// the file already reflects it. False when there is no graph or no path. The index lock is held only to
    /// take copies; the fingerprints are computed from rows that no longer change.
    @discardableResult
    public func saveSnapshot() throws -> Bool {
        guard let path = configuration.snapshotPath else { return false }
        return try saveSnapshot(to: path)
    }

    /// Writes the graph to `path` (the benchmark's timed save); false when there is no graph.
    @discardableResult
    public func saveSnapshot(to path: String) throws -> Bool {
        saveLock.lock()
        defer { saveLock.unlock() }
        typealias Taken = (graph: ProximityGraph, codes: [Int8], ids: [Int64], live: [Bool], rows: RowSource,
                           generation: Int, sequence: Int64, builtAtCount: Int, tombstones: Int)
        let taken = lock.withReadLock { () -> Taken?? in
            guard let graph else { return nil }
            if savedChanges == changes && path == configuration.snapshotPath { return .some(nil) }
            let count = graph.count
            return (graph, graph.codeBytes(), Array(slotTable.ids.prefix(count)),
                    (0..<count).map { slotTable.live.contains($0) }, RowSource(vectors), changes, appliedSequence,
                    builtAtCount, tombstonesAtBuild)
        }
        guard let taken else { return false }
        guard let taken else { return true }
        var ids = taken.ids
        var fingerprints = [UInt64](repeating: 0, count: ids.count)
        for slot in 0..<ids.count {
            if taken.live[slot] {
                fingerprints[slot] = SnapshotHash.fingerprint(id: ids[slot], row: taken.rows.row(Int32(slot)),
                                                              dimension: taken.rows.dimension)
            } else {
                ids[slot] = GraphSnapshot.waypoint
            }
        }
        let snapshot = taken.graph.snapshot(ids: ids, fingerprints: fingerprints, codes: taken.codes, sequence: taken.sequence,
                                            builtAtCount: taken.builtAtCount, tombstonesAtBuild: taken.tombstones)
        do {
            try Data(snapshot.encoded()).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw IndexSnapshotError(kind: .io, path: path, reason: "cannot write: \(error.localizedDescription)")
        }
        if path == configuration.snapshotPath { lock.withWriteLock { savedChanges = taken.generation } }
        return true
    }

    /// Saves the snapshot after a build; a failure is kept rather than thrown (the index works without one).
    func recordSnapshotSave() {
        var failure: String?
        do { try saveSnapshot() } catch { failure = "\(error)" }
        lock.withWriteLock { snapshotFailure = failure }
    }

    /// Deletes the snapshot file, if any.
    public func removeSnapshot() {
        guard let path = configuration.snapshotPath else { return }
        saveLock.withLock {
            try? FileManager.default.removeItem(atPath: path)
            lock.withWriteLock { savedChanges = -1 }
        }
    }
}
