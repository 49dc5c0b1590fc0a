public import MetadataFilter
import Foundation

/// Searching: exact below the threshold or for a filter that admits few entries, otherwise a walk of the graph
/// on code scores and exact scores for the best of the short list.
extension GraphIndex {
    /// How hard a search looks.
    public struct Effort: Sendable, Equatable {
        /// Candidates the walk keeps (nil: the configured beam); raised to k.
        public var beam: Int?
        /// Candidates scored exactly (nil: the configured count); raised to k.
        public var rerank: Int?
        /// Every live entry scored exactly instead.
        public var exact: Bool
        /// Stop re-ranking early (see ``GraphIndex/rescoredInOrder``) with this slack; nil re-ranks all `rerank`.
        public var stopSlack: Float?

        public init(beam: Int? = nil, rerank: Int? = nil, exact: Bool = false, stopSlack: Float? = nil) {
            self.beam = beam
            self.rerank = rerank
            self.exact = exact
            self.stopSlack = stopSlack
        }
    }

    /// The `k` live entries most similar to `query` (unit length), best first, among those `filter` admits.
    public func search(_ query: [Float], k: Int, effort: Effort = Effort(), minScore: Float? = nil,
                       excluding: Set<Int64> = [], filter: Filter? = nil) -> [IndexMatch] {
        precondition(query.count == configuration.dimension, "query dimension \(query.count) ≠ \(configuration.dimension)")
        guard k > 0 else { return [] }
        return lock.withReadLock {
            let total = slotTable.count
            var admitted: SlotBitmap? = nil
            var admittedCount = slotTable.liveCount
            if let filter {
                var rows = attributes.rows(matching: filter, count: total)
                rows.formIntersection(slotTable.live)
                admittedCount = rows.cardinality
                admitted = rows
            }
            let wanted = k + excluding.count
            let rerank = max(effort.rerank ?? configuration.rerank, wanted)
            let candidates: [Int32]
            if effort.exact || graph == nil || (filter != nil && admittedCount <= configuration.filteredExactLimit) {
                candidates = exactCandidates(query, k: wanted, admitted: admitted)
            } else if let admitted, admittedCount * 5 < slotTable.liveCount {
                candidates = codeScanCandidates(query, count: rerank, admitted: admitted)
            } else {
                // The walk's beam also holds deleted and filtered-out nodes; widen it by their share.
                let share = Double(admittedCount) / Double(max(1, total))
                let beam = max(effort.beam ?? configuration.searchBeam, wanted)
                let widened = min(Int((Double(beam) / max(share, 0.05)).rounded(.up)), max(beam, total))
                let found = walkCandidates(query, beam: widened, count: rerank, admitted: admitted)
                return rescoredInOrder(query, found, wanted: wanted, k: k, slack: effort.stopSlack, minScore: minScore,
                                       excluding: excluding)
            }
            return rescored(query, candidates, k: k, minScore: minScore, excluding: excluding)
        }
    }

    /// Every admitted live slot, in any order (they are all scored exactly afterwards).
    private func exactCandidates(_ query: [Float], k: Int, admitted: SlotBitmap?) -> [Int32] {
        let kept = admitted ?? slotTable.live
        var top = TopK(k: k)
        query.withUnsafeBufferPointer { query in
            kept.forEachRow { slot in
                let score = kernels.floatDot(query.baseAddress!, vectors.row(Int32(slot)), configuration.dimension)
                if score > top.threshold { top.insert(score: score, slot: Int32(slot)) }
            }
        }
        return top.items.map(\.slot)
    }

    /// The `count` admitted slots with the best code scores, by scanning every admitted code.
    private func codeScanCandidates(_ query: [Float], count: Int, admitted: SlotBitmap) -> [Int32] {
        guard let graph else { return [] }
        let codec = graph.codec, codes = graph.codes
        let weights = query.withUnsafeBufferPointer { codec.weights(for: $0.baseAddress!) }
        var best = ScoredSlotHeap(capacity: count + 1)
        weights.weights.withUnsafeBufferPointer { weights in
            admitted.forEachRow { slot in
                let score = kernels.codeDot(codes.row(Int32(slot)), weights.baseAddress!, codec.codeLength)
                if best.count < count || -score < ScoredSlotHeap.score(best.top!) {
                    best.push(score: -score, slot: Int32(slot))
                    if best.count > count { best.pop() }
                }
            }
        }
        return best.keys.map(ScoredSlotHeap.slot)
    }

