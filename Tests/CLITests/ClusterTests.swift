#if PostgreSQL
import Foundation
import Imaging
import Testing
import TestSupport

/// Several `lookalike serve` processes on one PostgreSQL database (started by `scripts/test`): what one node
/// stores, deletes or creates, the others serve within a second; nodes killed with SIGKILL during uploads to all
/// of them come back and converge with nothing acknowledged lost; a PostgreSQL restart costs 503s, not data.
@Suite(.serialized, .enabled(if: TestPostgres.isAvailable, "needs LOOKALIKE_TEST_POSTGRES_URL"))
struct ClusterTests {
    /// A set of nodes on one fresh database, each with a folder of its own for its forest snapshots.
    final class Cluster {
        let url: String
        let directory: URL
        var nodes: [ServerProcess] = []
        private var started = 0

        init(nodes count: Int, environment: [String: String] = [:]) throws {
            url = try TestPostgres.freshDatabase()
            directory = try CLIEndToEndTests.folder()
            for _ in 0..<count { nodes.append(try launch(environment: environment)) }
        }

        func launch(environment: [String: String] = [:]) throws -> ServerProcess {
            started += 1
            let node = ServerProcess(
                binary: CLIEndToEndTests.binary,
                arguments: ["--database-url", url, "--db", directory.appendingPathComponent("node\(started)/local.sqlite").path],
                logURL: directory.appendingPathComponent("node\(started).log"),
                environment: ["LOOKALIKE_MODEL": ModelLocator.path(), "LOOKALIKE_STORAGE_FOLLOW_INTERVAL_MILLISECONDS": "200"]
                    .merging(environment) { $1 })
            try node.start()
            return node
        }

        func client(_ node: Int) throws -> HTTPTestClient { try HTTPTestClient(port: nodes[node].port, timeout: 60) }

        func stop() {
            for node in nodes where node.process.isRunning { node.stop() }
            try? FileManager.default.removeItem(at: directory)
        }
    }

    static func image(seed: UInt64) throws -> [UInt8] {
        try JPEGEncoder.encode(TestImages.scene(seed: seed, width: 160, height: 120), quality: 85)
    }

    /// Polls `condition` until it holds or `timeout` passes; the seconds it took, nil on timeout.
    static func waitUntil(timeout: Double = 10, _ condition: () throws -> Bool) rethrows -> Double? {
        let start = Date()
        while Date().timeIntervalSince(start) < timeout {
            if try condition() { return Date().timeIntervalSince(start) }
            usleep(10_000)
        }
        return nil
    }

