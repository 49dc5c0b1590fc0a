import Testing
@testable import VectorIndex
import TestSupport

/// The principal-subspace re-ranking stage and the counting selection used by the Hamming stage, each against a
/// naive reference.
struct PrincipalSubspaceTests {
    /// Unit vectors lying exactly in a random `rank`-dimensional subspace of `dimension` dimensions.
    static func lowRank(count: Int, dimension: Int, rank: Int, seed: UInt64) -> [[Float]] {
        var random = SeededRandom(seed: seed)
        let directions = (0..<rank).map { _ in random.floats(dimension, in: -1...1) }
        return (0..<count).map { _ in
            let weights = random.floats(rank, in: -1...1)
            var vector = [Float](repeating: 0, count: dimension)
            for (weight, direction) in zip(weights, directions) {
                for index in 0..<dimension { vector[index] += weight * direction[index] }
            }
            return SimilarityIndexTests.unit(vector)
        }
    }

    static func storage(_ data: [[Float]]) -> VectorStorage<Float> {
        let storage = VectorStorage<Float>(dimension: data[0].count, rowsPerChunk: 64)
        for row in data { _ = row.withUnsafeBufferPointer { storage.append($0) } }
        return storage
    }

    /// On data of rank 8, an 8-dimensional subspace keeps every inner product (tolerance 1e-4, float32 sums of
    /// 64 terms), the basis is orthonormal (1e-4), `projectAll`'s fixed-point rows agree with `project` row by
    /// row (half a fixed-point step plus 1e-5), and the fixed-point dot product matches the float one (1e-4).
    @Test func exactOnLowRankData() throws {
        let data = Self.lowRank(count: 300, dimension: 64, rank: 8, seed: 1)
        let storage = Self.storage(data)
        let rows = RowSource(storage)
        let subspace = try PrincipalSubspace(training: rows, slots: (0..<300).map(Int32.init), rank: 8)
        for a in 0..<8 {
            for b in 0..<8 {
                var dot: Float = 0
                for index in 0..<64 { dot += subspace.basis[a * 64 + index] * subspace.basis[b * 64 + index] }
                #expect(abs(dot - (a == b ? 1 : 0)) < 1e-4)
            }
        }
        let projected = subspace.projectAll(rows)
        #expect(projected.count == 300)
        for (first, second) in [(0, 1), (5, 77), (120, 299), (42, 42)] {
            let full = zip(data[first], data[second]).reduce(Float(0)) { $0 + $1.0 * $1.1 }
            let a = subspace.project(rows.row(Int32(first))), b = subspace.project(rows.row(Int32(second)))
            let reduced = zip(a, b).reduce(Float(0)) { $0 + $1.0 * $1.1 }
            #expect(abs(full - reduced) < 1e-4, "\(full) vs \(reduced)")
            let step = 1 / PrincipalSubspace.fixedPointScale
            for index in 0..<8 {
                #expect(abs(Float(projected.row(Int32(first))[index]) * step - a[index]) < step / 2 + 1e-5)
            }
            let fixedDot = PrincipalSubspace.dot(projected.row(Int32(first)), projected.row(Int32(second)), count: 8)
            #expect(abs(Float(fixedDot) * step * step - reduced) < 1e-4, "\(fixedDot) vs \(reduced)")
        }
    }

