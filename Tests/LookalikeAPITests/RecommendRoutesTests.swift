import Foundation
import Lookalike
import Testing
import TestSupport

/// `POST /recommend` with the real model, against the average-vector query worked out in the test from the
/// stored vectors and an exact ranking done here.
@Suite(.serialized)
struct RecommendRoutesTests {
    static let count = 16

    static func ids(_ response: HTTPTestClient.Response) -> [String] {
        (response.json["results"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
    }

    static func scores(_ response: HTTPTestClient.Response) -> [Double] {
        (response.json["results"] as? [[String: Any]] ?? []).compactMap { ($0["score"] as? NSNumber)?.doubleValue }
    }

    static func body(_ object: [String: Any]) throws -> [UInt8] {
        Array(try JSONSerialization.data(withJSONObject: object))
    }

    /// The reference: mean of positives minus weight × mean of negatives, normalised, every stored vector scored,
    /// `excluded` and those the predicate refuses left out, best first.
    static func reference(positive: [[Float]], negative: [[Float]], weight: Float, vectors: [String: [Float]],
                          excluded: Set<String>, admits: (String) -> Bool = { _ in true }) -> [(id: String, score: Float)] {
        let dimension = positive[0].count
        var query = [Float](repeating: 0, count: dimension)
        for vector in positive { for d in 0..<dimension { query[d] += vector[d] / Float(positive.count) } }
        for vector in negative { for d in 0..<dimension { query[d] -= weight * vector[d] / Float(negative.count) } }
        let norm = query.reduce(0) { $0 + $1 * $1 }.squareRoot()
        query = query.map { $0 / norm }
        return vectors.filter { !excluded.contains($0.key) && admits($0.key) }
            .map { (id: $0.key, score: zip(query, $0.value).reduce(0) { $0 + $1.0 * $1.1 }) }
            .sorted { $0.score > $1.score }
    }

    @Test func averageVectorAgainstTheReference() throws {
        let harness = try APITestHarness()
        let client = try harness.client()
        #expect(try client.request("POST", "/v1/collections", body: Array(#"{"name": "rec", "indexes": {"shop": "keyword"}}"#.utf8)).status == 201)
        for n in 0..<Self.count {
            let response = try client.request("PUT", "/v1/collections/rec/images/i\(n)?metadata=%7B%22shop%22%3A%22s\(n % 2)%22%7D",
                                              body: try APITestHarness.jpeg(seed: UInt64(700 + n)))
            #expect(response.status == 201, "\(response.text)")
        }
        var vectors: [String: [Float]] = [:]
        for n in 0..<Self.count { vectors["i\(n)"] = try harness.service.vector(key: "i\(n)", collection: "rec") }
        let path = "/v1/collections/rec/recommend"

        // Two positives, one negative, the default weight 0.5; the three examples are not among the results.
        let mixed = try client.request("POST", path, body: try Self.body(
            ["positive": ["i1", "i2"], "negative": ["i3"], "k": 6, "exact": true]))
        #expect(mixed.status == 200, "\(mixed.text)")
        let expected = Self.reference(positive: [vectors["i1"]!, vectors["i2"]!], negative: [vectors["i3"]!], weight: 0.5,
                                      vectors: vectors, excluded: ["i1", "i2", "i3"])
        #expect(Self.ids(mixed) == expected.prefix(6).map(\.id))
        for (score, reference) in zip(Self.scores(mixed), expected) { #expect(abs(score - Double(reference.score)) < 1e-4) }

        // The same with weight 1 and a filter: only shop s0, the examples still left out.
        let filtered = try client.request("POST", path, body: try Self.body(
            ["positive": ["i4", "i6"], "negative": ["i5"], "negative_weight": 1, "k": 4, "filter": ["shop": "s0"]]))
        let expectedFiltered = Self.reference(
            positive: [vectors["i4"]!, vectors["i6"]!], negative: [vectors["i5"]!], weight: 1, vectors: vectors,
            excluded: ["i4", "i5", "i6"], admits: { Int($0.dropFirst())! % 2 == 0 })
        #expect(Self.ids(filtered) == expectedFiltered.prefix(4).map(\.id), "\(filtered.text)")

        // One stored positive is `similar` to it; one raw vector (scaled: it is normalised) finds its own image first.
        let single = try client.request("POST", path, body: try Self.body(["positive": ["i7"], "k": 5, "exact": true]))
        let similar = try client.request("GET", "/v1/collections/rec/images/i7/similar?k=5&exact=true")
        #expect(Self.ids(single) == Self.ids(similar) && Self.ids(single).count == 5)
        let raw = try client.request("POST", path, body: try Self.body(
            ["positive": [vectors["i8"]!.map { Double($0) * 3 }], "k": 1]))
        #expect(Self.ids(raw) == ["i8"] && abs((Self.scores(raw).first ?? 0) - 1) < 1e-4, "\(raw.text)")
        // Mixed ids and vectors in one list, with paging.
        let paged = try client.request("POST", path, body: try Self.body(
            ["positive": ["i9", vectors["i10"]!.map(Double.init)], "k": 3, "offset": 2, "exact": true]))
        let expectedPaged = Self.reference(positive: [vectors["i9"]!, vectors["i10"]!], negative: [], weight: 0.5,
                                           vectors: vectors, excluded: ["i9"])
        #expect(Self.ids(paged) == expectedPaged[2..<5].map(\.id))
    }

    @Test func malformedRequestsAreRefused() throws {
        let harness = try APITestHarness()
        let client = try harness.client()
        for n in 0..<3 {
            #expect(try client.request("PUT", "/v1/images/i\(n)", body: try APITestHarness.jpeg(seed: UInt64(800 + n))).status == 201)
        }
        let vector = try harness.service.vector(key: "i0").map(Double.init)
        let cases: [(body: [UInt8], status: Int, detail: String)] = [
            (Array("not json".utf8), 400, "not JSON"),
            (Array("[1]".utf8), 400, "JSON object"),
            (try Self.body(["negative": ["i0"]]), 400, "'positive' is required"),
            (try Self.body(["positive": []]), 400, "positive must hold 1...32"),
            (try Self.body(["positive": Array(repeating: "i0", count: 33)]), 400, "positive must hold 1...32"),
            (try Self.body(["positive": ["i0"], "negative": Array(repeating: "i1", count: 33)]), 400, "negative must hold at most 32"),
            (try Self.body(["positiv": ["i0"]]), 400, "unknown member 'positiv'"),
            (try Self.body(["positive": "i0"]), 400, "'positive' must be an array"),
            (try Self.body(["positive": [5]]), 400, "'positive[0]' must be an image id or a vector"),
            (try Self.body(["positive": [[1, 2, 3]]]), 400, "positive[0] must have 1280 values"),
            (try Self.body(["positive": [[1, "x"]]]), 400, "'positive[0]' must be an array of numbers"),
            (try Self.body(["positive": [Array(repeating: 0, count: 1280)]]), 400, "not all zero"),
            (try Self.body(["positive": ["i0"], "negative": ["i0"], "negative_weight": 1]), 400, "cancel out"),
            (try Self.body(["positive": ["i0"], "negative": [vector], "negative_weight": 1]), 400, "cancel out"),
            (try Self.body(["positive": ["i0"], "negative_weight": 3]), 400, "negative_weight must be a number in 0...2"),
            (try Self.body(["positive": ["i0"], "negative_weight": "1"]), 400, "'negative_weight' must be a number"),
            (try Self.body(["positive": ["i0"], "k": 0]), 400, "k must be 1...1000"),
            (try Self.body(["positive": ["i0"], "k": 2.5]), 400, "'k' must be an integer"),
            (try Self.body(["positive": ["i0"], "filter": ["b": ["$bogus": 1]]]), 400, "$bogus"),
            (try Self.body(["positive": ["missing"]]), 422, "no image with id 'missing' to use as an example"),
        ]
        for (body, status, detail) in cases {
            let response = try client.request("POST", "/v1/recommend", body: body)
            #expect(response.status == status, "\(String(decoding: body.prefix(80), as: UTF8.self)): \(response.text)")
            #expect((response.json["detail"] as? String)?.contains(detail) == true, "\(response.text)")
        }
        #expect(try client.request("POST", "/v1/collections/nowhere/recommend", body: try Self.body(["positive": ["i0"]])).status == 404)
        // Nothing was harmed: every image is still there and found.
        let fine = try client.request("POST", "/v1/recommend", body: try Self.body(["positive": ["i0"], "k": 5]))
        #expect(fine.status == 200 && Set(Self.ids(fine)) == ["i1", "i2"], "\(fine.text)")
    }
}
