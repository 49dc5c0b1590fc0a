import Dispatch
import Foundation
public import MetadataFilter

/// Searches: the near-duplicate lookup and the k-nearest search, which picks a candidate strategy (exact scan,
/// forest, Hamming scan) and ends every strategy with the same subspace and exact re-ranking.
extension SimilarityIndex {
    // MARK: Search

    /// Near-duplicate lookup: the live vectors whose code is within `maxDistance` bits of `code` and whose
    /// cosine similarity to `query` is at least `minScore`, best first, at most `k`.
    ///
    /// One pass over the packed codes finds every vector inside the Hamming radius (an exact criterion, not the
    /// approximate search), and only those are scored exactly; if more than `candidateLimit` are inside it, the
    /// closest `candidateLimit` by Hamming distance are. `nil` when the index keeps no codes of `code`'s length.
    public func nearDuplicates(
        of query: [Float], code: BinaryCode, maxDistance: Int, minScore: Float, k: Int, candidateLimit: Int
    ) -> [Match]? {
        precondition(query.count == configuration.dimension, "query dimension \(query.count) ≠ \(configuration.dimension)")
        guard codeWords > 0, code.words.count == codeWords else { return nil }
        guard k > 0, maxDistance >= 0 else { return [] }
        return lock.withReadLock {
            let words = codeWords
            var slots: [Int32] = [], distances: [UInt16] = []
            code.words.withUnsafeBufferPointer { queryCode in
                codes.withUnsafeBufferPointer { codes in
                    for slot in 0..<slotTable.count where !slotTable.isDeleted[slot] {
                        let distance = BinaryCode.distance(queryCode.baseAddress!, codes.baseAddress! + slot * words, wordCount: words)
                        if distance <= maxDistance {
                            slots.append(Int32(slot))
                            distances.append(UInt16(distance))
                        }
                    }
                }
            }
            if slots.count > candidateLimit {
                slots = Self.smallest(candidateLimit, of: slots, distances: distances, maxDistance: maxDistance)
            }
            var matches: [Match] = query.withUnsafeBufferPointer { query in
                slots.compactMap { slot in
                    let score = BLASKernels.dot(query.baseAddress!, storage.row(slot), count: configuration.dimension)
                    return score >= minScore ? Match(id: slotTable.ids[Int(slot)], score: score) : nil
                }
            }
            matches.sort { $0.score > $1.score || ($0.score == $1.score && $0.id < $1.id) }
            return Array(matches.prefix(k))
        }
    }

    /// The `k` most similar live vectors to `query` (unit length), best first.
    ///
    /// - Parameters:
    ///   - minScore: drop matches with a lower cosine similarity.
    ///   - excluding: ids never returned (for example the query image itself).
    ///   - code: the query's binary code, required for ``Strategy/hamming(candidates:)``.
    ///   - filter: only vectors whose metadata matches are considered, inside the candidate scan (not after
    ///     it), so a filter that admits few vectors still yields k of them when k exist.
    /// - Throws: ``SearchError`` when the requested strategy cannot run (no forest yet, no codes): a strategy
    ///   asked for by name is never swapped for another.
    public func search(
        _ query: [Float], k: Int, strategy: Strategy = .automatic, minScore: Float? = nil,
        excluding: Set<Int64> = [], code: BinaryCode? = nil, filter: Filter? = nil
    ) throws(SearchError) -> [Match] {
        precondition(query.count == configuration.dimension, "query dimension \(query.count) ≠ \(configuration.dimension)")
        guard k > 0 else { return [] }
        return try lock.withReadLock { () throws(SearchError) -> [Match] in
            if let filter { return try filteredSearch(query, k: k, strategy: strategy, minScore: minScore, excluding: excluding, code: code, filter: filter) }
            let live = slotTable.liveCount
            var effective = strategy
            if case .automatic = strategy {
                if live <= configuration.exactThreshold {
                    effective = .exact
                } else if code != nil, codeWords > 0, live <= configuration.hammingScanLimit {
                    effective = .hamming(candidates: defaultHammingCandidates(k: k, live: live))
                } else {
                    effective = forest == nil ? .exact : .forest(searchK: nil)
                }
            }
            if case .forest = effective, forest == nil {
                throw .forestUnavailable(live: live, exactThreshold: configuration.exactThreshold)
            }
            if case .hamming = effective, code == nil || codeWords == 0 { throw .codesUnavailable }
            if case .graph = effective { throw .strategyOfAnotherKind(strategy: "a graph beam", kind: "forest") }
            let wanted = k + excluding.count
            var top = TopK(k: wanted)
            query.withUnsafeBufferPointer { query in
                let q = query.baseAddress!
                let candidates: [Int32]
                switch effective {
                case .exact, .automatic, .graph:
                    scanAll(q, into: &top)
                    return
                case .forest(let searchK):
                    let budget = searchK ?? defaultSearchK(k: k, live: live)
                    var unique = uniqueLiveSlots(forest!.candidates(for: q, searchK: max(budget, wanted)))
                    let limit = max(Int(Double(rerankLimit) * collectionScale(live: live)), wanted)
                    if let code, codeWords > 0, rerankLimit > 0, unique.count > limit {
                        // Exact re-ranking reads 4·dimension bytes per candidate; the codes are 32 bytes. Keep
                        // the candidates closest in Hamming distance, then re-rank only those.
                        unique = closestByHamming(unique, to: code, count: limit)
                    }
                    candidates = unique
                case .hamming(let candidateCount):
                    candidates = hammingCandidates(code!, count: max(candidateCount, wanted))
                }
                // Both candidate sources end the same way: the subspace stage, then exact cosine.
                for slot in closestInSubspace(candidates, to: q, count: wanted) {
                    top.insert(score: BLASKernels.dot(q, storage.row(slot), count: configuration.dimension), slot: slot)
                }
            }
            return matches(from: top, k: k, minScore: minScore, excluding: excluding)
        }
    }

