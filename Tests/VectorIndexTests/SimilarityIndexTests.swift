import Testing
@testable import VectorIndex
import TestSupport

struct SimilarityIndexTests {
    static func unit(_ values: [Float]) -> [Float] {
        let norm = values.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return norm > 0 ? values.map { $0 / norm } : values
    }

    /// `count` unit vectors: uniform random, or around `clusters` random centres.
    static func dataset(count: Int, dimension: Int, clusters: Int = 0, seed: UInt64) -> [[Float]] {
        var random = SeededRandom(seed: seed)
        let centres = (0..<clusters).map { _ in random.floats(dimension) }
        return (0..<count).map { index in
            var v = random.floats(dimension, in: -1...1)
            if clusters > 0 { v = zip(centres[index % clusters], v).map { $0 + 0.35 * $1 } }
            return unit(v)
        }
    }

    /// Exact top-k by brute force in Double, the ground truth.
    static func exactTopK(_ data: [[Float]], _ query: [Float], k: Int) -> [Int64] {
        var scored: [(id: Int64, score: Double)] = []
        for (offset, vector) in data.enumerated() {
            var dot = 0.0
            for index in 0..<vector.count { dot += Double(vector[index]) * Double(query[index]) }
            scored.append((Int64(offset), dot))
        }
        scored.sort { $0.score != $1.score ? $0.score > $1.score : $0.id < $1.id }
        return scored.prefix(k).map(\.id)
    }

    static func build(_ data: [[Float]], configuration: SimilarityIndex.Configuration) throws -> SimilarityIndex {
        let index = SimilarityIndex(configuration: configuration)
        let hasher = configuration.codeBits > 0
            ? RandomHyperplaneHasher(bits: configuration.codeBits, dimension: configuration.dimension, seed: 1) : nil
        for (id, vector) in data.enumerated() {
            index.add(id: Int64(id), vector: vector, code: hasher?.code(for: vector))
        }
        index.waitForRebuild()
        index.rebuild()
        return index
    }

    static func recall(_ index: SimilarityIndex, data: [[Float]], queries: [[Float]], strategy: SimilarityIndex.Strategy,
                       codeBits: Int = 256) throws -> Double {
        let hasher = RandomHyperplaneHasher(bits: codeBits, dimension: data[0].count, seed: 1)
        var found = 0
        for query in queries {
            let truth = Set(exactTopK(data, query, k: 10))
            let got = try index.search(query, k: 10, strategy: strategy, code: hasher.code(for: query)).map(\.id)
            found += got.filter(truth.contains).count
        }
        return Double(found) / Double(queries.count * 10)
    }

    @Test(arguments: [0, 20])
    func forestRecallAgainstExact(clusters: Int) throws {
        let data = Self.dataset(count: 4000, dimension: 48, clusters: clusters, seed: 11)
        let queries = Self.dataset(count: 50, dimension: 48, clusters: clusters, seed: 12)
        let index = try Self.build(data, configuration: .init(dimension: 48, trees: 10, leafSize: 16, exactThreshold: 100))
        #expect(index.statistics.trees == 10)
        let exact = try Self.recall(index, data: data, queries: queries, strategy: .exact)
        #expect(exact == 1.0)  // float32 sgemv vs double reference agree on the top 10
        let forest = try Self.recall(index, data: data, queries: queries, strategy: .forest(searchK: 2000))
        #expect(forest >= 0.9, "forest recall@10 \(forest)")
        let hamming = try Self.recall(index, data: data, queries: queries, strategy: .hamming(candidates: 1000))
        #expect(hamming >= 0.8, "hamming recall@10 \(hamming)")
    }

