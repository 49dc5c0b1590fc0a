import Testing
import MetadataFilter
@testable import VectorIndex
import TestSupport

/// Searches under a filter against a brute-force reference: the exact filtered top k, computed in the test.
struct FilteredSearchTests {
    static let count = 6_000
    static let data = SimilarityIndexTests.dataset(count: count, dimension: 48, clusters: 30, seed: 5)
    static let hasher = RandomHyperplaneHasher(bits: 256, dimension: 48, seed: 1)

    /// Row i: `bucket` = i mod 1,000 (a number column), `shop` = one of 7 keywords, every third row in stock.
    static func metadata(_ row: Int) -> FilterValue {
        .object(["bucket": .number(Double(row % 1_000)), "shop": .string("s\(row % 7)"), "in_stock": .bool(row % 3 == 0)])
    }

    static func index(filteredExactLimit: Int, declared: Bool) -> SimilarityIndex {
        let schema = declared ? AttributeSchema(fields: ["bucket": .number, "shop": .keyword, "in_stock": .bool]) : AttributeSchema()
        let index = SimilarityIndex(configuration: .init(
            dimension: 48, exactThreshold: 500, attributes: schema, filteredExactLimit: filteredExactLimit))
        for (row, vector) in data.enumerated() {
            index.add(id: Int64(row), vector: vector, code: hasher.code(for: vector), metadata: metadata(row))
        }
        index.waitForRebuild()
        index.rebuild()
        return index
    }

    static func truth(_ query: [Float], k: Int, admits: (Int) -> Bool) -> [Int64] {
        var scored: [(id: Int64, score: Double)] = []
        for row in 0..<count where admits(row) {
            var dot = 0.0
            for index in 0..<48 { dot += Double(data[row][index]) * Double(query[index]) }
            scored.append((Int64(row), dot))
        }
        scored.sort { $0.score != $1.score ? $0.score > $1.score : $0.id < $1.id }
        return scored.prefix(k).map(\.id)
    }

    /// Buckets below `limit` of 1,000: selectivity limit / 1,000.
    @Test(arguments: [500, 100, 10, 1])
    func recallUnderFilterAgainstBruteForce(limit: Int) throws {
        let queries = SimilarityIndexTests.dataset(count: 40, dimension: 48, clusters: 30, seed: 77)
        let filter = try Filter.parse(#"{"bucket": {"$lt": \#(limit)}, "$or": [{"shop": {"$ne": "s3"}}, {"in_stock": true}]}"#)
        let admits = { (row: Int) in row % 1_000 < limit && (row % 7 != 3 || row % 3 == 0) }
        for declared in [true, false] {
            // A limit of 0 forces the Hamming scan over the admitted rows whatever their number.
            for exactLimit in [4_000, 0] {
                let index = Self.index(filteredExactLimit: exactLimit, declared: declared)
                for strategy: SimilarityIndex.Strategy in [.automatic, .exact, .forest(searchK: nil), .hamming(candidates: 600)] {
                    var found = 0, wanted = 0
                    for query in queries {
                        let expected = Self.truth(query, k: 10, admits: admits)
                        let got = try index.search(query, k: 10, strategy: strategy, code: Self.hasher.code(for: query), filter: filter)
                        #expect(got.allSatisfy { admits(Int($0.id)) }, "a result outside the filter")
                        #expect(got.count == expected.count, "\(strategy): \(got.count) results, \(expected.count) exist")
                        found += Set(got.map(\.id)).intersection(expected).count
                        wanted += expected.count
                        if strategy == .exact { #expect(got.map(\.id) == expected) }
                    }
                    let recall = Double(found) / Double(wanted)
                    #expect(recall >= 0.95, "limit \(limit), declared \(declared), exact limit \(exactLimit), \(strategy): recall \(recall)")
                }
            }
        }
    }

    @Test func deletionsReplacementsAndMetadataUpdatesAreSeen() throws {
        let index = Self.index(filteredExactLimit: 4_000, declared: true)
        let filter = try Filter.parse(#"{"shop": "new"}"#)
        let query = Self.data[10]
        #expect(try index.search(query, k: 5, filter: filter).isEmpty)
        index.updateMetadata(id: 10, .object(["shop": .string("new")]))
        index.add(id: 20, vector: Self.data[20], code: Self.hasher.code(for: Self.data[20]), metadata: .object(["shop": .string("new")]))
        index.add(id: 30, vector: Self.data[30], code: Self.hasher.code(for: Self.data[30]), metadata: .object(["shop": .string("new")]))
        #expect(Set(try index.search(query, k: 5, filter: filter).map(\.id)) == [10, 20, 30])
        index.remove(id: 20)
        // Replacing 30 without metadata takes it out of the filter.
        index.add(id: 30, vector: Self.data[30], code: Self.hasher.code(for: Self.data[30]))
        #expect(try index.search(query, k: 5, filter: filter).map(\.id) == [10])
        #expect(try index.search(query, k: 5, excluding: [10], filter: filter).isEmpty)
    }
}