    /// Live vectors whose metadata matches `filter`.
    public func count(matching filter: Filter) -> Int {
        lock.withReadLock {
            var admitted = attributes.rows(matching: filter, count: slotTable.count)
            admitted.formIntersection(slotTable.live)
            return admitted.cardinality
        }
    }

    /// The best `k` of `top`, `excluding` left out, stopping below `minScore`.
    func matches(from top: TopK, k: Int, minScore: Float?, excluding: Set<Int64>) -> [Match] {
        var matches: [Match] = []
        for (score, slot) in top.sorted() {
            let id = slotTable.ids[Int(slot)]
            if excluding.contains(id) { continue }
            if let minScore, score < minScore { break }
            matches.append(Match(id: id, score: score))
            if matches.count == k { break }
        }
        return matches
    }

    /// ``search(_:k:strategy:minScore:excluding:code:filter:)`` under a filter, called with the read lock held.
    /// The filter becomes a bitmap over slots first; when it admits few live vectors they are all scored
    /// exactly, otherwise the Hamming scan (or the forest) runs over the admitted slots only, with its candidate
    /// budget set for the admitted count, not the collection's.
    private func filteredSearch(
        _ query: [Float], k: Int, strategy: Strategy, minScore: Float?, excluding: Set<Int64>, code: BinaryCode?, filter: Filter
    ) throws(SearchError) -> [Match] {
        let total = slotTable.count
        // The filter's rows and the live ones, word by word.
        var admitted = attributes.rows(matching: filter, count: total)
        admitted.formIntersection(slotTable.live)
        let matching = admitted.cardinality
        guard matching > 0 else { return [] }
        let wanted = k + excluding.count
        let hasCodes = code != nil && codeWords > 0
        var effective = strategy
        if case .automatic = strategy {
            if matching <= max(configuration.filteredExactLimit, configuration.exactThreshold) || (!hasCodes && forest == nil) {
                effective = .exact
            } else if hasCodes, slotTable.liveCount <= configuration.hammingScanLimit || forest == nil {
                // The collection's budget, not the admitted rows': the scan costs the same either way, and over
                // fewer rows the same candidates reach deeper (recall@10 at half the collection admitted:
                // 0.958 with the admitted rows' budget, see docs/benchmarks.md).
                let widened = Double(defaultHammingCandidates(k: k, live: slotTable.liveCount))
                    * (Double(slotTable.liveCount) / Double(matching)).squareRoot()
                effective = .hamming(candidates: min(Int(widened), matching))
            } else {
                effective = .forest(searchK: nil)
            }
        }
        if case .forest = effective, forest == nil {
            throw .forestUnavailable(live: slotTable.liveCount, exactThreshold: configuration.exactThreshold)
        }
        if case .hamming = effective, !hasCodes { throw .codesUnavailable }
        if case .graph = effective { throw .strategyOfAnotherKind(strategy: "a graph beam", kind: "forest") }
        var top = TopK(k: wanted)
        query.withUnsafeBufferPointer { query in
            let q = query.baseAddress!
            var candidates: [Int32]
            switch effective {
            case .exact, .automatic, .graph:
                scanAdmitted(q, admitted: admitted, matching: matching, into: &top)
                return
            case .forest(let searchK):
                // The forest's leaves hold mostly rows the filter refuses: widen the walk by the inverse of the
                // admitted share, then keep the admitted rows.
                let live = slotTable.liveCount
                let widened = Double(searchK ?? defaultSearchK(k: k, live: matching)) * Double(live) / Double(matching)
                let budget = Int(min(widened, Double(live * configuration.trees)))
                candidates = uniqueLiveSlots(forest!.candidates(for: q, searchK: max(budget, wanted))).filter { admitted.contains(Int($0)) }
                if candidates.count < wanted {
                    // Too few admitted rows in the leaves walked: the exact answer over the admitted rows.
                    scanAdmitted(q, admitted: admitted, matching: matching, into: &top)
                    return
                }
                let limit = max(Int(Double(rerankLimit) * collectionScale(live: matching)), wanted)
                if let code, codeWords > 0, rerankLimit > 0, candidates.count > limit {
                    candidates = closestByHamming(candidates, to: code, count: limit)
                }
            case .hamming(let candidateCount):
                candidates = hammingCandidates(code!, count: max(candidateCount, wanted), admitted: admitted)
            }
            for slot in closestInSubspace(candidates, to: q, count: wanted) {
                top.insert(score: BLASKernels.dot(q, storage.row(slot), count: configuration.dimension), slot: slot)
            }
        }
        return matches(from: top, k: k, minScore: minScore, excluding: excluding)
    }

