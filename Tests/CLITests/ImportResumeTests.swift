import Foundation
import Imaging
import Testing
import TestSupport

/// A 2,000-item manifest (good URLs, slow and flaky ones, paths under the import root, near-duplicates, failing
/// URLs, files that are not images, oversized and mistyped bodies) imported by a release server that is killed
/// with SIGKILL twice in the middle and restarted: every item ends with the outcome its source deserves, the
/// collection holds exactly the stored ones with the origin's bytes, and nothing is stored twice (the
/// collection's change sequence counts one change per stored image).
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["LOOKALIKE_RELEASE_BINARY"] != nil,
                             "set LOOKALIKE_RELEASE_BINARY to a release build"))
struct ImportResumeTests {
    static let binary = ProcessInfo.processInfo.environment["LOOKALIKE_RELEASE_BINARY"].map(URL.init(fileURLWithPath:))

    /// One manifest line and the outcome it must end with.
    struct Line {
        let json: String
        let expected: String
        let key: String
    }

    static func manifest(origin: TestOrigin) -> [Line] {
        var lines: [Line] = []
        func add(_ key: String, _ source: String, _ expected: String) {
            lines.append(Line(json: #"{"id": "\#(key)", \#(source), "metadata": {"n": \#(lines.count)}}"#, expected: expected, key: key))
        }
        for index in 0..<1_350 {
            if index % 9 == 7 {
                add("disk-\(index)", #""path": "disk/img\#(index).jpg""#, "stored")
            } else {
                let path = index % 9 == 3 ? "/slow/0.2/img\(index).jpg" : index % 9 == 5 ? "/flaky/1/img\(index).jpg" : "/files/img\(index).jpg"
                add("url-\(index)", #""url": "\#(origin.url(path))""#, "stored")
            }
            // Failures and refusals spread through the manifest, so every stretch between kills has some.
            if index % 9 == 0 { add("broken-\(index)", #""url": "\#(origin.url(index % 2 == 0 ? "/status/500" : "/status/404"))""#, "refused") }
            if index % 27 == 1 { add("notes-\(index)", #""url": "\#(origin.url("/files/notes.jpg"))""#, "refused") }
            if index % 27 == 2 { add("huge-\(index)", #""url": "\#(origin.url("/large/3000000"))""#, "refused") }
            if index % 27 == 4 { add("page-\(index)", #""url": "\#(origin.url("/typed/text~html/img\(index).jpg"))""#, "refused") }
        }
        // Copies of images stored early in the manifest, each under an id of its own: near-duplicates, skipped.
        var copy = 0
        while lines.count < 2_000 {
            add("copy-\(copy)", #""url": "\#(origin.url("/files/img\(copy * 3).jpg"))""#, "duplicate")
            copy += 1
        }
        return lines
    }

    @Test func twoThousandItemsThroughTwoKillsEachOnceWithTheRightOutcome() throws {
        let binary = try #require(Self.binary)
        let directory = try CLIEndToEndTests.folder()
        defer { try? FileManager.default.removeItem(at: directory) }
        let root = directory.appendingPathComponent("root")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("disk"), withIntermediateDirectories: true)
        var files: [String] = []
        for index in 0..<1_350 {
            let bytes = try JPEGEncoder.encode(TestImages.scene(seed: UInt64(70_000 + index), width: 128, height: 96), quality: 85)
            let file = (index % 9 == 7 ? root.appendingPathComponent("disk") : root).appendingPathComponent("img\(index).jpg")
            try Data(bytes).write(to: file)
            files.append(file.path)
        }
        // The files' digests by an independent implementation, under the ids they are imported as.
        var digests: [String: String] = [:]
        for line in try ExternalTool("sha256sum", package: "coreutils").run(files).split(separator: "\n") {
            let fields = line.split(separator: " ", maxSplits: 1)
            let name = String(fields[1].trimmingCharacters(in: .whitespaces))
            let index = (name as NSString).lastPathComponent.dropFirst(3).dropLast(4)
            digests[(name.contains("/disk/") ? "disk-" : "url-") + index] = String(fields[0])
        }
        try Data("plain text, no pixels".utf8).write(to: root.appendingPathComponent("notes.jpg"))
        let origin = try TestOrigin(folder: root)
        let lines = Self.manifest(origin: origin)
        #expect(lines.count == 2_000)

        let environment = [
            "LOOKALIKE_MODEL": ModelLocator.path(), "LOOKALIKE_IMPORTS_ROOT": root.path,
            "LOOKALIKE_IMPORTS_RETRY_DELAY_SECONDS": "0.05", "LOOKALIKE_IMPORTS_MAX_ATTEMPTS": "3",
            "LOOKALIKE_IMPORTS_MAX_ITEM_BYTES": "1048576", "LOOKALIKE_IMPORTS_TIMEOUT_SECONDS": "10",
            // The synthetic scenes resemble each other up to a cosine of about 0.95; the copies are the same bytes.
            "LOOKALIKE_DUPLICATES_MIN_COSINE": "0.99",
        ]
        func server(_ name: String) -> ServerProcess {
            ServerProcess(binary: binary, arguments: ["--db", directory.appendingPathComponent("db.sqlite").path],
                          logURL: directory.appendingPathComponent("\(name).log"), environment: environment)
        }
        var running = server("first")
        try running.start()
        var client = try HTTPTestClient(port: running.port, timeout: 60)
        #expect(try client.request("POST", "/v1/collections", body: Array(#"{"name": "catalog"}"#.utf8)).status == 201)
        let created = try client.request(
            "POST", "/v1/collections/catalog/imports?concurrency=4&on_duplicate=skip",
            headers: [("Content-Type", "application/x-ndjson")], body: Array(lines.map(\.json).joined(separator: "\n").utf8))
        #expect(created.status == 202, "\(created.text)")
        let job = try #require(created.json["id"] as? String)
        let location = try #require(created.headers["location"])
        #expect(location == "/v1/collections/catalog/imports/\(job)")

        func status() throws -> [String: Any] { try client.request("GET", location).json }
        // Killed twice: once a third and once two thirds of the items have their outcome.
        for (round, threshold) in [660, 1_330].enumerated() {
            let deadline = Date().addingTimeInterval(300)
            while (try status()["done"] as? Int ?? 0) < threshold && Date() < deadline { usleep(20_000) }
            running.kill()
            running = server("restart\(round)")
            try running.start()
            client = try HTTPTestClient(port: running.port, timeout: 60)
            let resumed = try status()
            #expect(["running", "queued"].contains(resumed["state"] as? String ?? ""), "\(resumed)")
            #expect((resumed["done"] as? Int ?? 0) >= threshold, "outcomes recorded before the kill were kept")
        }
        let deadline = Date().addingTimeInterval(600)
        var final = try status()
        while final["state"] as? String != "completed" && Date() < deadline {
            usleep(100_000)
            final = try status()
        }
        #expect(final["state"] as? String == "completed", "\(final)")
        let counts = final["counts"] as? [String: Int] ?? [:]
        #expect(counts["stored"] == 1_350 && counts["duplicate"] == 350 && counts["refused"] == 300, "\(counts)")

        // Every item's outcome, page by page.
        var outcomes: [Int: (state: String, reason: String)] = [:]
        var after = ""
        repeat {
            let page = try client.request("GET", "\(location)/items?limit=500\(after.isEmpty ? "" : "&after=\(after)")").json
            for item in page["items"] as? [[String: Any]] ?? [] {
                outcomes[item["position"] as? Int ?? 0] = (item["state"] as? String ?? "", item["reason"] as? String ?? "")
            }
            after = page["next"] as? String ?? ""
        } while !after.isEmpty
        #expect(outcomes.count == 2_000)
        var wrong: [String] = []
        for (offset, line) in lines.enumerated() where outcomes[offset + 1]?.state != line.expected {
            wrong.append("\(line.key): \(outcomes[offset + 1].map { "\($0.state) \($0.reason)" } ?? "missing"), expected \(line.expected)")
        }
        #expect(wrong.isEmpty, "\(wrong.count) wrong outcomes, e.g. \(wrong.prefix(5))")

        // The collection holds exactly the stored items, with the origin's bytes, each stored once.
        var stored: [String: String] = [:]
        var cursor = ""
        repeat {
            let page = try client.request("GET", "/v1/collections/catalog/images?limit=1000\(cursor.isEmpty ? "" : "&after=\(cursor)")").json
            for image in page["images"] as? [[String: Any]] ?? [] {
                stored[image["id"] as? String ?? ""] = image["sha256"] as? String ?? ""
            }
            cursor = page["next"] as? String ?? ""
        } while !cursor.isEmpty
        #expect(stored.count == 1_350)
        let unexpected = Set(stored.keys).symmetricDifference(lines.filter { $0.expected == "stored" }.map(\.key))
        #expect(unexpected.isEmpty, "\(unexpected.count) ids stored but not expected or expected but not stored, e.g. \(unexpected.prefix(5))")
        let mismatched = digests.filter { stored[$0.key] != $0.value }.map(\.key).sorted()
        #expect(mismatched.isEmpty, "\(mismatched.count) images missing or with other bytes, e.g. \(mismatched.prefix(5))")
        let collection = try client.request("GET", "/v1/collections/catalog").json
        #expect(collection["sequence"] as? Int == 1_350, "one change per stored image: \(collection["sequence"] ?? "?")")
        running.stop()
    }
}
