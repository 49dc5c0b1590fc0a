import Foundation
import Imaging
import Storage
import Testing
import TestSupport

/// A release server killed with SIGKILL twice while it re-embeds a collection: each restart resumes from the vectors
/// computed before the kill, the change ends on the new recipe with every image, and the uploads acknowledged between
/// the kills are there with vectors of the new recipe.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["LOOKALIKE_RELEASE_BINARY"] != nil,
                             "set LOOKALIKE_RELEASE_BINARY to a release build"))
struct RecipeChangeKillTests {
    static let binary = ProcessInfo.processInfo.environment["LOOKALIKE_RELEASE_BINARY"].map(URL.init(fileURLWithPath:))

    @Test func aChangeKilledTwiceResumesAndEndsOnTheNewRecipe() throws {
        let binary = try #require(Self.binary)
        let directory = try CLIEndToEndTests.folder()
        defer { try? FileManager.default.removeItem(at: directory) }
        let db = directory.appendingPathComponent("db.sqlite").path
        let environment = ["LOOKALIKE_MODEL": ModelLocator.path(), "LOOKALIKE_STORAGE_KEEP_ORIGINALS": "true"]
        func server(_ name: String) -> ServerProcess {
            ServerProcess(binary: binary, arguments: ["--db", db], logURL: directory.appendingPathComponent("\(name).log"),
                          environment: environment)
        }
        let image = { (seed: Int) in try JPEGEncoder.encode(TestImages.scene(seed: UInt64(50_000 + seed), width: 240, height: 120), quality: 85) }
        var running = server("first")
        try running.start()
        var client = try HTTPTestClient(port: running.port, timeout: 60)
        for index in 0..<600 {
            #expect(try client.request("PUT", "/v1/images/i\(index)", body: try image(index)).status == 201)
        }
        let patch = try client.request("PATCH", "/v1/collections/default", headers: [("Content-Type", "application/json")],
                                       body: Array(#"{"recipe": {"crop": "squash", "feature_power": 0.7}}"#.utf8))
        #expect(patch.status == 202, "\(patch.text)")
        func change() throws -> [String: Any] {
            try client.request("GET", "/v1/collections/default").json["recipe_change"] as? [String: Any] ?? [:]
        }
        var uploads = 600
        for (round, threshold) in [150, 350].enumerated() {
            let deadline = Date().addingTimeInterval(300)
            while (try change()["done"] as? Int ?? 0) < threshold && Date() < deadline {
                // Uploads meanwhile: acknowledged ones must be there at the end, on the new recipe.
                #expect(try client.request("PUT", "/v1/images/i\(uploads)", body: try image(uploads)).status == 201)
                uploads += 1
            }
            running.kill()
            running = server("restart\(round)")
            try running.start()
            client = try HTTPTestClient(port: running.port, timeout: 60)
            // The work starts once the index is loaded and reports after its first listing.
            var resumed = try change()
            let listed = Date().addingTimeInterval(60)
            while (resumed["total"] as? Int ?? 0) == 0 && resumed["state"] as? String != "done" && Date() < listed {
                usleep(20_000)
                resumed = try change()
            }
            #expect(["running", "switching", "done"].contains(resumed["state"] as? String ?? ""), "\(resumed)")
            #expect((resumed["resumed"] as? Int ?? 0) >= threshold || resumed["state"] as? String == "done",
                    "vectors computed before the kill are kept: \(resumed)")
        }
        let deadline = Date().addingTimeInterval(600)
        var final = try change()
        while final["state"] as? String != "done" && Date() < deadline {
            usleep(100_000)
            final = try change()
        }
        #expect(final["state"] as? String == "done", "\(final)")
        let collection = try client.request("GET", "/v1/collections/default").json
        #expect(collection["images"] as? Int == uploads)
        #expect((collection["model"] as? String ?? "").contains("+squash+pow0.7"), "\(collection)")
        running.stop()

        let store = try ImageStore(path: db)
        let stored = try #require(try store.collection(named: "default"))
        let records = try store.list(collection: stored.id, limit: 10_000, after: nil)
        #expect(records.count == uploads)
        let models = try Set(records.map { try store.vector(id: $0.id)?.model ?? "none" })
        #expect(models.count == 1 && models.first?.contains("+squash+pow0.7") == true, "\(models)")
    }
}
