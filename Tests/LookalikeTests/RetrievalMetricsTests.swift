import Testing
@testable import Lookalike

struct RetrievalMetricsTests {
    /// Groups A = {a1, a2, a3}, B = {b1, b2}, distractor d; numbers worked out by hand:
    /// a1 → [a2, d, a3]: AP = (1/1 + 2/3) / 2 = 0.8333, hit@1, P@10 = 0.2
    /// b1 → [d, a1, b2]: AP = (1/3) / 1 = 0.3333, no hit@1, P@10 = 0.1
    /// a2 → [d]:         AP = 0, no hits
    @Test func handComputedExample() {
        let groups: [String: Set<String>] = ["a1": ["a2", "a3"], "a2": ["a1", "a3"], "b1": ["b2"]]
        let metrics = RetrievalMetrics.score(
            [("a1", ["a2", "d", "a3"]), ("b1", ["d", "a1", "b2"]), ("a2", ["d"])], relevant: { groups[$0] ?? [] })
        #expect(metrics.queries == 3)
        #expect(abs(metrics.meanAveragePrecision - (0.8333333 + 0.3333333) / 3) < 1e-6)
        #expect(abs(metrics.recallAt1 - 1.0 / 3) < 1e-9)
        #expect(abs(metrics.recallAt10 - 2.0 / 3) < 1e-9)
        #expect(abs(metrics.precisionAt10 - 0.1) < 1e-9)
    }

    @Test func onlyTheFirstTenCountAndDistractorQueriesAreSkipped() {
        let ranked = (0..<20).map { "x\($0)" } + ["a2"]
        let metrics = RetrievalMetrics.score([("a1", ranked), ("d", ["a1"])], relevant: { $0 == "a1" ? ["a2"] : [] })
        #expect(metrics.queries == 1)
        #expect(metrics.meanAveragePrecision == 0 && metrics.recallAt10 == 0)
    }
}
