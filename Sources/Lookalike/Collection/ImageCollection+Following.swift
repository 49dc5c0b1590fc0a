import NIOConcurrencyHelpers
import Foundation
import Storage
import VectorIndex

/// Loading the index from the store at start, and following the store's change sequence afterwards (writes by
/// another node, or by the CLI on the same file), with compaction of old tombstones.
extension ImageCollection {
    /// Streams the collection's stored vectors of the current model into the index (recomputing codes made
    /// under another scheme), then restores or builds the index's structure. Returns the number of vectors loaded.
    @discardableResult
    func load() throws -> Int {
        var loaded = 0
        var stale: [(id: Int64, code: StoredCode)] = []
        index.beginLoading()
        var codes: [Int64: StoredCode] = [:]
        try store.forEachCode(collection: id) { imageID, code in codes[imageID] = code }
        var listed: [Int64: RecordDirectory.Entry] = [:]
        try store.forEachKeyAndMetadata(collection: id) { imageID, key, metadata in
            listed[imageID] = RecordDirectory.Entry(key: key, metadata: metadata)
        }
        records.removeAll()
        // Images stored between the two streams have a vector but no listing yet; read after the stream.
        var unlisted: [Int64] = []
        let scheme = codeScheme
        let sequence = try store.forEachVector(collection: id, model: modelName) { imageID, vector in
            let values = Array(vector)
            var code = codes[imageID].map { BinaryCode(words: $0.words) }
            if codes[imageID]?.schemeID != scheme.id {
                let fresh = scheme.code(for: values)
                stale.append((imageID, StoredCode(schemeID: scheme.id, bits: scheme.bits, words: fresh.words)))
                code = fresh
            }
            let entry = listed.removeValue(forKey: imageID)
            if let entry {
                records.set(id: imageID, key: entry.key, metadata: entry.metadata)
            } else {
                unlisted.append(imageID)
            }
            index.add(id: imageID, vector: values, code: code, sequence: nil, metadata: entry.flatMap { Self.document($0.metadata) })
            loaded += 1
        }
        let late = try store.images(ids: unlisted)
        for imageID in unlisted {
            guard let record = late[imageID] else {
                index.remove(id: imageID, sequence: sequence)
                continue
            }
            records.set(id: imageID, key: record.key, metadata: record.metadata)
            index.updateMetadata(id: imageID, Self.document(record.metadata), sequence: sequence)
        }
        index.advance(toSequence: sequence)
        if !stale.isEmpty { try store.updateCodes(stale) }
        let outcome = index.finishLoading()
        published.withLockedValue { $0.loadOutcome = outcome }
        try catchUp()
        retrainCodesIfDue()
        return loaded
    }

    /// Applies the changes stored after the sequence the index reflects: upserts read their vector and code,
    /// tombstones remove. Idempotent; returns the number of changes applied.
    @discardableResult
    func catchUp() throws -> Int {
        try writes.withLockedValue { try applyStoredChanges(&$0) }
    }

    /// Whether a write this node just stored at `sequence` follows directly on what the index holds; when
    /// not, another node wrote in between (a shared database) and the index catches up to include both.
    func followsIndex(_ sequence: Int64) -> Bool { sequence == index.sequence + 1 }

    /// ``catchUp()``'s work; `held` is the write state, so only a caller holding the write lock can call it.
    @discardableResult
    func applyStoredChanges(_ held: inout WriteState) throws -> Int {
        var applied = 0
        var horizon: Int64? = nil
        while true {
            var changes = try store.changes(collection: id, after: index.sequence, limit: 1_000)
            if let marker = changes.first, marker.kind == .compacted {
                horizon = max(horizon ?? 0, marker.sequence)
                changes.removeFirst()
            }
            guard !changes.isEmpty else {
                // Every upsert is applied; deletions below the horizon are found by listing what is stored.
                guard let through = horizon else { return applied }
                applied += try removeUnstored(through: through)
                horizon = nil
                continue
            }
            let scheme = codeScheme
            // The batch's records (for their metadata) in one read rather than one per change.
            let upserted = changes.filter { $0.kind == .upsert }.map(\.id)
            let stored = try store.images(ids: upserted)
            let entries = try store.indexEntries(ids: upserted)
            for change in changes {
                switch change.kind {
                case .delete:
                    index.remove(id: change.id, sequence: change.sequence)
                    records.remove(id: change.id)
                case .upsert:
                    guard let entry = entries[change.id], let record = stored[change.id], entry.model == modelName,
                          entry.vector.count == dimension else {
                        index.remove(id: change.id, sequence: change.sequence)
                        records.remove(id: change.id)
                        continue
                    }
                    let code = entry.code.flatMap { $0.schemeID == scheme.id ? BinaryCode(words: $0.words) : nil }
                        ?? scheme.code(for: entry.vector)
                    records.set(id: change.id, key: record.key, metadata: record.metadata)
                    index.add(id: change.id, vector: entry.vector, code: code, sequence: change.sequence,
                              metadata: Self.document(record.metadata))
                case .compacted:
                    continue
                }
                applied += 1
            }
        }
    }

    /// Removes what the index holds but the store no longer does (deletions whose tombstones were compacted
    /// before this node read them), then marks the index current through `horizon`. Returns the number removed.
    private func removeUnstored(through horizon: Int64) throws -> Int {
        var stored = Set<Int64>()
        try store.forEachKeyAndMetadata(collection: id) { imageID, _, _ in stored.insert(imageID) }
        var removed = 0
        for imageID in records.all.keys where !stored.contains(imageID) {
            index.remove(id: imageID, sequence: nil)
            records.remove(id: imageID)
            removed += 1
        }
        index.advance(toSequence: horizon)
        return removed
    }

    /// Compacts the tombstones older than `storage.tombstoneRetentionSeconds` (by this node's sightings of the
    /// change sequence), under the store's claim so one node does it. `now` is for tests.
    func compactTombstonesIfDue(now: Date = Date()) throws {
        let retention = Double(configuration.storage.tombstoneRetentionSeconds)
        let due = writes.withLockedValue { state -> Int64? in
            guard !state.closed else { return nil }
            if state.sightings.last.map({ now.timeIntervalSince($0.time) >= retention / 8 }) ?? true {
                state.sightings.append((now, index.sequence))
            }
            guard let old = state.sightings.lastIndex(where: { now.timeIntervalSince($0.time) >= retention }) else { return nil }
            let through = state.sightings[old].sequence
            state.sightings.removeFirst(old)
            return through > state.compactedThrough ? through : nil
        }
        guard let due else { return }
        _ = try store.whileHolding(claim: "lookalike.compact.\(id)") {
            try store.compactTombstones(collection: id, through: due)
        }
        writes.withLockedValue { $0.compactedThrough = max($0.compactedThrough, due) }
    }
}
