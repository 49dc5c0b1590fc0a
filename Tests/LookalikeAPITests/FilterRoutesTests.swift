import Foundation
import Lookalike
import MetadataFilter
import Testing
import TestSupport

/// Filters over HTTP with the real model: each route's filtered answer against the unfiltered exact ranking
/// restricted, in the test, to the images the filter admits.
@Suite(.serialized)
struct FilterRoutesTests {
    static func encoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
    }

    static func ids(_ response: HTTPTestClient.Response) -> [String] {
        (response.json["results"] as? [[String: Any]] ?? response.json["images"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
    }

    /// Image n: shop s(n mod 3), price 10·n, in stock when n is even; tags on some.
    static func metadata(_ n: Int) -> String {
        #"{"shop": "s\#(n % 3)", "price": \#(10 * n), "in_stock": \#(n % 2 == 0)\#(n % 4 == 1 ? #", "tags": ["sale"]"# : "")}"#
    }

    @Test func filteredSearchSimilarListAndPatch() throws {
        let harness = try APITestHarness()
        let client = try harness.client()
        let created = try client.request("POST", "/v1/collections", body: Array(
            #"{"name": "shop", "indexes": {"shop": "keyword", "price": "number", "in_stock": "bool"}}"#.utf8))
        #expect(created.status == 201)
        #expect((created.json["indexes"] as? [String: String]) == ["shop": "keyword", "price": "number", "in_stock": "bool"])
        for n in 0..<24 {
            let response = try client.request("PUT", "/v1/collections/shop/images/i\(n)?metadata=\(Self.encoded(Self.metadata(n)))",
                                              body: try APITestHarness.jpeg(seed: UInt64(300 + n)))
            #expect(response.status == 201, "\(response.text)")
        }
        let metadata = (0..<24).map { try! FilterValue.parse(Self.metadata($0)) }
        let filters = [#"{"shop": "s1", "price": {"$lt": 150}}"#, #"{"in_stock": true}"#, #"{"tags": "sale"}"#,
                       #"{"$or": [{"shop": "s0"}, {"price": {"$gte": 200}}]}"#, #"{"shop": {"$in": []}}"#]
        let query = try APITestHarness.jpeg(seed: 300)
        let unfiltered = Self.ids(try client.request("POST", "/v1/collections/shop/search?k=24&exact=true", body: query))
        let similarAll = Self.ids(try client.request("GET", "/v1/collections/shop/images/i5/similar?k=24&exact=true"))
        #expect(unfiltered.count == 24 && similarAll.count == 23)
        for text in filters {
            let filter = try Filter.parse(text)
            let admitted = Set((0..<24).filter { filter.matches(metadata[$0]) }.map { "i\($0)" })
            let search = try client.request("POST", "/v1/collections/shop/search?k=5&filter=\(Self.encoded(text))", body: query)
            #expect(search.status == 200)
            #expect(Self.ids(search) == Array(unfiltered.filter(admitted.contains).prefix(5)), "\(text)")
            let similar = try client.request("GET", "/v1/collections/shop/images/i5/similar?k=5&filter=\(Self.encoded(text))")
            #expect(Self.ids(similar) == Array(similarAll.filter(admitted.contains).prefix(5)), "\(text)")
            let listed = try client.request("GET", "/v1/collections/shop/images?limit=1000&filter=\(Self.encoded(text))")
            #expect(Set(Self.ids(listed)) == admitted, "\(text)")
        }
        // Paging with offset, with and without a filter.
        let page2 = try client.request("POST", "/v1/collections/shop/search?k=5&offset=5&exact=true", body: query)
        #expect(Self.ids(page2) == Array(unfiltered[5..<10]))
        let evenPage2 = try client.request("GET", "/v1/collections/shop/images/i5/similar?k=3&offset=3&filter=\(Self.encoded(#"{"in_stock": true}"#))")
        #expect(Self.ids(evenPage2) == Array(similarAll.filter { Int($0.dropFirst())! % 2 == 0 }[3..<6]))
        #expect(try client.request("GET", "/v1/collections/shop/images/i5/similar?k=10&offset=1001").status == 400)
        #expect(try client.request("GET", "/v1/collections/shop/images/i5/similar?offset=-1").status == 400)

        // Groups: k groups by shop, at most 2 each, worked out from the unfiltered ranking.
        var expectedGroups: [(shop: String, ids: [String])] = []
        for id in unfiltered {
            let shop = "s\(Int(id.dropFirst())! % 3)"
            if let index = expectedGroups.firstIndex(where: { $0.shop == shop }) {
                if expectedGroups[index].ids.count < 2 { expectedGroups[index].ids.append(id) }
            } else if expectedGroups.count < 2 {
                expectedGroups.append((shop, [id]))
            }
        }
        let grouped = try client.request("POST", "/v1/collections/shop/search?k=2&group_by=shop&group_size=2&exact=true", body: query)
        let groups = grouped.json["groups"] as? [[String: Any]] ?? []
        #expect(groups.map { $0["value"] as? String } == expectedGroups.map(\.shop))
        #expect(groups.map { ($0["results"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String } } == expectedGroups.map(\.ids))
        // Under a filter, and with a key only some images have (tags: every fourth image from i1).
        let tagged = try client.request("GET", "/v1/collections/shop/images/i5/similar?k=3&group_by=tags&group_size=100&filter=\(Self.encoded(#"{"in_stock": false}"#))")
        let taggedGroups = tagged.json["groups"] as? [[String: Any]] ?? []
        #expect(taggedGroups.count == 1)
        #expect(Set((taggedGroups.first?["results"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String })
                == Set((0..<24).filter { $0 % 4 == 1 && $0 != 5 }.map { "i\($0)" }))
        #expect(try client.request("GET", "/v1/collections/shop/images/i5/similar?group_by=shop&group_size=0").status == 400)
        #expect(try client.request("GET", "/v1/collections/shop/images/i5/similar?group_by=a..b").status == 400)

        // The vector route takes the filter in its body.
        let vector = "[" + (0..<1280).map { String(Double(($0 * 7) % 13) / 13) }.joined(separator: ",") + "]"
        let allByVector = Self.ids(try client.request("POST", "/v1/collections/shop/search/vector", body: Array(
            #"{"vector": \#(vector), "k": 24, "exact": true}"#.utf8)))
        let byVector = try client.request("POST", "/v1/collections/shop/search/vector", body: Array(
            #"{"vector": \#(vector), "k": 3, "filter": {"in_stock": false}}"#.utf8))
        #expect(Self.ids(byVector) == Array(allByVector.filter { Int($0.dropFirst())! % 2 == 1 }.prefix(3)))

        // Errors name what is wrong; nothing is stored by a refused upload.
        let malformed = try client.request("GET", "/v1/collections/shop/images/i5/similar?filter=\(Self.encoded(#"{"price": {"$lt": "x"}}"#))")
        #expect(malformed.status == 400 && malformed.text.contains("price.$lt"))
        let syntax = try client.request("POST", "/v1/collections/shop/search/vector", body: Array(
            #"{"vector": \#(vector), "filter": {"$nor": []}}"#.utf8))
        #expect(syntax.status == 400 && syntax.text.contains("$nor"))
        let wrongType = try client.request("PUT", "/v1/collections/shop/images/bad?metadata=\(Self.encoded(#"{"price": "cheap"}"#))",
                                           body: try APITestHarness.jpeg(seed: 999))
        #expect(wrongType.status == 400 && wrongType.text.contains("price"))
        #expect(try client.request("GET", "/v1/collections/shop/images/bad").status == 404)

        // PATCH: a merge patch, no inference; filters see it at once.
        let patched = try client.request("PATCH", "/v1/collections/shop/images/i7", body: Array(#"{"price": 1, "in_stock": null, "color": "red"}"#.utf8))
        #expect(patched.status == 200)
        #expect((patched.json["metadata"] as? [String: Any])?["price"] as? Int == 1)
        #expect((patched.json["metadata"] as? [String: Any])?["in_stock"] == nil)
        let cheap = try client.request("GET", "/v1/collections/shop/images?filter=\(Self.encoded(#"{"price": {"$lt": 5}}"#))")
        #expect(Set(Self.ids(cheap)) == ["i0", "i7"])
        let red = try client.request("POST", "/v1/collections/shop/search?k=3&filter=\(Self.encoded(#"{"color": "red"}"#))", body: query)
        #expect(Self.ids(red) == ["i7"])
        #expect(try client.request("PATCH", "/v1/collections/shop/images/i7", body: Array(#"{"price": "x"}"#.utf8)).status == 400)
        #expect(try client.request("PATCH", "/v1/collections/shop/images/i7", body: Array("[1]".utf8)).status == 400)
        #expect(try client.request("PATCH", "/v1/collections/shop/images/nope", body: Array("{}".utf8)).status == 404)

        // A second service on the same file loads the metadata with the vectors.
        var configuration = harness.service.configuration
        configuration.index.snapshot = false
        let reader = try LookalikeService(configuration: configuration, model: APITestHarness.model)
        defer { reader.shutdown() }
        try reader.loadIndex()
        let reloaded = try reader.search(bytes: query, options: SearchOptions(k: 3, filter: Filter.parse(#"{"color": "red"}"#)), collection: "shop")
        #expect(reloaded.map(\.key) == ["i7"])
        let inStock = try reader.search(bytes: query, options: SearchOptions(k: 24, filter: Filter.parse(#"{"in_stock": true}"#)), collection: "shop")
        #expect(Set(inStock.map(\.key)) == Set((0..<24).filter { $0 % 2 == 0 }.map { "i\($0)" }))
    }

    @Test func duplicateGroupsUnderAFilter() throws {
        let harness = try APITestHarness()
        let client = try harness.client()
        #expect(try client.request("POST", "/v1/collections", body: Array(#"{"name": "dups", "indexes": {"shop": "keyword"}}"#.utf8)).status == 201)
        // a, b, c: one image; d, e: another; f: a third, alone. Shops split them.
        let images = [("a", 1, "s0"), ("b", 1, "s0"), ("c", 1, "s1"), ("d", 2, "s1"), ("e", 2, "s1"), ("f", 3, "s0")]
        for (id, seed, shop) in images {
            let response = try client.request("PUT", "/v1/collections/dups/images/\(id)?metadata=\(Self.encoded(#"{"shop": "\#(shop)"}"#))",
                                              body: try APITestHarness.jpeg(seed: UInt64(900 + seed)))
            #expect(response.status == 201, "\(response.text)")
        }
        func groups(_ filter: String?) throws -> [[String]] {
            let query = filter.map { "&filter=\(Self.encoded($0))" } ?? ""
            let response = try client.request("GET", "/v1/collections/dups/duplicates?threshold=0.95\(query)")
            #expect(response.status == 200, "\(response.text)")
            return response.json["groups"] as? [[String]] ?? []
        }
        #expect(try groups(nil) == [["a", "b", "c"], ["d", "e"]])
        #expect(try groups(#"{"shop": "s0"}"#) == [["a", "b"]])
        #expect(try groups(#"{"shop": "s1"}"#) == [["d", "e"]])
        #expect(try groups(#"{"shop": {"$ne": "s1"}, "missing": {"$exists": true}}"#) == [])
        #expect(try client.request("GET", "/v1/collections/dups/duplicates?filter=\(Self.encoded("{"))").status == 400)
    }
}