    /// Forest rebuilds keep the principal subspace until the collection has doubled since it was learned, and
    /// rows added meanwhile are still projected into it (search through it stays as good as exact on this data).
    @Test func subspaceIsRelearnedOnlyWhenTheCollectionDoubles() throws {
        let data = Self.dataset(count: 1500, dimension: 64, clusters: 10, seed: 21)
        let index = SimilarityIndex(configuration: .init(
            dimension: 64, trees: 4, leafSize: 16, exactThreshold: 100, rebuildFraction: 0.25, codeBits: 0,
            reducedDimension: 16, reducedRerankLimit: 64))
        var learnedAt: [Int] = []
        for (id, vector) in data.enumerated() {
            index.add(id: Int64(id), vector: vector)
            index.waitForRebuild()
            let current = index.statistics.subspaceLearnedAt
            if current > 0 && current != learnedAt.last { learnedAt.append(current) }
        }
        #expect(learnedAt.first == 101)
        for (previous, next) in zip(learnedAt, learnedAt.dropFirst()) {
            #expect(next >= 2 * previous, "relearned at \(next) after \(previous)")
        }
        #expect(index.statistics.rebuilds > learnedAt.count + 3, "rebuilds \(index.statistics.rebuilds), learned at \(learnedAt)")
        // Against the same index learned once from the whole collection.
        let learnedOnce = SimilarityIndex(configuration: .init(
            dimension: 64, trees: 4, leafSize: 16, exactThreshold: data.count - 1, rebuildFraction: 0.25, codeBits: 0,
            reducedDimension: 16, reducedRerankLimit: 64))
        for (id, vector) in data.enumerated() { learnedOnce.add(id: Int64(id), vector: vector) }
        learnedOnce.waitForRebuild()
        #expect(learnedOnce.statistics.subspaceLearnedAt == data.count)
        let queries = Self.dataset(count: 50, dimension: 64, clusters: 10, seed: 22)
        func recall(_ index: SimilarityIndex) throws -> Double {
            var found = 0
            for query in queries {
                let truth = Set(Self.exactTopK(data, query, k: 10))
                found += try index.search(query, k: 10, strategy: .forest(searchK: 1500)).map(\.id).filter(truth.contains).count
            }
            return Double(found) / Double(queries.count * 10)
        }
        let kept = try recall(index), once = try recall(learnedOnce)
        #expect(kept >= once - 0.05, "kept subspace recall \(kept), learned once \(once)")
    }

