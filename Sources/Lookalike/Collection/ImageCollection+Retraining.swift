import NIOConcurrencyHelpers
import Foundation
import Storage
import VectorIndex

/// Code retraining: an ITQ collection learns its scheme from its own vectors once it is large enough, in the
/// background, and switches store, index and new uploads to it at once; nodes sharing a database learn it once.
extension ImageCollection {
    /// With the ITQ scheme: once `hashing.itqMinimumImages` are stored and codes are still random hyperplanes,
    /// learns ITQ in the background and switches the collection to it (``retrainCodes()``).
    func retrainCodesIfDue() {
        let due = writes.withLockedValue { state -> Bool in
            guard settings.codeScheme == .itq, codeScheme.kind != CodeSchemeKind.itq.rawValue, !state.retraining,
                  !state.closed, !state.superseded, index.count >= configuration.hashing.itqMinimumImages,
                  Date().timeIntervalSince(state.lastRetrainAttempt) >= Self.retrainRetrySeconds else { return false }
            state.retraining = true
            state.lastRetrainAttempt = Date()
            return true
        }
        guard due else { return }
        retrainGroup.enter()
        retrainQueue.async { [self] in
            defer { retrainGroup.leave() }
            do {
                // Nodes sharing a database learn a collection's scheme once: the node holding the claim does,
                // the others adopt its result when they follow the change (``adoptCodeScheme(_:)``).
                _ = try store.whileHolding(claim: "lookalike.itq.\(id)") {
                    // Another node may have finished just before: take its scheme rather than learn a second.
                    if let stored = try store.collection(named: name), stored.id == id, let current = stored.codeSchemeID,
                       current != codeScheme.id {
                        try adoptCodeScheme(current)
                        if codeScheme.kind == CodeSchemeKind.itq.rawValue { return }
                    }
                    if let plan = try prepareRetraining() { try commitRetraining(plan) }
                }
            } catch {}
            writes.withLockedValue { $0.retraining = false }
        }
    }

    /// How long after a retraining attempt (one another node held the claim for, or one that failed) the next
    /// may start.
    static let retrainRetrySeconds = 10.0

    /// Switches to the code scheme another node stored for this collection (after it learned ITQ): the codes
    /// of every indexed image are recomputed from their vectors here. Nothing happens when `schemeID` is the
    /// scheme in force, or names one this collection cannot use.
    func adoptCodeScheme(_ schemeID: Int64?) throws {
        guard let schemeID, schemeID != codeScheme.id, let saved = try store.hashScheme(id: schemeID),
              let adopted = try CodeScheme(id: schemeID, stored: saved, settings: settings, dimension: dimension) else { return }
        writes.withLockedValue { state in
            guard !state.closed, !state.superseded, codeScheme.id != schemeID else { return }
            index.recomputeCodes { adopted.code(for: Array($0)) }
            published.withLockedValue { $0.scheme = adopted }
        }
    }

    /// Waits for a background code retraining in progress, if any.
    func waitForRetraining() { retrainGroup.wait() }

    /// A learned scheme and the codes of every image stored when it was learned.
    struct RetrainingPlan {
        let quantizer: IterativeQuantization
        let schemeID: Int64
        /// The change sequence the codes reflect: images written after it get codes of their own at commit.
        let sequence: Int64
        var codes: [Int64: BinaryCode]
    }

    /// Learns ITQ from a sample of stored vectors and computes new codes for every stored vector, without
    /// holding the write lock. Nil when too few images are stored.
    func prepareRetraining() throws -> RetrainingPlan? {
        let bits = settings.codeBits
        let total = try store.count(collection: id)
        let sampleLimit = max(1, configuration.hashing.itqTrainingSample)
        let stride = max(1, total / sampleLimit)
        var sample: [Float] = []
        var sampled = 0
        var position = 0
        try store.forEachVector(collection: id, model: modelName) { _, vector in
            if position % stride == 0 && sampled < sampleLimit {
                sample.append(contentsOf: vector)
                sampled += 1
            }
            position += 1
        }
        guard sampled >= bits else { return nil }
        let quantizer = try IterativeQuantization(training: sample, count: sampled, dimension: dimension, bits: bits)
        var codes: [Int64: BinaryCode] = [:]
        let sequence = try store.forEachVector(collection: id, model: modelName) { imageID, vector in
            codes[imageID] = quantizer.code(for: Array(vector))
        }
        let schemeID = try store.saveHashScheme(kind: CodeSchemeKind.itq.rawValue, bits: bits, dimension: dimension,
                                                parameters: quantizer.parameters)
        return RetrainingPlan(quantizer: quantizer, schemeID: schemeID, sequence: sequence, codes: codes)
    }

    /// Rows per transaction when new codes are written: uploads interleave between batches.
    static let codeBatchSize = 2_000

    /// Writes the plan's codes in batches (each its own transaction, the write lock not held), then, under
    /// the write lock, recomputes the codes of images written since the plan's sequence from their current
    /// vectors and switches store, index and new uploads to the new scheme at once.
    func commitRetraining(_ plan: RetrainingPlan) throws {
        let bits = settings.codeBits
        let entries = plan.codes.sorted { $0.key < $1.key }
        for start in Swift.stride(from: 0, to: entries.count, by: Self.codeBatchSize) {
            try store.updateCodes(entries[start..<min(start + Self.codeBatchSize, entries.count)].map {
                ($0.key, StoredCode(schemeID: plan.schemeID, bits: bits, words: $0.value.words))
            })
        }
        try writes.withLockedValue { state in
            guard !state.closed, !state.superseded else { return }
            var codes = plan.codes
            var changed: [(id: Int64, code: StoredCode)] = []
            var after = plan.sequence
            while true {
                let changes = try store.changes(collection: id, after: after, limit: 1_000)
                guard let last = changes.last else { break }
                for change in changes where change.kind == .upsert {
                    guard let vector = index.entry(id: change.id)?.vector else { continue }
                    let code = plan.quantizer.code(for: vector)
                    codes[change.id] = code
                    changed.append((change.id, StoredCode(schemeID: plan.schemeID, bits: bits, words: code.words)))
                }
                after = last.sequence
            }
            if !changed.isEmpty { try store.updateCodes(changed) }
            try store.setCodeScheme(plan.schemeID, collection: id)
            index.replaceCodes(codes)
            published.withLockedValue { $0.scheme = CodeScheme(id: plan.schemeID, encoder: .itq(plan.quantizer)) }
        }
    }}
