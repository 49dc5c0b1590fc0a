import Foundation
import Imaging
import Testing
import TestSupport

/// 20 collections × 300 images against a release server: uploads, vector searches, uploads-as-query and `similar`
/// all at once across collections, while each collection builds its forest and trains its ITQ codes. Every
/// collection must end with exactly its own images, and no answer may ever contain another collection's.
///
/// A debug build embeds an image in about a second, so the test runs only when `scripts/test` points
/// `LOOKALIKE_RELEASE_BINARY` at a release build.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["LOOKALIKE_RELEASE_BINARY"] != nil,
                             "set LOOKALIKE_RELEASE_BINARY to a release build"))
struct CollectionLoadTests {
    static let binary = ProcessInfo.processInfo.environment["LOOKALIKE_RELEASE_BINARY"].map(URL.init(fileURLWithPath:))
    static let collections = 20
    static let perCollection = 300
    static let lanes = 8

    static func image(seed: UInt64) throws -> [UInt8] {
        try JPEGEncoder.encode(TestImages.scene(seed: seed, width: 160, height: 120), quality: 85)
    }

    static func ids(_ response: HTTPTestClient.Response, _ key: String = "results") -> [String] {
        (response.json[key] as? [[String: Any]])?.compactMap { $0["id"] as? String } ?? []
    }

    @Test func twentyCollectionsOfThreeHundredImagesUnderConcurrentLoad() throws {
        let binary = try #require(Self.binary)
        let directory = try CLIEndToEndTests.folder()
        defer { try? FileManager.default.removeItem(at: directory) }
        // Small thresholds so every collection builds a forest and retrains ITQ while the load goes on.
        let environment = [
            "LOOKALIKE_MODEL": ModelLocator.path(), "LOOKALIKE_INDEX_EXACT_THRESHOLD": "100",
            "LOOKALIKE_HASHING_BITS": "128", "LOOKALIKE_HASHING_ITQ_MINIMUM_IMAGES": "150",
        ]
        func server(_ name: String) -> ServerProcess {
            ServerProcess(binary: binary, arguments: ["--db", directory.appendingPathComponent("db.sqlite").path],
                          logURL: directory.appendingPathComponent("\(name).log"), environment: environment)
        }
        let first = server("first")
        try first.start()
        let setup = try HTTPTestClient(port: first.port)
        for index in 0..<Self.collections {
            let body = Array(#"{"name": "c\#(index)", "code_scheme": "itq", "code_bits": 128}"#.utf8)
            #expect(try setup.request("POST", "/v1/collections", body: body).status == 201)
        }

        let port = first.port
        let total = Self.collections * Self.perCollection
        let failures = ThreadFanOut.run(count: Self.lanes) { lane -> [String] in
            var problems: [String] = []
            do {
                let client = try HTTPTestClient(port: port, timeout: 300)
                for job in stride(from: lane, to: total, by: Self.lanes) {
                    let (collection, item) = (job % Self.collections, job / Self.collections)
                    let own = "c\(collection)", neighbour = "c\((collection + 1) % Self.collections)"
                    let image = try Self.image(seed: UInt64(50_000 + job))
                    let stored = try client.request("PUT", "/v1/collections/\(own)/images/\(own)-\(item)", body: image)
                    if stored.status != 201 { problems.append("upload \(job): \(stored.status) \(stored.text)") }

                    var random = SeededRandom(seed: UInt64(job))
                    let vector = random.floats(1280).map(Double.init)
                    let body = try JSONSerialization.data(withJSONObject: ["vector": vector, "k": 10])
                    let found = try client.request("POST", "/v1/collections/\(neighbour)/search/vector",
                                                   headers: [("Content-Type", "application/json")], body: Array(body))
                    if found.status != 200 || Self.ids(found).contains(where: { !$0.hasPrefix("\(neighbour)-") }) {
                        problems.append("vector search \(job): \(found.status) \(Self.ids(found))")
                    }
                    let similar = try client.request("GET", "/v1/collections/\(own)/images/\(own)-\(item)/similar?k=5")
                    if similar.status != 200 || Self.ids(similar).contains(where: { !$0.hasPrefix("\(own)-") }) {
                        problems.append("similar \(job): \(similar.status) \(Self.ids(similar))")
                    }
                    // One in ten uploads is also sent as a query (inference, not stored): it finds itself first.
                    if item % 10 == 0 {
                        let query = try client.request("POST", "/v1/collections/\(own)/search?k=3", body: image)
                        let hits = Self.ids(query)
                        if query.status != 200 || hits.first != "\(own)-\(item)" || hits.contains(where: { !$0.hasPrefix("\(own)-") }) {
                            problems.append("search \(job): \(query.status) \(hits)")
                        }
                    }
                }
            } catch {
                problems.append("lane \(lane): \(error)")
            }
            return problems
        }
        let problems = failures.flatMap { $0 }
        #expect(problems.isEmpty, "\(problems.count) problems, first: \(problems.prefix(5))")

        func checkEveryCollection(_ client: HTTPTestClient) throws {
            let listed = try client.request("GET", "/v1/collections")
            let summaries = (listed.json["collections"] as? [[String: Any]]) ?? []
            #expect(summaries.count == Self.collections + 1)
            for index in 0..<Self.collections {
                let name = "c\(index)"
                let summary = summaries.first { $0["name"] as? String == name }
                #expect(summary?["images"] as? Int == Self.perCollection, "\(name): \(summary ?? [:])")
                #expect(summary?["index_state"] as? String == "forest" && summary?["code_scheme"] as? String == "itq",
                        "\(name): \(summary ?? [:])")
                // Paged listing: exactly this collection's ids, each once.
                var seen: [String] = [], after: String?
                repeat {
                    let page = try client.request("GET", "/v1/collections/\(name)/images?limit=64" + (after.map { "&after=\($0)" } ?? ""))
                    seen += Self.ids(page, "images")
                    after = page.json["next"] as? String
                } while after != nil
                #expect(seen == (0..<Self.perCollection).map { "\(name)-\($0)" }.sorted(), "\(name): \(seen.count) ids")
                let groups = try client.request("GET", "/v1/collections/\(name)/duplicates?threshold=0.9")
                let members = (groups.json["groups"] as? [[String]] ?? []).flatMap { $0 }
                #expect(groups.status == 200 && members.allSatisfy { $0.hasPrefix("\(name)-") })
            }
        }
        try checkEveryCollection(try HTTPTestClient(port: port))  // `setup` has idled past the server's keep-alive
        first.stop()

        // After an orderly restart every collection comes back whole, with its forest and codes.
        let second = server("second")
        try second.start()
        defer { second.stop() }
        let client = try HTTPTestClient(port: second.port)
        try checkEveryCollection(client)
        for index in stride(from: 0, to: Self.collections, by: 5) {
            let job = index + 7 * Self.collections
            let query = try client.request("POST", "/v1/collections/c\(index)/search?k=1", body: try Self.image(seed: UInt64(50_000 + job)))
            #expect(Self.ids(query) == ["c\(index)-7"])
        }
    }
}