    /// Exact scores for the `admitted` slots: row by row when they are few, otherwise the chunked matrix-vector
    /// scan keeping the admitted rows' scores.
    private func scanAdmitted(_ query: UnsafePointer<Float>, admitted: SlotBitmap, matching: Int, into top: inout TopK) {
        if matching * 4 >= slotTable.count {
            scanAll(query, into: &top, admitted: admitted)
            return
        }
        admitted.forEachRow { slot in
            let score = BLASKernels.dot(query, storage.row(Int32(slot)), count: configuration.dimension)
            if score > top.threshold { top.insert(score: score, slot: Int32(slot)) }
        }
    }

    /// The default `search_k`: `max(k, 10) × trees × searchKFactor` at 100,000 vectors, scaled by the square
    /// root of the collection's share of that (smaller collections need fewer candidates for the same recall:
    /// measured 0.95 recall@10 at 4,000 candidates for 10,000 vectors and 40,000 for 100,000).
    func defaultSearchK(k: Int, live: Int) -> Int {
        let full = Double(max(k, 10) * configuration.trees * configuration.searchKFactor)
        return max(Int(full * collectionScale(live: live)), max(k, 10) * configuration.trees)
    }

    /// See ``Configuration/hammingCandidateFactor``.
    func defaultHammingCandidates(k: Int, live: Int) -> Int {
        Int(Double(configuration.hammingCandidateFactor) * Double(live).squareRoot() * Double(max(k, 10)) / 10)
    }

    /// `√(live / 100,000)`, at most 1: the default search effort relative to a 100,000-vector collection. The
    /// Hamming re-rank limit shrinks by the same factor (measured at 10,000 vectors: 1,000 re-ranked rows lose
    /// 0.005 recall@10 against re-ranking all 4,000 candidates).
    func collectionScale(live: Int) -> Double {
        min(1, (Double(live) / 100_000).squareRoot())
    }

    /// Brute force: one `sgemv` per storage chunk, then top-k over live rows (or over `admitted` ones).
    func scanAll(_ query: UnsafePointer<Float>, into top: inout TopK, admitted: SlotBitmap? = nil) {
        let kept = admitted ?? slotTable.live
        let total = slotTable.count
        var scores = [Float](repeating: 0, count: storage.rowsPerChunk)
        var base = 0
        for chunk in storage.chunks {
            let rows = min(storage.rowsPerChunk, total - base)
            if rows <= 0 { break }
            scores.withUnsafeMutableBufferPointer {
                BLASKernels.matrixVector(chunk, rows: rows, columns: configuration.dimension, query, into: $0.baseAddress!)
            }
            for row in 0..<rows where kept.contains(base + row) {
                if scores[row] > top.threshold { top.insert(score: scores[row], slot: Int32(base + row)) }
            }
            base += rows
        }
    }
}