    /// The best `count` admitted live slots of a walk keeping `beam` nodes, best first, with their code scores
    /// (cosines estimated in the subspace).
    private func walkCandidates(_ query: [Float], beam: Int, count: Int, admitted: SlotBitmap?) -> [(estimate: Float, slot: Int32)] {
        guard let graph else { return [] }
        let (weights, factor) = query.withUnsafeBufferPointer { graph.codec.weights(for: $0.baseAddress!) }
        let found = weights.withUnsafeBufferPointer { weights in
            visitedPool.withTable(count: graph.count) { visited in
                graph.walk(weights.baseAddress!, beam: beam, visited: visited)
            }
        }
        let kept = admitted ?? slotTable.live
        var candidates: [(estimate: Float, slot: Int32)] = []
        candidates.reserveCapacity(count)
        for entry in found where kept.contains(Int(entry.slot)) {
            candidates.append((Float(entry.score) / factor, entry.slot))
            if candidates.count == count { break }
        }
        return candidates
    }

    /// Exact scores for the candidates of a walk in the order of their estimates; with a `slack`, it stops once
    /// the next estimate, raised by `slack` times the largest underestimate seen so far in this query, cannot
    /// reach the k-th exact score. An estimate misses what lies outside the subspace, which for one query is of
    /// a similar size for every candidate, so rows far down the list are rarely worth reading from the file. At
    /// least `wanted` + 16 rows (or all) are scored first, so the observed error rests on enough rows.
    func rescoredInOrder(_ query: [Float], _ candidates: [(estimate: Float, slot: Int32)], wanted: Int, k: Int,
                         slack: Float?, minScore: Float?, excluding: Set<Int64>) -> [IndexMatch] {
        guard let slack else { return rescored(query, candidates.map(\.slot), k: k, minScore: minScore, excluding: excluding) }
        let dimension = configuration.dimension
        let floor = wanted + 16
        var top = TopK(k: wanted)
        var largestUnderestimate: Float = 0
        query.withUnsafeBufferPointer { query in
            for (position, candidate) in candidates.enumerated() {
                if position >= floor && candidate.estimate + slack * largestUnderestimate < top.threshold { break }
                if position + 1 < candidates.count {
                    DistanceKernels.prefetch(vectors.row(candidates[position + 1].slot), bytes: dimension * 4)
                }
                let score = kernels.floatDot(query.baseAddress!, vectors.row(candidate.slot), dimension)
                largestUnderestimate = max(largestUnderestimate, score - candidate.estimate)
                top.insert(score: score, slot: candidate.slot)
            }
        }
        return matches(top.sorted(), k: k, minScore: minScore, excluding: excluding)
    }

    /// Exact scores for `candidates` from the full vectors; the best `k`, best first.
    private func rescored(_ query: [Float], _ candidates: [Int32], k: Int, minScore: Float?, excluding: Set<Int64>) -> [IndexMatch] {
        let dimension = configuration.dimension
        var scored: [(score: Float, slot: Int32)] = []
        scored.reserveCapacity(candidates.count)
        query.withUnsafeBufferPointer { query in
            for (position, slot) in candidates.enumerated() {
                if position + 1 < candidates.count {
                    DistanceKernels.prefetch(vectors.row(candidates[position + 1]), bytes: dimension * 4)
                }
                scored.append((kernels.floatDot(query.baseAddress!, vectors.row(slot), dimension), slot))
            }
        }
        scored.sort { $0.score != $1.score ? $0.score > $1.score : $0.slot < $1.slot }
        return matches(scored, k: k, minScore: minScore, excluding: excluding)
    }

    /// The first `k` of `sorted` (best first) at or above `minScore` and not excluded, as ids.
    private func matches(_ sorted: [(score: Float, slot: Int32)], k: Int, minScore: Float?, excluding: Set<Int64>) -> [IndexMatch] {
        var matches: [IndexMatch] = []
        for entry in sorted {
            if let minScore, entry.score < minScore { break }
            let id = slotTable.ids[Int(entry.slot)]
            if excluding.contains(id) { continue }
            matches.append(IndexMatch(id: id, score: entry.score))
            if matches.count == k { break }
        }
        return matches
    }
}