    /// `.automatic` picks exact search at or below `exactThreshold`, the Hamming scan (with the default candidate
    /// count) above it when the query has a code and the collection is within `hammingScanLimit`, and the forest
    /// otherwise; each choice gives the same results as asking for that strategy explicitly.
    @Test func automaticChoosesByCollectionSizeAndCode() throws {
        let data = Self.dataset(count: 3000, dimension: 48, clusters: 20, seed: 13)
        let queries = Self.dataset(count: 20, dimension: 48, clusters: 20, seed: 14)
        let hasher = RandomHyperplaneHasher(bits: 256, dimension: 48, seed: 1)
        let scanning = try Self.build(data, configuration: .init(dimension: 48, trees: 4, leafSize: 16, exactThreshold: 100))
        var forestOnly = SimilarityIndex.Configuration(dimension: 48, trees: 4, leafSize: 16, exactThreshold: 100)
        forestOnly.hammingScanLimit = 0
        let walking = try Self.build(data, configuration: forestOnly)
        let exactOnly = try Self.build(data, configuration: .init(dimension: 48, trees: 4, leafSize: 16, exactThreshold: 3000))
        let candidates = scanning.defaultHammingCandidates(k: 10, live: 3000)
        #expect(candidates == Int(20 * Double(3000).squareRoot()))
        for query in queries {
            let code = hasher.code(for: query)
            #expect(try scanning.search(query, k: 10, code: code)
                    == scanning.search(query, k: 10, strategy: .hamming(candidates: candidates), code: code))
            #expect(try scanning.search(query, k: 10) == scanning.search(query, k: 10, strategy: .forest(searchK: nil)))
            #expect(try walking.search(query, k: 10, code: code)
                    == walking.search(query, k: 10, strategy: .forest(searchK: nil), code: code))
            #expect(try exactOnly.search(query, k: 10, code: code) == exactOnly.search(query, k: 10, strategy: .exact))
        }
        let recall = try Self.recall(scanning, data: data, queries: queries, strategy: .automatic)
        #expect(recall >= 0.9, "automatic (Hamming scan) recall@10 \(recall)")
    }

    @Test func insertedAfterBuildAreFoundAndDeletedNeverReturned() throws {
        let data = Self.dataset(count: 3000, dimension: 32, seed: 3)
        let index = try Self.build(data, configuration: .init(dimension: 32, trees: 8, leafSize: 8, exactThreshold: 100, rebuildFraction: 10, codeBits: 0))
        let extra = Self.dataset(count: 200, dimension: 32, seed: 4)
        for (offset, vector) in extra.enumerated() { index.add(id: 10_000 + Int64(offset), vector: vector) }
        for (offset, vector) in extra.enumerated() {
            let top = try index.search(vector, k: 1, strategy: .forest(searchK: 200))
            #expect(top.first?.id == 10_000 + Int64(offset))
        }
        for id in stride(from: 0, to: 3000, by: 2) { index.remove(id: Int64(id)) }
        for query in data.prefix(100) {
            for strategy in [SimilarityIndex.Strategy.exact, .forest(searchK: 500)] {
                #expect(try index.search(query, k: 10, strategy: strategy).allSatisfy { $0.id % 2 == 1 || $0.id >= 10_000 })
            }
        }
        #expect(index.count == 3000 + 200 - 1500)
        #expect(!index.contains(id: 0) && index.contains(id: 1))
    }

    /// Near-duplicate lookup against its definition, by brute force: every live vector within the Hamming radius
    /// and at or above the cosine threshold, best first. Clustered data so that many vectors are inside the
    /// radius; deletions and a replaced id so that tombstones are skipped.
    @Test func nearDuplicatesMatchTheirDefinition() throws {
        let dimension = 48
        let data = Self.dataset(count: 3000, dimension: dimension, clusters: 30, seed: 17)
        let index = try Self.build(data, configuration: .init(dimension: dimension, exactThreshold: 100, codeBits: 256))
        for id in stride(from: 0, to: 3000, by: 3) { index.remove(id: Int64(id)) }
        var current = Dictionary(uniqueKeysWithValues: data.enumerated().filter { $0.offset % 3 != 0 }.map { (Int64($0.offset), $0.element) })
        let hasher = RandomHyperplaneHasher(bits: 256, dimension: dimension, seed: 1)
        index.add(id: 1, vector: data[2], code: hasher.code(for: data[2]))
        current[1] = data[2]
        var checked = 0
        for query in Self.dataset(count: 40, dimension: dimension, clusters: 30, seed: 18) + data.prefix(10) {
            let code = hasher.code(for: query)
            for (maxDistance, minScore) in [(64, Float(0.5)), (96, Float(0.2)), (40, Float(0.9))] {
                var want: [(id: Int64, score: Double)] = []
                for (id, vector) in current where hasher.code(for: vector).distance(to: code) <= maxDistance {
                    let score = zip(vector, query).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
                    if score >= Double(minScore) { want.append((id, score)) }
                }
                want.sort { $0.score != $1.score ? $0.score > $1.score : $0.id < $1.id }
                let got = index.nearDuplicates(of: query, code: code, maxDistance: maxDistance, minScore: minScore, k: 10,
                                               candidateLimit: 100_000)!
                // Scores within float rounding of the Double reference; ids equal except where two scores tie
                // within that rounding.
                #expect(got.count == min(10, want.count))
                for (hit, expected) in zip(got, want) {
                    #expect(abs(Double(hit.score) - expected.score) < 1e-5)
                    let tied = want.contains { $0.id == hit.id && abs($0.score - expected.score) < 1e-5 }
                    #expect(hit.id == expected.id || tied, "id \(hit.id) where \(expected.id) was expected")
                }
                checked += want.count
            }
        }
        #expect(checked > 500, "the thresholds must let many vectors through for the comparison to mean anything")
        // A candidate limit scores only the closest codes: fewer or equal, never anything outside the definition.
        let query = data[5], code = hasher.code(for: query)
        let limited = index.nearDuplicates(of: query, code: code, maxDistance: 128, minScore: -1, k: 1000, candidateLimit: 20)!
        #expect(limited.count == 20)
        #expect(limited.allSatisfy { current[$0.id] != nil })
        // No codes of this length: the caller must fall back.
        #expect(index.nearDuplicates(of: query, code: BinaryCode(words: [0]), maxDistance: 8, minScore: 0, k: 5) == nil)
    }

    @Test func replacingAnIDKeepsOneEntry() throws {
        let index = SimilarityIndex(configuration: .init(dimension: 4, codeBits: 0))
        index.add(id: 7, vector: [1, 0, 0, 0])
        index.add(id: 7, vector: [0, 1, 0, 0])
        #expect(index.count == 1)
        #expect(try index.search([0, 1, 0, 0], k: 5) == [.init(id: 7, score: 1)])
        #expect(index.vector(id: 7) == [0, 1, 0, 0])
    }

    @Test func deterministicForASeed() throws {
        let data = Self.dataset(count: 2500, dimension: 24, seed: 5)
        let configuration = SimilarityIndex.Configuration(dimension: 24, trees: 5, leafSize: 10, exactThreshold: 100, codeBits: 0, seed: 99)
        let a = try Self.build(data, configuration: configuration)
        let b = try Self.build(data, configuration: configuration)
        for query in data.prefix(20) {
            #expect(try a.search(query, k: 10, strategy: .forest(searchK: 100)) == b.search(query, k: 10, strategy: .forest(searchK: 100)))
        }
    }

    @Test func edgeCases() throws {
        let index = SimilarityIndex(configuration: .init(dimension: 3, exactThreshold: 2, codeBits: 0))
        #expect(try index.search([1, 0, 0], k: 10).isEmpty)  // empty
        index.add(id: 1, vector: [1, 0, 0])
        index.add(id: 2, vector: [1, 0, 0])  // duplicate vectors
        index.add(id: 3, vector: [0, 0, 0])  // the zero vector
        index.add(id: 4, vector: [0, 1, 0])
        index.waitForRebuild()
        let all = try index.search([1, 0, 0], k: 100, strategy: .exact)  // k larger than the collection
        #expect(all.count == 4)
        #expect(Set(all.prefix(2).map(\.id)) == [1, 2])
        #expect(try index.search([1, 0, 0], k: 10, minScore: 0.5).map(\.id).sorted() == [1, 2])
        #expect(try index.search([1, 0, 0], k: 10, excluding: [1]).first?.id == 2)
        #expect(try index.search([0, 0, 0], k: 2).count == 2)  // zero query: every score is 0, no crash
        #expect(try index.search([1, 0, 0], k: 0).isEmpty)
    }

    @Test func aRequestedStrategyThatCannotRunIsAnErrorNotAnotherStrategy() throws {
        let small = SimilarityIndex(configuration: .init(dimension: 3, exactThreshold: 10, codeBits: 64))
        let hasher = RandomHyperplaneHasher(bits: 64, dimension: 3, seed: 1)
        for id in 0..<5 { small.add(id: Int64(id), vector: [1, Float(id), 0], code: hasher.code(for: [1, Float(id), 0])) }
        small.waitForRebuild()
        // Below the exact threshold no forest is built: asking for it by name says so.
        #expect(throws: SimilarityIndex.SearchError.forestUnavailable(live: 5, exactThreshold: 10)) {
            try small.search([1, 0, 0], k: 3, strategy: .forest(searchK: 100))
        }
        #expect(SimilarityIndex.SearchError.forestUnavailable(live: 5, exactThreshold: 10).isTransient == false)
        // A Hamming scan without the query's code, or on an index without codes.
        #expect(throws: SimilarityIndex.SearchError.codesUnavailable) {
            try small.search([1, 0, 0], k: 3, strategy: .hamming(candidates: 10))
        }
        let uncoded = SimilarityIndex(configuration: .init(dimension: 3, exactThreshold: 10, codeBits: 0))
        uncoded.add(id: 1, vector: [1, 0, 0])
        #expect(throws: SimilarityIndex.SearchError.codesUnavailable) {
            try uncoded.search([1, 0, 0], k: 3, strategy: .hamming(candidates: 10), code: hasher.code(for: [1, 0, 0]))
        }
        // What can run answers, and agrees with the exact scan.
        let exact = try small.search([1, 0, 0], k: 3, strategy: .exact)
        #expect(try small.search([1, 0, 0], k: 3, strategy: .hamming(candidates: 5), code: hasher.code(for: [1, 0, 0])) == exact)
        #expect(try small.search([1, 0, 0], k: 3) == exact)
    }

    @Test func backgroundRebuildSwapsInWhileSearching() async throws {
        let data = Self.dataset(count: 3000, dimension: 16, seed: 8)
        let index = SimilarityIndex(configuration: .init(dimension: 16, trees: 4, leafSize: 8, exactThreshold: 500, rebuildFraction: 0.2, codeBits: 0))
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for (id, vector) in data.enumerated() { index.add(id: Int64(id), vector: vector) }
                for id in 0..<300 { index.remove(id: Int64(id)) }
            }
            for reader in 0..<3 {
                group.addTask {
                    for query in data[(reader * 100)..<(reader * 100 + 100)] {
                        let result = try? index.search(query, k: 5)
                        #expect(result != nil && result!.count <= 5)
                    }
                }
            }
        }
        index.waitForRebuild()
        // How many rebuilds the concurrent phase triggers depends on scheduling; at least the first one ran.
        let afterConcurrentPhase = index.statistics.rebuilds
        #expect(afterConcurrentPhase >= 1)
        #expect(index.count == 2700)
        // More changes than rebuildFraction × size since the last build always trigger another one.
        for id in 300..<1000 { index.remove(id: Int64(id)) }
        index.waitForRebuild()
        #expect(index.statistics.rebuilds > afterConcurrentPhase)
        #expect(index.count == 2000)
        for (id, vector) in data.enumerated().suffix(50) {
            #expect(try index.search(vector, k: 1, strategy: .forest(searchK: 400)).first?.id == Int64(id))
        }
    }
}

