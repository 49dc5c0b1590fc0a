import Foundation
import Imaging
import Testing
import Lookalike
import Storage
import LookalikeAPI
import TestSupport

@Suite(.serialized)
struct APIFlowTests {
    @Test func uploadSearchSimilarDeleteWithRealImages() throws {
        let harness = try APITestHarness()
        let client = try harness.client()
        // Multipart PNG with id and metadata.
        let png = APITestHarness.png(seed: 1)
        let form = HTTPTestClient.multipart([("id", nil, Array("sku-1".utf8)), ("metadata", nil, Array(#"{"colour":"red"}"#.utf8)),
                                             ("image", "a.png", png)])
        let created = try client.request("POST", "/v1/images", headers: [("Content-Type", form.contentType)], body: form.body)
        #expect(created.status == 201, "\(created.text)")
        #expect(created.headers["location"] == "/v1/images/sku-1")
        #expect(created.json["format"] as? String == "png" && created.json["width"] as? Int == 200)
        // Raw JPEG bodies with ?id=.
        for seed in 2...4 {
            let response = try client.request("POST", "/v1/images?id=sku-\(seed)", body: try APITestHarness.jpeg(seed: UInt64(seed)))
            #expect(response.status == 201, "\(response.text)")
        }
        // The same id again replaces (200).
        let replaced = try client.request("PUT", "/v1/images/sku-4", body: try APITestHarness.jpeg(seed: 4))
        #expect(replaced.status == 200)
        #expect((replaced.json["duplicates"] as? [Any])?.isEmpty == true)

        // Search by the PNG's bytes: itself at rank 1 with score ~1.
        let search = try client.request("POST", "/v1/search?k=3", body: png)
        let results = try #require(search.json["results"] as? [[String: Any]], "\(search.text)")
        #expect(results.first?["id"] as? String == "sku-1")
        #expect((results.first?["score"] as? Double ?? 0) > 0.999)
        #expect((results.first?["metadata"] as? [String: Any])?["colour"] as? String == "red")
        #expect(search.json["took_ms"] is Double)

        // Similar excludes itself.
        let similar = try client.request("GET", "/v1/images/sku-2/similar?k=10")
        let similarIDs = (similar.json["results"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        #expect(Set(similarIDs) == ["sku-1", "sku-3", "sku-4"])

        // Record, thumbnail, list.
        let record = try client.request("GET", "/v1/images/sku-1")
        #expect(record.status == 200 && (record.json["metadata"] as? [String: Any])?["colour"] as? String == "red")
        let thumbnail = try client.request("GET", "/v1/images/sku-1/thumbnail")
        #expect(thumbnail.status == 200 && thumbnail.headers["content-type"] == "image/jpeg" && thumbnail.body.starts(with: [0xFF, 0xD8]))
        let page = try client.request("GET", "/v1/images?limit=2")
        #expect((page.json["images"] as? [Any])?.count == 2 && page.json["next"] as? String == "sku-2")
        let rest = try client.request("GET", "/v1/images?limit=2&after=sku-2")
        #expect(((rest.json["images"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String } == ["sku-3", "sku-4"])

        // Vector search with a stored image's own vector finds it.
        let vectorBody = try JSONSerialization.data(withJSONObject: ["vector": harness.service.vector(key: "sku-1").map(Double.init), "k": 1])
        let byVector = try client.request("POST", "/v1/search/vector", headers: [("Content-Type", "application/json")], body: Array(vectorBody))
        #expect((byVector.json["results"] as? [[String: Any]])?.first?["id"] as? String == "sku-1", "\(byVector.status) \(byVector.text)")
        let wrongLength = try client.request("POST", "/v1/search/vector", body: Array(#"{"vector":[1,2,3]}"#.utf8))
        #expect(wrongLength.status == 400)

        // Delete; the image is gone from search.
        #expect(try client.request("DELETE", "/v1/images/sku-1").status == 204)
        #expect(try client.request("DELETE", "/v1/images/sku-1").status == 404)
        #expect(try client.request("GET", "/v1/images/sku-1").status == 404)
        let after = try client.request("POST", "/v1/search?k=10", body: png)
        #expect(!((after.json["results"] as? [[String: Any]]) ?? []).contains { $0["id"] as? String == "sku-1" })

        // Stats and metrics reflect it.
        let stats = try client.request("GET", "/v1/stats")
        #expect(stats.json["images"] as? Int == 3 && stats.json["indexed"] as? Int == 3)
        let metrics = try client.request("GET", "/metrics")
        #expect(metrics.text.contains("lookalike_http_requests_total{route=\"/v1/images\",method=\"POST\",status=\"201\"}"))
        #expect(metrics.text.contains("lookalike_index_size 3"))
        // Every upload and search ran one forward pass, and each took measurable time.
        func metric(_ name: String) -> Double? {
            metrics.text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ")[1]) }
        }
        let passes = metric("lookalike_inference_batches_total") ?? 0
        #expect(passes >= 4 && passes == metric("lookalike_images_embedded_total"))
        #expect((metric("lookalike_inference_compute_seconds_total") ?? 0) > 0)
        // A database of its own: nothing to follow, no lag (the partition test shows it rising on a cut-off node).
        #expect(metric("lookalike_follow_lag_seconds") == 0)
        #expect(metric("lookalike_images_stored") == 3)
    }

    @Test func duplicatesAreReportedAndCanBeRejected() throws {
        let harness = try APITestHarness()
        let client = try harness.client()
        let original = try APITestHarness.jpeg(seed: 10)
        #expect(try client.request("POST", "/v1/images?id=first", body: original).status == 201)
        // A re-encoded copy at another quality is a near-duplicate.
        let copy = try JPEGEncoder.encode(try ImageDecoder().decode(original).image, quality: 55)
        let second = try client.request("POST", "/v1/images?id=second", body: copy)
        #expect(second.status == 201)
        let duplicates = (second.json["duplicates"] as? [[String: Any]]) ?? []
        #expect(duplicates.first?["id"] as? String == "first", "\(second.text)")
        let rejected = try client.request("POST", "/v1/images?id=third&on_duplicate=reject", body: copy)
        #expect(rejected.status == 409)
        #expect(rejected.headers["content-type"] == "application/problem+json")
        #expect(try client.request("GET", "/v1/images/third").status == 404)
    }

    @Test func openAPIListsExactlyTheServedRoutes() throws {
        let harness = try APITestHarness()
        let response = try harness.client().request("GET", "/openapi.json")
        let paths = try #require(response.json["paths"] as? [String: [String: Any]])
        var documented: Set<String> = []
        for (path, operations) in paths {
            for method in operations.keys { documented.insert("\(method.uppercased()) \(path)") }
        }
        let served = Set(LookalikeAPI.servedRoutes.map { "\($0.method) \($0.pattern)" })
        #expect(documented == served)
    }

    /// The document declares bearer security (and its 401) on exactly the routes that need a key as configured.
    @Test(arguments: [(false, false), (true, false), (true, true)])
    func theDocumentDeclaresTheSecurityInForce(keys: Bool, protectReads: Bool) throws {
        let harness = try APITestHarness(configure: {
            if keys { $0.server.apiKeys = ["0123456789abcdef-secret"] }
            $0.server.protectReads = protectReads
        })
        let paths = try #require(try harness.client().request("GET", "/openapi.json").json["paths"] as? [String: [String: Any]])
        var checked = 0
        for (path, operations) in paths {
            for (method, value) in operations {
                let operation = try #require(value as? [String: Any])
                let secured = operation["security"] != nil
                let documents401 = (operation["responses"] as? [String: Any])?["401"] != nil
                let open = ["/healthz", "/readyz", "/openapi.json", "/", "/ui/{asset}"].contains(path)
                // Searching by a posted image, vector or examples is a read.
                let write = method != "get" && !["/search", "/search/vector", "/recommend"].contains { path.hasSuffix($0) }
                let expected = keys && !open && (write || protectReads)
                #expect(secured == expected && documents401 == expected, "\(method) \(path): keys \(keys), protectReads \(protectReads)")
                checked += 1
            }
        }
        #expect(checked > 30)
    }

    @Test func bearerTokensProtectWrites() throws {
        let key = "0123456789abcdef-secret"
        let harness = try APITestHarness(configure: { $0.server.apiKeys = [key] })
        let client = try harness.client()
        let image = try APITestHarness.jpeg(seed: 20)
        #expect(try client.request("POST", "/v1/images?id=x", body: image).status == 401)
        #expect(try client.request("POST", "/v1/images?id=x", headers: [("Authorization", "Bearer wrong-key-0123456789")], body: image).status == 401)
        #expect(try client.request("POST", "/v1/images?id=x", headers: [("Authorization", "Bearer \(key)")], body: image).status == 201)
        #expect(try client.request("GET", "/v1/images/x").status == 200)  // reads stay open
        #expect(try client.request("DELETE", "/v1/images/x").status == 401)
    }
}

@Suite(.serialized)
struct CodeSchemeSwitchTests {
    func configuration(_ configure: (inout Configuration) -> Void) -> Configuration {
        var configuration = Configuration()
        configure(&configuration)
        return configuration
    }

    /// With `hashing.scheme = itq`, codes start as random hyperplanes and switch to ITQ once enough images are
    /// stored: every stored code then carries the new scheme id, search still finds each image, and a restart
    /// keeps the learned scheme.
    @Test func itqReplacesRandomHyperplanesOnceEnoughImagesAreStored() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("itq-\(UUID().uuidString)")
        let configure: (inout Configuration) -> Void = {
            $0.hashing.scheme = .itq
            $0.hashing.bits = 64
            $0.hashing.itqMinimumImages = 64
            $0.index.exactThreshold = 20  // so 70 images get a forest, saved at shutdown
            $0.storage.databasePath = directory.appendingPathComponent("db.sqlite").path
        }
        let harness = try APITestHarness(configure: configure)
        #expect(try harness.service.codeScheme().kind == "simhash")
        let parts = (0..<70).map { ("image", "img-\($0).png", APITestHarness.png(seed: UInt64(200 + $0))) }
        let form = HTTPTestClient.multipart(parts.map { (name: $0.0, filename: Optional($0.1), body: $0.2) })
        let response = try harness.client(timeout: 300).request("POST", "/v1/images/batch", headers: [("Content-Type", form.contentType)], body: form.body)
        #expect(response.json["stored"] as? Int == 70, "\(response.text.prefix(300))")
        harness.service.waitForRetraining()
        let scheme = try harness.service.codeScheme()
        #expect(scheme.kind == "itq")
        var codes = 0
        try ImageStore(path: configuration(configure).storage.databasePath).forEachCode { _, code in
            #expect(code.schemeID == scheme.id && code.bits == 64)
            codes += 1
        }
        #expect(codes == 70)
        // Still searchable through the forest/Hamming paths, and the learned scheme survives a restart.
        let hit = try harness.client().request("POST", "/v1/search?k=1", body: APITestHarness.png(seed: 205))
        #expect((hit.json["results"] as? [[String: Any]])?.first?["id"] as? String == "img-5.png")
        harness.service.shutdown()
        var configuration = Configuration()
        configure(&configuration)
        let reopened = try LookalikeService(configuration: configuration, model: APITestHarness.model)
        defer { reopened.shutdown() }
        #expect(try reopened.codeScheme().kind == "itq" && reopened.codeScheme().id == scheme.id)
        // The forest comes back from its snapshot instead of being rebuilt, and still answers.
        try reopened.loadIndex()
        #expect(reopened.indexLoad() == .restored(kept: 70, inserted: 0, dropped: 0))
        let vector = try reopened.vector(key: "img-5.png")
        let again = try reopened.search(vector: vector, options: .init(k: 1))
        #expect(again.first?.key == "img-5.png")
    }
}
