import Foundation
import Imaging
import Lookalike
import LookalikeAPI
import Storage
import Testing
import TestSupport

/// Online backup while uploads go on, and a database that cannot grow.
@Suite(.serialized)
struct BackupAndFullDiskTests {
    static func image(_ seed: Int) throws -> [UInt8] {
        try JPEGEncoder.encode(TestImages.scene(seed: UInt64(seed), width: 160, height: 120), quality: 85)
    }

    /// The copy passes `integrity_check`, holds every upload acknowledged before the backup began and only whole
    /// uploads, and a service started on it finds each of them by its own image.
    @Test func aBackupTakenDuringUploadsHoldsEveryEarlierUpload() throws {
        let admin = "admin-0123456789abcdef"
        let harness = try APITestHarness(configure: { $0.server.apiKeys = [admin] })
        let auth = [("Authorization", "Bearer \(admin)")]
        let client = try harness.client()
        let before = 12
        for item in 0..<before {
            #expect(try client.request("PUT", "/v1/images/before-\(item)", headers: auth, body: try Self.image(1000 + item)).status == 201)
        }
        // Two uploaders keep going while the backup runs.
        let backupDone = LockedFlag()
        let port = harness.port
        let uploaded = ThreadFanOut.run(count: 3) { lane -> [String] in
            if lane == 2 {
                defer { backupDone.set() }
                do {
                    let response = try HTTPTestClient(port: port, timeout: 120).request("POST", "/v1/backups", headers: auth)
                    return response.status == 201 ? ["backup:" + (response.json["path"] as? String ?? "")] : ["failed:\(response.status)"]
                } catch { return ["failed:\(error)"] }
            }
            var stored: [String] = []
            do {
                let client = try HTTPTestClient(port: port, timeout: 120)
                var item = 0
                while !backupDone.isSet || item < 3 {
                    let key = "during-\(lane)-\(item)"
                    if try client.request("PUT", "/v1/images/\(key)", headers: auth, body: try Self.image(2000 + lane * 100 + item)).status == 201 {
                        stored.append(key)
                    }
                    item += 1
                }
            } catch { stored.append("failed:\(error)") }
            return stored
        }
        let outcome = try #require(uploaded[2].first)
        #expect(outcome.hasPrefix("backup:"), "\(outcome)")
        let copy = String(outcome.dropFirst("backup:".count))
        let during = Set(uploaded[0] + uploaded[1])
        #expect(!during.contains { $0.hasPrefix("failed") })
        #expect(copy.hasPrefix(harness.directory.appendingPathComponent("backups").path))

        #expect(try ImageStore(path: copy).integrityCheck() == "ok")
        var configuration = Configuration()
        configuration.storage.databasePath = copy
        configuration.model.workers = 1
        let restored = try LookalikeService(configuration: configuration, model: APITestHarness.model)
        defer { restored.shutdown() }
        _ = try restored.loadIndex()
        let keys = Set(try restored.list(limit: 1000, after: nil).map(\.key))
        let earlier = Set((0..<before).map { "before-\($0)" })
        #expect(earlier.isSubset(of: keys))
        #expect(keys.subtracting(earlier).isSubset(of: during), "the copy holds only acknowledged uploads")
        for item in 0..<before {
            let best = try restored.search(bytes: try Self.image(1000 + item), options: SearchOptions(k: 1)).first
            #expect(best?.key == "before-\(item)" && (best?.score ?? 0) > 0.999)
        }
        // The copy is a stand-alone file.
        let walBytes = try? FileManager.default.attributesOfItem(atPath: copy + "-wal")[.size] as? Int
        #expect((walBytes ?? 0) == 0)
        // Backups need an admin key.
        #expect(try client.request("POST", "/v1/backups").status == 401)
    }

    /// At the size limit uploads get 507 and store nothing; searches, reads and deletes go on; the file stays
    /// intact; once space is freed uploads succeed again.
    @Test func aFullDatabaseRefusesUploadsWith507AndKeepsServing() throws {
        let harness = try APITestHarness(configure: {
            $0.storage.maxDatabaseBytes = 4 << 20
            $0.storage.keepOriginals = true  // fills the file sooner
        })
        let client = try harness.client()
        var stored: [Int] = []
        var refused: (item: Int, response: HTTPTestClient.Response)? = nil
        // Large, noisy originals fill the file in fewer uploads.
        func original(_ seed: Int) throws -> [UInt8] {
            try JPEGEncoder.encode(TestImages.scene(seed: UInt64(seed), width: 640, height: 480), quality: 98)
        }
        for item in 0..<400 {
            let response = try client.request("PUT", "/v1/images/img-\(item)", body: try original(3000 + item))
            if response.status == 201 { stored.append(item); continue }
            refused = (item, response)
            break
        }
        let (full, response) = try #require(refused, "4 MiB never filled")
        #expect(response.status == 507 && response.json["detail"] as? String != nil, "\(response.status) \(response.text)")
        #expect(response.headers["content-type"] == "application/problem+json")
        #expect(stored.count >= 5)

        // Nothing half-stored; search, reads and the index agree with the file.
        #expect(try client.request("GET", "/v1/images/img-\(full)").status == 404)
        let stats = try harness.service.statistics()
        #expect(stats.images == stored.count && stats.indexed == stored.count)
        #expect(try harness.service.integrityCheck() == "ok")
        let search = try client.request("POST", "/v1/search?k=1", body: try original(3000 + stored[0]))
        #expect(search.status == 200 && ((search.json["results"] as? [[String: Any]])?.first?["id"] as? String) == "img-\(stored[0])")
        #expect(try client.request("GET", "/v1/images/img-\(stored[1])").status == 200)
        #expect(try client.request("PUT", "/v1/images/img-again", body: try original(3000 + full)).status == 507)

        // Deleting frees pages; the refused upload then succeeds.
        for item in stored.prefix(6) { #expect(try client.request("DELETE", "/v1/images/img-\(item)").status == 204) }
        #expect(try client.request("PUT", "/v1/images/img-\(full)", body: try original(3000 + full)).status == 201)
        #expect(try harness.service.statistics().images == stored.count - 6 + 1)
        #expect(try harness.service.integrityCheck() == "ok")
    }
}