    /// With the subspace stage on, the forest loses at most 0.05 recall@10 against the same forest without it (on
    /// full-rank noisy clusters, the hard case for a subspace), and a snapshot restores the same subspace
    /// (identical results after a restart).
    @Test func forestWithSubspaceKeepsRecallAndSurvivesRestart() throws {
        let data = SimilarityIndexTests.dataset(count: 2000, dimension: 64, clusters: 20, seed: 21)
        let queries = SimilarityIndexTests.dataset(count: 30, dimension: 64, clusters: 20, seed: 22)
        let directory = ForestSnapshotTests.Directory()
        let configuration = SimilarityIndex.Configuration(
            dimension: 64, trees: 8, leafSize: 16, exactThreshold: 100, snapshotPath: directory.snapshot,
            reducedDimension: 32, reducedRerankLimit: 200)
        let index = try SimilarityIndexTests.build(data, configuration: configuration)
        #expect(index.statistics.forestBytes > 2000 * 32 * 4)
        var plain = configuration
        plain.reducedDimension = 0
        plain.snapshotPath = nil
        let baseline = try SimilarityIndexTests.recall(
            try SimilarityIndexTests.build(data, configuration: plain), data: data, queries: queries, strategy: .forest(searchK: 2000))
        let forest = try SimilarityIndexTests.recall(index, data: data, queries: queries, strategy: .forest(searchK: 2000))
        #expect(forest >= baseline - 0.05, "forest recall@10 \(forest) with the subspace, \(baseline) without")
        let hamming = try SimilarityIndexTests.recall(index, data: data, queries: queries, strategy: .hamming(candidates: 1000))
        #expect(hamming >= 0.8, "hamming + subspace recall@10 \(hamming)")

        let hasher = RandomHyperplaneHasher(bits: 256, dimension: 64, seed: 1)
        let restarted = SimilarityIndex(configuration: configuration)
        restarted.beginLoading()
        for (id, vector) in data.enumerated() { restarted.add(id: Int64(id), vector: vector, code: hasher.code(for: vector)) }
        let outcome = restarted.finishLoading()
        #expect(outcome == .restored(kept: 2000, inserted: 0, dropped: 0))
        for query in queries {
            #expect(try restarted.search(query, k: 10, strategy: .forest(searchK: 1000))
                    == index.search(query, k: 10, strategy: .forest(searchK: 1000)))
        }
        // Added after the build: projected on insert, so found through the subspace stage too.
        let extra = SimilarityIndexTests.dataset(count: 50, dimension: 64, clusters: 20, seed: 23)
        for (offset, vector) in extra.enumerated() { restarted.add(id: 10_000 + Int64(offset), vector: vector, code: hasher.code(for: vector)) }
        for (offset, vector) in extra.enumerated() {
            #expect(try restarted.search(vector, k: 1, strategy: .forest(searchK: 1000)).first?.id == 10_000 + Int64(offset))
        }
    }

    /// With every row a candidate and the subspace keeping only k, the subspace stage alone picks the results;
    /// on rank-40 data a subspace of rank 44 (padded to 48 coordinates; not a multiple of the 32-coordinate lines
    /// the blocked scoring walks)
    /// loses nothing, so the results are the exact top 10 (scores within 2e-4 of the exact 10th, for ties and
    /// fixed-point rounding).
    @Test func subspaceStageAloneMatchesExactSearch() throws {
        let data = Self.lowRank(count: 600, dimension: 64, rank: 40, seed: 31)
        // Stored rows, and vectors off the data's span (their inner products with rows are still preserved).
        let queries = Array(data.prefix(10)) + Self.lowRank(count: 20, dimension: 64, rank: 40, seed: 32)
        let configuration = SimilarityIndex.Configuration(
            dimension: 64, trees: 2, leafSize: 16, exactThreshold: 100, reducedDimension: 44, reducedRerankLimit: 10)
        let index = try SimilarityIndexTests.build(data, configuration: configuration)
        let hasher = RandomHyperplaneHasher(bits: 256, dimension: 64, seed: 1)
        for query in queries {
            let exact = try index.search(query, k: 10, strategy: .exact)
            let staged = try index.search(query, k: 10, strategy: .hamming(candidates: 600), code: hasher.code(for: query))
            #expect(staged.count == 10)
            let tenth = exact.last!.score
            #expect(staged.allSatisfy { $0.score >= tenth - 2e-4 }, "\(staged) vs \(exact)")
        }
    }

    /// Selection of the largest scores returns exactly the `count` largest (as a multiset) of a naive sort, on
    /// scores with many ties and on distinct ones.
    @Test(arguments: [(1, 5), (7, 5), (100, 1000), (999, 1000), (1000, 1000), (1500, 7), (300, 100_000)])
    func largestScoresMatchSorting(count: Int, spread: Int) {
        var random = SplitMix64(seed: UInt64(count * 31 + spread))
        let scores = (0..<1000).map { _ in Int32(truncatingIfNeeded: random.next() % UInt64(spread)) - Int32(spread / 2) }
        let slots = (0..<1000).map { Int32($0) }
        let selected = SimilarityIndex.largest(count, of: slots, scores: scores)
        #expect(selected.count == min(count, 1000))
        #expect(Set(selected).count == selected.count)
        #expect(selected.map { scores[Int($0)] }.sorted(by: >) == Array(scores.sorted(by: >).prefix(count)))
    }

    /// Counting selection returns exactly the `count` smallest distances (as a multiset) of a naive sort.
    @Test(arguments: [1, 7, 100, 999, 1000, 1500])
    func countingSelectionMatchesSorting(count: Int) {
        var random = SplitMix64(seed: UInt64(count))
        let distances = (0..<1000).map { _ in UInt16(random.next() % 60) }
        let slots = (0..<1000).map { Int32($0) }
        let selected = SimilarityIndex.smallest(count, of: slots, distances: distances, maxDistance: 256)
        #expect(selected.count == min(count, 1000))
        #expect(Set(selected).count == selected.count)
        #expect(selected.map { distances[Int($0)] }.sorted() == Array(distances.sorted().prefix(count)))
    }
}
