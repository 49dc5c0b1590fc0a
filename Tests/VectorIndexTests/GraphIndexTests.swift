import Dispatch
import Foundation
import Testing
import MetadataFilter
@testable import VectorIndex
import TestSupport

/// The graph kind against brute force in Double (the ground truth, computed in the test), with both builds of the
/// C kernels.
struct GraphIndexTests {
    static let dimension = 64
    static let data = SimilarityIndexTests.dataset(count: 2_000, dimension: dimension, clusters: 30, seed: 11)
    static let queries = SimilarityIndexTests.dataset(count: 50, dimension: dimension, clusters: 30, seed: 12)
    /// Built once (past the exact threshold of 300, so by insertion and rebuilds as the set doubles), its full
    /// vectors in a file.
    static let vectorPath = FileManager.default.temporaryDirectory.appendingPathComponent("graph-\(UUID().uuidString).f32").path
    static let sharedIndex = try! build(data, portable: false, path: vectorPath)

    static func build(_ rows: [[Float]], portable: Bool, path: String? = nil, exactThreshold: Int = 300,
                      metadata: ((Int) -> FilterValue)? = nil, schema: AttributeSchema = AttributeSchema()) throws -> GraphIndex {
        let index = try GraphIndex(
            // These random clusters spread their energy over every direction, so the codes keep all of them;
            // the real features' spectrum is what lets the benchmarks keep a fifth (docs/benchmarks.md).
            configuration: .init(dimension: dimension, degree: 24, buildBeam: 64, codeRank: dimension, searchBeam: 128,
                                 rerank: 64, exactThreshold: exactThreshold, vectorPath: path, attributes: schema),
            portableKernels: portable)
        for (row, vector) in rows.enumerated() { index.add(id: Int64(row), vector: vector, metadata: metadata?(row)) }
        index.waitForRebuild()
        return index
    }

    static func recall(_ index: GraphIndex, k: Int, effort: GraphIndex.Effort = .init()) -> Double {
        var found = 0
        for query in queries {
            let expected = Set(SimilarityIndexTests.exactTopK(data, query, k: k))
            found += index.search(query, k: k, effort: effort).filter { expected.contains($0.id) }.count
        }
        return Double(found) / Double(k * queries.count)
    }

    @Test(arguments: [true, false])
    func graphSearchFindsTheExactNeighbours(portable: Bool) throws {
        try #require(portable || DistanceKernels.cpuHasVectorBuild, "no AVX2 on this CPU")
        let index = portable ? try Self.build(Self.data, portable: true) : Self.sharedIndex
        #expect(index.hasGraph, "built once past the exact threshold")
        // Measured 0.99+ on this set; the bar leaves room for the rounding of the two kernel builds.
        #expect(Self.recall(index, k: 10) >= 0.95)
        #expect(Self.recall(index, k: 10, effort: .init(beam: 200, rerank: 100)) >= 0.99)
        // Stopping the re-ranking early trades a little recall for fewer rows read (benchmark option).
        #expect(Self.recall(index, k: 10, effort: .init(beam: 200, rerank: 100, stopSlack: 2)) >= 0.95)
        // Exact mode is the brute force ranking, scores within float rounding of the Double ones.
        for query in Self.queries.prefix(10) {
            let exact = index.search(query, k: 10, effort: .init(exact: true))
            #expect(exact.map(\.id) == SimilarityIndexTests.exactTopK(Self.data, query, k: 10))
            for match in exact {
                let reference = zip(Self.data[Int(match.id)], query).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
                #expect(abs(Double(match.score) - reference) < 1e-5)
            }
        }
    }

    @Test func kernelBuildsAgree() throws {
        try #require(DistanceKernels.cpuHasVectorBuild, "no AVX2 on this CPU")
        var random = SeededRandom(seed: 3)
        let portable = DistanceKernels(vectorised: false), vectorised = DistanceKernels(vectorised: true)
        for count in [16, 32, 48, 256, 512] {
            let code = (0..<count).map { _ in Int8.random(in: -127...127, using: &random) }
            let query = (0..<count).map { _ in Int16.random(in: -32767...32767, using: &random) }
            let reference = zip(code, query).reduce(Int32(0)) { $0 + Int32($1.0) * Int32($1.1) }
            #expect(portable.codeDot(code, query, count) == reference)
            #expect(vectorised.codeDot(code, query, count) == reference)
        }
        for count in [1, 7, 8, 15, 16, 33, 1280] {
            let a = random.floats(count), b = random.floats(count)
            let reference = zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            #expect(abs(Double(portable.floatDot(a, b, count)) - reference) < 1e-4)
            #expect(abs(Double(vectorised.floatDot(a, b, count)) - reference) < 1e-4)
        }
    }

    @Test func deletedAndReplacedEntriesNeverAnswer() throws {
        let index = try Self.build(Self.data, portable: false)
        let removed = Set((0..<Int64(Self.data.count)).filter { $0 % 3 == 0 })
        for id in removed { #expect(index.remove(id: id)) }
        #expect(!index.remove(id: 0), "already removed")
        // Deleted nodes answer no search, before the graph is built again without them and after.
        for query in Self.queries.prefix(5) { #expect(index.search(query, k: 10).allSatisfy { !removed.contains($0.id) }) }
        index.waitForRebuild()
        // Replacing id 1 by a far vector moves it: its old position answers no more.
        let far = Self.data[1].map { -$0 }
        index.add(id: 1, vector: far)
        var found = 0, wanted = 0
        let kept = Self.data.indices.filter { !removed.contains(Int64($0)) && $0 != 1 }
        for query in Self.queries {
            let results = index.search(query, k: 10)
            #expect(results.allSatisfy { !removed.contains($0.id) })
            #expect(Set(results.map(\.id)).count == results.count, "no id twice")
            var scored = kept.map { row in (Int64(row), zip(Self.data[row], query).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }) }
            scored.append((1, zip(far, query).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }))
            scored.sort { $0.1 > $1.1 }
            let expected = Set(scored.prefix(10).map(\.0))
            found += results.filter { expected.contains($0.id) }.count
            wanted += 10
        }
        #expect(Double(found) / Double(wanted) >= 0.95)
        #expect(index.search(far, k: 1).first?.id == 1)
        #expect(index.count == Self.data.count - removed.count)
    }

