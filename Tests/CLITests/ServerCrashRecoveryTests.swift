import Foundation
import Imaging
import Testing
import TestSupport

/// The server is SIGKILLed at random moments while several clients upload; after each restart every acknowledged
/// upload must be stored and found first by a search with its own bytes, nothing unacknowledged may be half there,
/// and the index and the database must hold the same images. Both index kinds: the forest in the default
/// collection, and a graph-kind collection whose graph (built past a low exact threshold) and its snapshot are
/// left behind by each kill, stale, and restored or rebuilt at the next start.
@Suite(.serialized) struct ServerCrashRecoveryTests {
    /// `scripts/crash-test` runs more rounds against the release binary through these variables.
    static let rounds = Int(ProcessInfo.processInfo.environment["LOOKALIKE_CRASH_ROUNDS"] ?? "") ?? 6
    static let binary = ProcessInfo.processInfo.environment["LOOKALIKE_CRASH_BINARY"].map(URL.init(fileURLWithPath:))
        ?? CLIEndToEndTests.binary
    static let clients = 3

    /// Acknowledged and attempted uploads, shared by the client threads.
    final class Ledger: @unchecked Sendable {
        private let lock = NSLock()
        private var acknowledged: [String: UInt64] = [:]
        private var attempted: [String: UInt64] = [:]
        func attempt(_ key: String, seed: UInt64) { lock.withLock { attempted[key] = seed } }
        func acknowledge(_ key: String, seed: UInt64) { lock.withLock { acknowledged[key] = seed } }
        var acknowledgedCount: Int { lock.withLock { acknowledged.count } }
        var snapshot: (acknowledged: [String: UInt64], attempted: [String: UInt64]) { lock.withLock { (acknowledged, attempted) } }
    }

    static func image(seed: UInt64) throws -> [UInt8] {
        try JPEGEncoder.encode(TestImages.scene(seed: seed, width: 160, height: 120), quality: 85)
    }

    @Test(arguments: ["forest", "graph"]) func acknowledgedUploadsSurviveKill9(kind: String) throws {
        let directory = try CLIEndToEndTests.folder()
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("db.sqlite").path
        func server(_ name: String) -> ServerProcess {
            ServerProcess(binary: Self.binary, arguments: ["--db", database],
                          logURL: directory.appendingPathComponent("\(name).log"),
                          environment: ["LOOKALIKE_MODEL": ModelLocator.path(), "LOOKALIKE_INDEX_EXACT_THRESHOLD": "4"])
        }
        let collection = kind == "forest" ? "/v1" : "/v1/collections/crash"
        let ledger = Ledger()
        var generator = SeededRandom(seed: 2026)
        var crashStartups: [Double] = []
        for round in 0..<Self.rounds {
            let running = server("round\(round)")
            try running.start()
            crashStartups.append(running.secondsToReady)
            let port = running.port
            if round == 0 && kind != "forest" {
                let body = Array(#"{"name": "crash", "index": {"kind": "\#(kind)"}}"#.utf8)
                #expect(try HTTPTestClient(port: port, timeout: 10).request("POST", "/v1/collections", body: body).status == 201)
            }
            // Killed at a random moment after the round's first acknowledgement, so every round has some (a debug
            // build embeds an image in about a second, a release build in tens of milliseconds).
            let killDelay = Double(generator.next() % 2000) / 1000
            let pid = running.process.processIdentifier
            let acknowledgedBefore = ledger.acknowledgedCount
            let killer = Thread {
                let deadline = Date().addingTimeInterval(120)
                while ledger.acknowledgedCount == acknowledgedBefore && Date() < deadline { usleep(5_000) }
                usleep(UInt32(killDelay * 1e6))
                kill(pid, SIGKILL)
            }
            killer.start()
            _ = ThreadFanOut.run(count: Self.clients) { client in
                var number = 0
                while true {
                    let seed = UInt64(100_000 * round + 1000 * client + number)
                    let key = "r\(round)-c\(client)-\(number)"
                    number += 1
                    guard let bytes = try? Self.image(seed: seed),
                          let connection = try? HTTPTestClient(port: port, timeout: 10) else { return 0 }
                    ledger.attempt(key, seed: seed)
                    guard let response = try? connection.request("PUT", "\(collection)/images/\(key)", body: bytes) else { return 0 }
                    if (200..<300).contains(response.status) { ledger.acknowledge(key, seed: seed) }
                }
            }
            running.process.waitForExit(timeout: 30)
            #expect(!running.process.isRunning)
        }

        // A clean start and stop, then a start after that clean stop, for the start-up comparison.
        let final = server("final")
        try final.start()
        let afterCrash = final.secondsToReady
        let (acknowledged, attempted) = ledger.snapshot
        #expect(acknowledged.count >= Self.rounds, "uploads were acknowledged between the kills")
        let client = try HTTPTestClient(port: final.port, timeout: 60)
        if kind != "forest" {
            // Searches below go through the graph (restored from the stale snapshot, or rebuilt), not the exact
            // scan a collection answers with while its graph is being built.
            var state = ""
            for _ in 0..<600 where state != kind {
                state = try client.request("GET", "/v1/collections/crash").json["index_state"] as? String ?? ""
                if state != kind { usleep(100_000) }
            }
            #expect(state == kind, "the \(kind) index is in use after the crashes")
        }
        let stats = try client.request("GET", "\(collection)/stats").json
        let images = stats["images"] as? Int ?? -1
        #expect(images == stats["indexed"] as? Int, "index and database agree: \(stats)")

        // Every acknowledged upload is there and finds itself first.
        for (key, seed) in acknowledged.sorted(by: { $0.key < $1.key }) {
            let search = try client.request("POST", "\(collection)/search?k=1", body: try Self.image(seed: seed))
            let top = (search.json["results"] as? [[String: Any]])?.first?["id"] as? String
            #expect(top == key, "\(key) after the crashes: \(search.text.prefix(200))")
        }
        // Whatever is stored was attempted, and is whole: its record, thumbnail and vector are all usable.
        var listed: [String] = []
        var after = ""
        while true {
            let page = try client.request("GET", "\(collection)/images?limit=200" + (after.isEmpty ? "" : "&after=\(after)")).json
            let items = (page["images"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            listed += items
            guard let next = page["next"] as? String, !items.isEmpty else { break }
            after = next.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? next
        }
        #expect(listed.count == images)
        for key in listed where acknowledged[key] == nil {
            let seed = try #require(attempted[key], "\(key) is stored but was never sent")
            #expect(try client.request("GET", "\(collection)/images/\(key)/thumbnail").status == 200)
            let search = try client.request("POST", "\(collection)/search?k=1", body: try Self.image(seed: seed))
            #expect((search.json["results"] as? [[String: Any]])?.first?["id"] as? String == key, "unacknowledged \(key) is whole")
        }
        final.stop()
        let clean = server("clean")
        try clean.start()
        let afterCleanStop = clean.secondsToReady
        clean.stop()
        print("crash recovery (\(kind)): \(Self.rounds) kills, \(acknowledged.count) acknowledged of \(attempted.count) attempted, "
              + "\(images) stored; start-up after kill -9 \(String(format: "%.2f", afterCrash)) s, after a clean stop "
              + "\(String(format: "%.2f", afterCleanStop)) s; per round \(crashStartups.map { String(format: "%.2f", $0) })")
        // Generous bound: recovery is SQLite's WAL replay plus the same index load, never a rebuild of the data.
        #expect(afterCrash < afterCleanStop * 3 + 2)
    }
}
