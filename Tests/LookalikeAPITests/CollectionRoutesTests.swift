import Foundation
import HTTPServer
import Lookalike
import Storage
import Testing
import TestSupport

/// The collection routes over real sockets, and the old routes as the `default` collection.
@Suite(.serialized)
struct CollectionRoutesTests {
    @Test func collectionsAreCreatedListedUsedAndDeleted() throws {
        let harness = try APITestHarness()
        let client = try harness.client()
        #expect(try client.request("POST", "/v1/collections", body: Array(#"{"name": "shop-eu", "code_bits": 128}"#.utf8)).status == 201)
        #expect(try client.request("POST", "/v1/collections", body: Array(#"{"name": "shop-eu"}"#.utf8)).status == 409)
        for body in [#"{"name": "Shop"}"#, #"{"name": ""}"#, #"{"name": 5}"#, #"[1]"#, #"{"name": "x", "code_bits": 7}"#, "{"] {
            let response = try client.request("POST", "/v1/collections", body: Array(body.utf8))
            #expect(response.status == 400, "\(body): \(response.status)")
        }
        let listed = try client.request("GET", "/v1/collections")
        let names = (listed.json["collections"] as? [[String: Any]])?.compactMap { $0["name"] as? String }
        #expect(names == ["default", "shop-eu"])
        let described = try client.request("GET", "/v1/collections/shop-eu")
        #expect(described.json["code_bits"] as? Int == 128 && described.json["images"] as? Int == 0)
        let missing = try client.request("GET", "/v1/collections/nope/images")
        #expect(missing.status == 404 && missing.text.contains("nope"))

        // The same id in two collections is two images; each search sees its own.
        let image = try APITestHarness.jpeg(seed: 7)
        let other = try APITestHarness.jpeg(seed: 8)
        let stored = try client.request("PUT", "/v1/collections/shop-eu/images/p1", body: image)
        #expect(stored.status == 201 && stored.headers["location"] == "/v1/collections/shop-eu/images/p1")
        #expect(try client.request("PUT", "/v1/images/p1", body: other).status == 201)
        #expect(try client.request("PUT", "/v1/collections/default/images/p2", body: image).status == 201)
        let inShop = try client.request("POST", "/v1/collections/shop-eu/search?k=5", body: image)
        #expect((inShop.json["results"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == ["p1"])
        let inDefault = try client.request("POST", "/v1/search?k=1", body: image)
        #expect((inDefault.json["results"] as? [[String: Any]])?.first?["id"] as? String == "p2")
        #expect(try client.request("GET", "/v1/collections/shop-eu/images/p2").status == 404)
        #expect(try client.request("GET", "/v1/collections/shop-eu/stats").json["images"] as? Int == 1)
        #expect(try client.request("GET", "/v1/stats").json["images"] as? Int == 2)
        let groups = try client.request("GET", "/v1/duplicates?threshold=0.99")
        #expect(groups.status == 200 && (groups.json["groups"] as? [[String]]) == [])
        #expect(try client.request("GET", "/v1/collections/shop-eu/duplicates?threshold=2").status == 400)

        #expect(try client.request("DELETE", "/v1/collections/shop-eu").status == 204)
        #expect(try client.request("GET", "/v1/collections/shop-eu").status == 404)
        #expect(try client.request("DELETE", "/v1/collections/shop-eu").status == 404)
        #expect(try client.request("GET", "/v1/images/p1").status == 200)  // the default collection untouched
        let metrics = try client.request("GET", "/metrics").text
        #expect(metrics.contains(#"route="/v1/collections/{collection}/images/{id}",method="PUT",status="201""#))
        #expect(metrics.contains(#"route="/v1/images/{id}",method="PUT",status="201""#))
    }

    /// Another process holding the database's write lock past the busy timeout: a 503 with Retry-After, not a
    /// 500, and the write goes through once the lock is released.
    @Test func aBusyDatabaseAnswers503WithRetryAfter() throws {
        let harness = try APITestHarness(configure: { $0.storage.busyTimeoutMilliseconds = 100 })
        let client = try harness.client()
        let blocker = try Database(path: harness.service.configuration.storage.databasePath)
        try blocker.execute("BEGIN IMMEDIATE")
        let refused = try client.request("PUT", "/v1/images/blocked", body: try APITestHarness.jpeg(seed: 9))
        #expect(refused.status == 503 && refused.headers["retry-after"] == "1", "\(refused.status) \(refused.text)")
        try blocker.execute("ROLLBACK")
        #expect(try client.request("PUT", "/v1/images/blocked", body: try APITestHarness.jpeg(seed: 9)).status == 201)
        #expect(try harness.service.statistics().indexed == 1)
    }

    /// Uploads and searches across many collections at once: each collection ends with exactly its own
    /// images, and no search ever returns another collection's.
    @Test func concurrentUploadsAndSearchesAcrossCollections() throws {
        let harness = try APITestHarness()
        let collections = 20, perCollection = 3
        for index in 0..<collections {
            #expect(try harness.client().request("POST", "/v1/collections", body: Array(#"{"name": "c\#(index)"}"#.utf8)).status == 201)
        }
        let port = harness.port
        let failures = ThreadFanOut.run(count: 8) { lane -> [String] in
            var problems: [String] = []
            do {
                let client = try HTTPTestClient(port: port, timeout: 300)
                for job in stride(from: lane, to: collections * perCollection, by: 8) {
                    let (collection, item) = (job % collections, job / collections)
                    let image = try APITestHarness.jpeg(seed: UInt64(1000 + job))
                    let status = try client.request("PUT", "/v1/collections/c\(collection)/images/c\(collection)-\(item)", body: image).status
                    if status != 201 { problems.append("upload \(job): \(status)") }
                    // A vector query (no inference) against another collection, while uploads go on.
                    var random = SeededRandom(seed: UInt64(job))
                    let vector = random.floats(1280).map(Double.init)
                    let body = try JSONSerialization.data(withJSONObject: ["vector": vector, "k": 10])
                    let found = try client.request("POST", "/v1/collections/c\((collection + 1) % collections)/search/vector",
                                                   headers: [("Content-Type", "application/json")], body: Array(body))
                    let ids = (found.json["results"] as? [[String: Any]])?.compactMap { $0["id"] as? String } ?? []
                    if found.status != 200 || ids.contains(where: { !$0.hasPrefix("c\((collection + 1) % collections)-") }) {
                        problems.append("search \(job): \(found.status) \(ids)")
                    }
                }
            } catch {
                problems.append("\(error)")
            }
            return problems
        }
        #expect(failures.flatMap { $0 }.isEmpty, "\(failures.flatMap { $0 }.prefix(5))")
        let client = try harness.client()
        for index in 0..<collections {
            let page = try client.request("GET", "/v1/collections/c\(index)/images?limit=100")
            let ids = (page.json["images"] as? [[String: Any]])?.compactMap { $0["id"] as? String } ?? []
            #expect(ids == (0..<perCollection).map { "c\(index)-\($0)" })
        }
    }
}