    @Test(arguments: [true, false])
    func filteredSearchAgainstBruteForce(declared: Bool) throws {
        let buckets = 1_000
        let schema = declared ? AttributeSchema(fields: ["bucket": .number]) : AttributeSchema()
        // A filtered-exact limit of 100 sends 0.5 through the walk, 0.1 through the code scan, 0.01 exact.
        let index = try GraphIndex(
            configuration: .init(dimension: Self.dimension, degree: 24, buildBeam: 64, codeRank: Self.dimension, searchBeam: 96,
                                 rerank: 48, exactThreshold: 300, attributes: schema, filteredExactLimit: 100))
        for (row, vector) in Self.data.enumerated() {
            index.add(id: Int64(row), vector: vector, metadata: .object(["bucket": .number(Double((row * 7919) % buckets))]))
        }
        index.waitForRebuild()
        for selectivity in [0.5, 0.1, 0.01] {
            let limit = Int(Double(buckets) * selectivity)
            let filter = try Filter.parse(#"{"bucket": {"$lt": \#(limit)}}"#)
            let admits = { (row: Int) in (row * 7919) % buckets < limit }
            var found = 0, wanted = 0
            for query in Self.queries {
                var scored = Self.data.indices.filter(admits).map { row in
                    (Int64(row), zip(Self.data[row], query).reduce(0.0) { $0 + Double($1.0) * Double($1.1) })
                }
                scored.sort { $0.1 > $1.1 }
                let expected = Set(scored.prefix(10).map(\.0))
                let results = index.search(query, k: 10, filter: filter)
                #expect(results.allSatisfy { admits(Int($0.id)) }, "a result outside the filter")
                #expect(results.count == expected.count)
                found += results.filter { expected.contains($0.id) }.count
                wanted += expected.count
            }
            #expect(Double(found) / Double(wanted) >= 0.95, "selectivity \(selectivity), declared \(declared)")
            #expect(index.count(matching: filter) == Self.data.indices.filter(admits).count)
        }
    }

    @Test func vectorsLiveInTheFileAndMemoryIsAccounted() throws {
        let index = Self.sharedIndex
        let memory = index.memory
        #expect(memory.vectorMemoryBytes == 0, "every vector is in the file")
        #expect(memory.vectorBytes >= Self.data.count * Self.dimension * 4)
        #expect(!FileManager.default.fileExists(atPath: Self.vectorPath), "the scratch file is unlinked once open")
        #expect(memory.codeBytes >= Self.data.count * 64 && memory.graphBytes >= Self.data.count * 24 * 4)
        // Codes (64 bytes) and 24 edges (96 bytes) per entry, in chunks and arrays that grow ahead.
        #expect(memory.codeBytes <= 2 << 20 && memory.graphBytes < Self.data.count * 24 * 4 * 2)
        #expect(index.accounting.memoryBytes == memory.residentBytes)
    }

    @Test func smallIndexesAreExact() throws {
        let rows = Array(Self.data.prefix(200))
        let index = try Self.build(rows, portable: false)
        #expect(!index.hasGraph)
        for query in Self.queries.prefix(5) {
            #expect(index.search(query, k: 5).map(\.id) == SimilarityIndexTests.exactTopK(rows, query, k: 5))
        }
    }
}

/// Searches, writes and background builds at once (run under ThreadSanitizer by scripts/test): every answer is
/// a live entry, and the index ends with every write applied.
struct GraphIndexConcurrencyTests {
    @Test func searchesAndWritesDuringBackgroundBuilds() throws {
        let dimension = 32
        let data = SimilarityIndexTests.dataset(count: 1_200, dimension: dimension, clusters: 12, seed: 21)
        let index = try GraphIndex(configuration: .init(
            dimension: dimension, degree: 12, buildBeam: 24, codeRank: dimension, searchBeam: 32, rerank: 32,
            exactThreshold: 100))
        let group = DispatchGroup()
        let writer = DispatchQueue(label: "writer")
        writer.async(group: group) {
            for (row, vector) in data.enumerated() {
                index.add(id: Int64(row), vector: vector)
                if row % 5 == 4 { index.remove(id: Int64(row - 2)) }
            }
        }
        DispatchQueue.concurrentPerform(iterations: 2) { worker in
            for query in data.prefix(150 + worker) {
                let results = index.search(query, k: 5)
                #expect(Set(results.map(\.id)).count == results.count)
            }
        }
        group.wait()
        index.waitForRebuild()
        let removed = Set((0..<data.count).filter { $0 % 5 == 2 }.map(Int64.init))
        #expect(index.count == data.count - removed.count)
        #expect(index.hasGraph)
        for query in data.prefix(20) {
            #expect(index.search(query, k: 10).allSatisfy { !removed.contains($0.id) })
        }
    }
}