    @Test func writesAndCollectionsReachEveryNode() throws {
        let cluster = try Cluster(nodes: 3)
        defer { cluster.stop() }
        let clients = try (0..<3).map(cluster.client)
        // Upload on node 0: found by its bytes on nodes 1 and 2, with its metadata.
        let bytes = try Self.image(seed: 7)
        let put = try clients[0].request("PUT", "/v1/images/sku-7", body: bytes)
        #expect(put.status == 201, "\(put.text)")
        var lags: [Double] = []
        for node in 1...2 {
            let lag = try Self.waitUntil { try clients[node].request("GET", "/v1/images/sku-7/similar?k=1").status == 200 }
            #expect(lag != nil, "node \(node) never indexed sku-7")
            lags.append(lag ?? 99)
            let search = try clients[node].request("POST", "/v1/search?k=1", body: bytes)
            #expect((search.json["results"] as? [[String: Any]])?.first?["id"] as? String == "sku-7", "\(search.text)")
        }
        // Delete on node 1: gone from the index of nodes 0 and 2.
        #expect(try clients[1].request("DELETE", "/v1/images/sku-7").status == 204)
        for node in [0, 2] {
            let gone = try Self.waitUntil { try clients[node].request("GET", "/v1/images/sku-7/similar?k=1").status == 404 }
            #expect(gone != nil, "node \(node) still serves sku-7")
            let search = try clients[node].request("POST", "/v1/search?k=1", body: bytes)
            #expect((search.json["results"] as? [[String: Any]])?.isEmpty == true, "\(search.text)")
        }
        // A collection created on node 2 appears on 0 and 1; an upload into it on node 0 is found on node 2.
        #expect(try clients[2].request("POST", "/v1/collections", headers: [("Content-Type", "application/json")],
                                        body: Array(#"{"name": "shoes"}"#.utf8)).status == 201)
        for node in 0...1 {
            #expect(try Self.waitUntil { try clients[node].request("GET", "/v1/collections/shoes").status == 200 } != nil)
        }
        #expect(try clients[0].request("PUT", "/v1/collections/shoes/images/boot", body: try Self.image(seed: 8)).status == 201)
        #expect(try Self.waitUntil { try clients[2].request("GET", "/v1/collections/shoes/images/boot/similar").status == 200 } != nil)
        // Deleted on node 1: gone everywhere, and its name free again.
        #expect(try clients[1].request("DELETE", "/v1/collections/shoes").status == 204)
        for node in [0, 2] {
            #expect(try Self.waitUntil { try clients[node].request("GET", "/v1/collections/shoes").status == 404 } != nil)
        }
        for client in clients {
            let ready = try client.request("GET", "/readyz")
            #expect(ready.status == 200, "\(ready.text)")
        }
        print("cluster: upload on one node searchable on the others after \(lags.map { String(format: "%.3f", $0) }) s")
    }

    /// 10,000 images stored while one node runs: it catches up with them through the change sequence, and a node
    /// started afterwards streams them all from PostgreSQL. (The records are written by one SQL transaction,
    /// with unit vectors of random signs under the nodes' recipe: running the model 10,000 times is not what is
    /// tested; the store's own writes are, in the storage suite.)
    @Test func aNodeJoiningTenThousandImagesServesThemAll() throws {
        let cluster = try Cluster(nodes: 1)
        defer { cluster.stop() }
        let described = try cluster.client(0).request("GET", "/v1/collections/default").json
        let model = try #require(described["model"] as? String)
        let bits = try #require(described["code_bits"] as? Int)
        #expect(!model.contains("'"))
        let count = 10_000
        let writing = Date()
        // ±1/√1280 as little-endian float32; the correlated bound makes each row draw its own signs.
        try TestPostgres.execute("""
            DO $$
            DECLARE collection BIGINT; scheme BIGINT;
            BEGIN
                SELECT id, code_scheme_id INTO collection, scheme FROM collections WHERE name = 'default' FOR UPDATE;
                INSERT INTO images (collection_id, key, sha256, format, width, height, byte_size, metadata, created_at,
                                    updated_at, seq)
                SELECT collection, 'bulk-' || g, decode(md5(g::text) || md5((-g)::text), 'hex'), 'jpeg', 64, 64, 1000, '{}',
                       extract(epoch FROM now()), extract(epoch FROM now()), g
                FROM generate_series(1, \(count)) g;
                INSERT INTO vectors (image_id, model, dimension, data)
                SELECT i.id, '\(model)', 1280,
                       (SELECT string_agg(CASE WHEN random() < 0.5 THEN '\\x2ef9e43c'::bytea ELSE '\\x2ef9e4bc'::bytea END, ''::bytea)
                        FROM generate_series(1, 1280 + 0 * i.id))
                FROM images i WHERE i.collection_id = collection;
                INSERT INTO codes (image_id, scheme_id, bits, words)
                SELECT id, scheme, \(bits), decode(repeat(md5(id::text), \(bits / 128)), 'hex') FROM images WHERE collection_id = collection;
                INSERT INTO thumbnails (image_id, jpeg) SELECT id, '\\xffd8ffd9'::bytea FROM images WHERE collection_id = collection;
                UPDATE collections SET last_seq = \(count) WHERE id = collection;
                PERFORM pg_notify('lookalike_changes', collection::text);
            END $$
            """, url: cluster.url)
        let written = Date().timeIntervalSince(writing)
        let followed = try Self.waitUntil(timeout: 120) {
            try cluster.client(0).request("GET", "/v1/stats").json["indexed"] as? Int == count
        }
        #expect(followed != nil, "the running node caught up with \(count) changes")
        let joining = Date()
        cluster.nodes.append(try cluster.launch())
        let startup = Date().timeIntervalSince(joining)
        let stats = try cluster.client(1).request("GET", "/v1/stats").json
        #expect(stats["indexed"] as? Int == count && stats["images"] as? Int == count, "\(stats)")
        for client in [try cluster.client(0), try cluster.client(1)] {
            let similar = try client.request("GET", "/v1/images/bulk-77/similar?k=3")
            #expect(similar.status == 200 && (similar.json["results"] as? [[String: Any]])?.count == 3, "\(similar.text.prefix(200))")
        }
        print(String(format: "cluster join: %d images written in %.1f s; the running node indexed them %.1f s after the last write; "
                     + "a new node was ready in %.1f s", count, written, followed ?? -1, startup))
    }

    /// An ITQ collection filled through two nodes learns its scheme once: one node holds the claim and trains,
    /// the other adopts the stored result; both then answer a search alike.
    @Test func oneNodeLearnsTheCodeSchemeAndTheOthersAdoptIt() throws {
        let cluster = try Cluster(nodes: 0)
        defer { cluster.stop() }
        let environment = ["LOOKALIKE_HASHING_BITS": "64", "LOOKALIKE_HASHING_ITQ_MINIMUM_IMAGES": "64"]
        cluster.nodes = [try cluster.launch(environment: environment), try cluster.launch(environment: environment)]
        let clients = try (0..<2).map(cluster.client)
        let create = try clients[0].request("POST", "/v1/collections", headers: [("Content-Type", "application/json")],
                                            body: Array(#"{"name": "catalog", "code_scheme": "itq", "code_bits": 64}"#.utf8))
        #expect(create.status == 201, "\(create.text)")
        #expect(try Self.waitUntil { try clients[1].request("GET", "/v1/collections/catalog").status == 200 } != nil)
        for index in 0..<80 {
            let put = try clients[index % 2].request("PUT", "/v1/collections/catalog/images/p\(index)", body: try Self.image(seed: UInt64(900 + index)))
            #expect(put.status == 201, "\(put.text)")
        }
        let adopted = try Self.waitUntil(timeout: 60) {
            try clients.allSatisfy { try $0.request("GET", "/v1/collections/catalog").json["code_scheme"] as? String == "itq" }
        }
        #expect(adopted != nil, "both nodes use ITQ codes")
        #expect(try TestPostgres.integer("SELECT count(*) FROM hash_schemes WHERE kind = 'itq'", url: cluster.url) == 1)
        let query = try Self.image(seed: 905)
        let answers = try clients.map { try $0.request("POST", "/v1/collections/catalog/search?k=5", body: query).text }
        #expect(answers[0].contains("\"p5\"") && answers[0].replacingOccurrences(of: #""took_ms":[0-9.]+"#, with: "", options: .regularExpression)
                == answers[1].replacingOccurrences(of: #""took_ms":[0-9.]+"#, with: "", options: .regularExpression))
    }

    /// A recipe change started on one node: that node computes the vectors, every node switches, uploads to the
    /// other node meanwhile end on the new recipe too, and searches on both find each image at cosine 1 after.
    @Test func oneNodeReembedsAndEveryNodeSwitches() throws {
        let cluster = try Cluster(nodes: 2, environment: ["LOOKALIKE_STORAGE_KEEP_ORIGINALS": "true"])
        defer { cluster.stop() }
        let clients = try (0..<2).map(cluster.client)
        let wide = { (seed: UInt64) in try JPEGEncoder.encode(TestImages.scene(seed: seed, width: 300, height: 100), quality: 85) }
        for index in 0..<16 {
            let put = try clients[0].request("PUT", "/v1/images/w\(index)", body: try wide(UInt64(700 + index)))
            #expect(put.status == 201, "\(put.text)")
        }
        let patch = try clients[0].request("PATCH", "/v1/collections/default", headers: [("Content-Type", "application/json")],
                                           body: Array(#"{"recipe": {"crop": "squash", "feature_power": 0.5}}"#.utf8))
        #expect(patch.status == 202, "\(patch.text)")
        for index in 16..<20 {
            let put = try clients[1].request("PUT", "/v1/images/w\(index)", body: try wide(UInt64(700 + index)))
            #expect(put.status == 201, "\(put.text)")
        }
        let switched = try Self.waitUntil(timeout: 180) {
            try clients.allSatisfy { client in
                let model = try client.request("GET", "/v1/collections/default").json["model"] as? String ?? ""
                return model.contains("+squash+pow0.5")
            }
        }
        #expect(switched != nil, "both nodes on the new recipe")
        let swept = try Self.waitUntil(timeout: 60) {
            try TestPostgres.integer("SELECT count(*) FROM vectors WHERE model NOT LIKE '%+squash+pow0.5%'", url: cluster.url) == 0
        }
        #expect(swept != nil, "no vector of the old recipe left")
        for (node, client) in clients.enumerated() {
            for index in [3, 17] {
                let found = try client.request("POST", "/v1/search?k=1", body: try wide(UInt64(700 + index))).json
                let top = (found["results"] as? [[String: Any]])?.first
                #expect(top?["id"] as? String == "w\(index)" && (top?["score"] as? Double ?? 0) > 0.9999, "node \(node): \(found)")
            }
        }
    }

    /// A group dismissed on one node stays away on the other, and after both restart.
    @Test func aGroupDismissedOnOneNodeStaysAwayOnEveryNode() throws {
        let cluster = try Cluster(nodes: 2)
        defer { cluster.stop() }
        let clients = try (0..<2).map(cluster.client)
        let scene = TestImages.scene(seed: 83, width: 200, height: 150)
        #expect(try clients[0].request("PUT", "/v1/images/burst-1", body: try JPEGEncoder.encode(scene, quality: 92)).status == 201)
        #expect(try clients[0].request("PUT", "/v1/images/burst-2", body: try JPEGEncoder.encode(scene, quality: 55)).status == 201)
        let groups = { (client: HTTPTestClient) in try client.request("GET", "/v1/duplicates").json["groups"] as? [[String]] ?? [] }
        #expect(try Self.waitUntil { try groups(clients[1]) == [["burst-1", "burst-2"]] } != nil)
        let decision = try clients[1].request("POST", "/v1/duplicates/decisions", headers: [("Content-Type", "application/json")],
                                              body: Array(#"{"ids": ["burst-2", "burst-1"]}"#.utf8))
        #expect(decision.status == 201, "\(decision.text)")
        #expect(try groups(clients[0]).isEmpty && groups(clients[1]).isEmpty)
        for index in 0..<2 {
            cluster.nodes[index].stop()
            cluster.nodes[index] = try cluster.launch()
        }
        let restarted = try (0..<2).map(cluster.client)
        #expect(try groups(restarted[0]).isEmpty && groups(restarted[1]).isEmpty, "the decision survives restarts")
    }

    /// Uploads to every node while one node at a time is killed with SIGKILL and started again: every
    /// acknowledged upload ends up stored and indexed on every node, and the nodes agree on the count.
    @Test func killedNodesConvergeWithNothingAcknowledgedLost() throws {
        let cluster = try Cluster(nodes: 3)
        defer { cluster.stop() }
        let ledger = ServerCrashRecoveryTests.Ledger()
        var generator = SeededRandom(seed: 21)
        for round in 0..<5 {
            let victim = Int(generator.next() % 3)
            let ports = cluster.nodes.map(\.port)
            let pid = cluster.nodes[victim].process.processIdentifier
            let acknowledgedBefore = ledger.acknowledgedCount
            let killDelay = Double(generator.next() % 1500) / 1000
            let killer = Thread {
                let deadline = Date().addingTimeInterval(60)
                while ledger.acknowledgedCount < acknowledgedBefore + 3 && Date() < deadline { usleep(5_000) }
                usleep(UInt32(killDelay * 1e6))
                kill(pid, SIGKILL)
            }
            killer.start()
            // One client per node; the victim's client stops when its node dies, the others after it did.
            let victimDown = LockedFlag()
            _ = ThreadFanOut.run(count: 3) { node in
                var number = 0
                while true {
                    let seed = UInt64(100_000 * round + 1000 * node + number)
                    let key = "r\(round)-n\(node)-\(number)"
                    number += 1
                    if node != victim && victimDown.isSet && number > 2 { return 0 }
                    guard let bytes = try? Self.image(seed: seed),
                          let connection = try? HTTPTestClient(port: ports[node], timeout: 10) else {
                        if node == victim { victimDown.set() }
                        return 0
                    }
                    ledger.attempt(key, seed: seed)
                    guard let response = try? connection.request("PUT", "/v1/images/\(key)", body: bytes) else {
                        if node == victim { victimDown.set() }
                        return 0
                    }
                    if (200..<300).contains(response.status) { ledger.acknowledge(key, seed: seed) }
                }
            }
            cluster.nodes[victim].process.waitForExit(timeout: 30)
            #expect(!cluster.nodes[victim].process.isRunning)
            cluster.nodes[victim] = try cluster.launch()
        }
        let (acknowledged, _) = ledger.snapshot
        #expect(acknowledged.count >= 15)
        let clients = try (0..<3).map(cluster.client)
        // Every node converges on the same count, index = database.
        let converged = try Self.waitUntil(timeout: 30) {
            try clients.allSatisfy { client in
                let stats = try client.request("GET", "/v1/stats").json
                return stats["images"] as? Int == stats["indexed"] as? Int && stats["indexed"] as? Int ?? -1 >= acknowledged.count
            }
        }
        #expect(converged != nil)
        let counts = try clients.map { try $0.request("GET", "/v1/stats").json["indexed"] as? Int ?? -1 }
        #expect(Set(counts).count == 1, "nodes disagree: \(counts)")
        // Each acknowledged upload is in every node's index (similar answers only for indexed images).
        for key in acknowledged.keys.sorted() {
            for (node, client) in clients.enumerated() {
                let status = try client.request("GET", "/v1/images/\(key)/similar?k=1").status
                #expect(status == 200, "\(key) on node \(node): \(status)")
            }
        }
        print("cluster kill -9: 5 rounds, \(acknowledged.count) acknowledged, every node holds \(counts)")
    }

    /// A node paused (SIGSTOP) for longer than the tombstone retention: meanwhile another node deletes an image
    /// and compacts its tombstone, so the paused node cannot read that deletion as a change; resumed, it finds
    /// it by listing what is stored, and serves exactly what the database holds.
    @Test func aNodeAwayPastTheRetentionDropsWhatWasDeletedMeanwhile() throws {
        let cluster = try Cluster(nodes: 2, environment: ["LOOKALIKE_STORAGE_TOMBSTONE_RETENTION_SECONDS": "1"])
        defer { cluster.stop() }
        let clients = try (0..<2).map(cluster.client)
        for (seed, key) in ["a", "b", "c"].enumerated() {
            #expect(try clients[0].request("PUT", "/v1/images/\(key)", body: try Self.image(seed: UInt64(900 + seed))).status == 201)
        }
        #expect(try Self.waitUntil { try clients[1].request("GET", "/v1/stats").json["indexed"] as? Int == 3 } != nil)
        let paused = cluster.nodes[1].process.processIdentifier
        kill(paused, SIGSTOP)
        #expect(try clients[0].request("DELETE", "/v1/images/b").status == 204)
        let compacted = try Self.waitUntil(timeout: 20) {
            try TestPostgres.integer("SELECT compacted_through FROM collections WHERE name = 'default'", url: cluster.url) ?? 0 >= 4
        }
        #expect(compacted != nil, "node 0 never compacted the tombstone")
        #expect(try TestPostgres.integer("SELECT count(*) FROM tombstones", url: cluster.url) == 0)
        #expect(try clients[0].request("PUT", "/v1/images/d", body: try Self.image(seed: 950)).status == 201)
        kill(paused, SIGCONT)
        let converged = try Self.waitUntil(timeout: 20) {
            try clients[1].request("GET", "/v1/images/d/similar?k=1").status == 200
                && clients[1].request("GET", "/v1/images/b/similar?k=1").status == 404
        }
        #expect(converged != nil, "the resumed node still serves b or lacks d")
        let search = try clients[1].request("POST", "/v1/search?k=10&exact=true", body: try Self.image(seed: 901))
        let keys = (search.json["results"] as? [[String: Any]])?.compactMap { $0["id"] as? String }.sorted()
        #expect(keys == ["a", "c", "d"], "\(search.text.prefix(300))")
        #expect(try clients[1].request("GET", "/v1/stats").json["indexed"] as? Int == 3)
    }

    /// PostgreSQL restarted while every node takes uploads: writes during the outage get 503 with Retry-After
    /// (never a 500), searches for stored images are answered from memory, the nodes reconnect on their own,
    /// report ready again, and hold every acknowledged upload.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["LOOKALIKE_TEST_POSTGRES_DIR"] != nil, "needs LOOKALIKE_TEST_POSTGRES_DIR"))
    func aDatabaseRestartCostsRetriesNotData() throws {
        let cluster = try Cluster(nodes: 2)
        defer { cluster.stop() }
        let ledger = ServerCrashRecoveryTests.Ledger()
        let statuses = LockedStatuses()
        let ports = cluster.nodes.map(\.port)
        let stop = LockedFlag()
        let restarter = Thread {
            while ledger.acknowledgedCount < 4 { usleep(10_000) }
            let restart = Process()
            restart.executableURL = URL(fileURLWithPath: "/bin/bash")
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("scripts/postgres").path
            restart.arguments = [script, "restart", ProcessInfo.processInfo.environment["LOOKALIKE_TEST_POSTGRES_DIR"] ?? ""]
            try? restart.run()
            // Done when the server has been down and answers again (the script's own exit is not waited for:
            // the server it starts outlives it).
            let deadline = Date().addingTimeInterval(60)
            var wentDown = false
            while Date() < deadline {
                let answers = (try? TestPostgres.execute("SELECT 1", url: TestPostgres.serverURL ?? "")) != nil
                if !answers && !wentDown, let key = ledger.snapshot.acknowledged.keys.first {
                    let status = (try? HTTPTestClient(port: ports[0], timeout: 10).request("GET", "/v1/images/\(key)/similar?k=1"))?.status
                    let stillDown = (try? TestPostgres.execute("SELECT 1", url: TestPostgres.serverURL ?? "")) == nil
                    statuses.searchedDuringOutage(status ?? 0, databaseStillDown: stillDown)
                }
                if !answers { wentDown = true } else if wentDown { break }
                usleep(50_000)
            }
            statuses.restarted(wentDown && Date() < deadline ? 0 : 1)
            // Uploads go on for a while after the server is back.
            usleep(3_000_000)
            stop.set()
        }
        restarter.start()
        _ = ThreadFanOut.run(count: 2) { node in
            var number = 0
            while !stop.isSet {
                let seed = UInt64(500_000 + 1000 * node + number)
                let key = "pg-n\(node)-\(number)"
                number += 1
                guard let bytes = try? Self.image(seed: seed), let connection = try? HTTPTestClient(port: ports[node], timeout: 30),
                      let response = try? connection.request("PUT", "/v1/images/\(key)", body: bytes) else { continue }
                ledger.attempt(key, seed: seed)
                statuses.record(response.status, retryAfter: response.headers["retry-after"])
                if (200..<300).contains(response.status) { ledger.acknowledge(key, seed: seed) }
            }
            return 0
        }
        #expect(statuses.restartStatus == 0, "scripts/postgres restart failed")
        let seen = statuses.all
        #expect(seen.keys.allSatisfy { [201, 503].contains($0) }, "statuses during the restart: \(seen)")
        #expect(statuses.missingRetryAfter == 0)
        let search = statuses.outageSearch
        #expect(search?.status == 200, "a search during the outage: \(String(describing: search))")
        let clients = try (0..<2).map(cluster.client)
        #expect(try Self.waitUntil(timeout: 30) { try clients.allSatisfy { try $0.request("GET", "/readyz").status == 200 } } != nil)
        let (acknowledged, _) = ledger.snapshot
        #expect(try Self.waitUntil(timeout: 30) {
            try clients.allSatisfy { try $0.request("GET", "/v1/stats").json["indexed"] as? Int ?? -1 >= acknowledged.count }
        } != nil)
        for key in acknowledged.keys.sorted() {
            for client in clients { #expect(try client.request("GET", "/v1/images/\(key)/similar?k=1").status == 200, "\(key)") }
        }
        print("cluster PostgreSQL restart: statuses \(seen), \(acknowledged.count) acknowledged, all on both nodes;",
              "similar during the outage: \(search.map { "\($0.status)\($0.databaseStillDown ? " (database still down after it)" : "")" } ?? "none")")
    }
}

/// Response statuses seen by several client threads.
final class LockedStatuses: @unchecked Sendable {
    private let lock = NSLock()
    private var counts: [Int: Int] = [:]
    private var withoutRetryAfter = 0
    private var restartExit: Int32 = -1
    private var outage: (status: Int, databaseStillDown: Bool)?
    func record(_ status: Int, retryAfter: String?) {
        lock.withLock {
            counts[status, default: 0] += 1
            if status == 503 && retryAfter == nil { withoutRetryAfter += 1 }
        }
    }
    func restarted(_ status: Int32) { lock.withLock { restartExit = status } }
    var all: [Int: Int] { lock.withLock { counts } }
    var missingRetryAfter: Int { lock.withLock { withoutRetryAfter } }
    var restartStatus: Int32 { lock.withLock { restartExit } }
    func searchedDuringOutage(_ status: Int, databaseStillDown: Bool) { lock.withLock { outage = (status, databaseStillDown) } }
    var outageSearch: (status: Int, databaseStillDown: Bool)? { lock.withLock { outage } }
}
#endif
