/// Retrieval quality over a labelled set: mAP@10, recall@1, recall@10 (hit rates) and precision@10.
///
/// Conventions (shared with the evaluation scripts): AP@10 = Σᵢ P(i)·rel(i) / min(R, 10) over the first 10
/// results, R = number of relevant items for the query (its group minus itself); recall@K = share of queries with
/// at least one relevant item in the first K; precision@10 = relevant items in the first 10 / 10. Items without a
/// group (distractors) are never relevant and never queried.
public struct RetrievalMetrics: Sendable, Equatable {
    public var queries = 0
    public var meanAveragePrecision = 0.0
    public var recallAt1 = 0.0
    public var recallAt10 = 0.0
    public var precisionAt10 = 0.0

    /// Scores ranked `results` (best first, the query itself already excluded) for queries whose relevant set
    /// is `relevant(query)`.
    public static func score(_ results: [(query: String, ranked: [String])], relevant: (String) -> Set<String>)
        -> RetrievalMetrics
    {
        var metrics = RetrievalMetrics()
        for (query, ranked) in results {
            let wanted = relevant(query)
            guard !wanted.isEmpty else { continue }
            let top = Array(ranked.prefix(10))
            var hits = 0
            var precisionSum = 0.0
            for (position, key) in top.enumerated() where wanted.contains(key) {
                hits += 1
                precisionSum += Double(hits) / Double(position + 1)
            }
            metrics.queries += 1
            metrics.meanAveragePrecision += precisionSum / Double(min(wanted.count, 10))
            metrics.recallAt1 += top.first.map { wanted.contains($0) ? 1 : 0 } ?? 0
            metrics.recallAt10 += hits > 0 ? 1 : 0
            metrics.precisionAt10 += Double(hits) / 10
        }
        if metrics.queries > 0 {
            let count = Double(metrics.queries)
            metrics.meanAveragePrecision /= count
            metrics.recallAt1 /= count
            metrics.recallAt10 /= count
            metrics.precisionAt10 /= count
        }
        return metrics
    }
}