struct BinaryCodeTests {
    @Test func hammingMatchesNaiveCount() {
        var random = SeededRandom(seed: 1)
        for _ in 0..<50 {
            let a = BinaryCode(words: (0..<4).map { _ in random.next() })
            let b = BinaryCode(words: (0..<4).map { _ in random.next() })
            var naive = 0
            for bit in 0..<256 where (a.words[bit / 64] >> UInt64(bit % 64)) & 1 != (b.words[bit / 64] >> UInt64(bit % 64)) & 1 {
                naive += 1
            }
            #expect(a.distance(to: b) == naive)
        }
    }

    @Test func simHashIsScaleInvariantDeterministicAndLocal() {
        let hasher = RandomHyperplaneHasher(bits: 256, dimension: 64, seed: 7)
        #expect(hasher.projection == RandomHyperplaneHasher(bits: 256, dimension: 64, seed: 7).projection)
        var random = SeededRandom(seed: 2)
        let v = random.floats(64)
        #expect(hasher.code(for: v) == hasher.code(for: v.map { $0 * 3 }))
        let near = zip(v, random.floats(64)).map { $0 + 0.05 * $1 }
        let far = random.floats(64)
        #expect(hasher.code(for: v).distance(to: hasher.code(for: near)) < hasher.code(for: v).distance(to: hasher.code(for: far)))
        // Gaussian sampler sanity: mean ≈ 0, variance ≈ 1 over 16k draws.
        let values = hasher.projection
        let mean = values.reduce(0, +) / Float(values.count)
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Float(values.count)
        #expect(abs(mean) < 0.03 && abs(variance - 1) < 0.05)
    }
}
