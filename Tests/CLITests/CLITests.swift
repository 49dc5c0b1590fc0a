import ArgumentParser
import Foundation
import Imaging
import Storage
import Testing
@testable import lookalike
import TestSupport

struct CLITests {
    @Test func parsingAndValidation() throws {
        let search = try Search.parse(["--k", "5", "--json", "photo.jpg"])
        #expect(search.flags.k == 5 && search.flags.json && search.image == "photo.jpg")
        #expect(throws: (any Error).self) { try Search.parse([]) }
        #expect(throws: (any Error).self) { try Classify.parse(["x.jpg", "--top", "0"]) }
        #expect(throws: (any Error).self) { try Duplicates.parse(["--threshold", "2"]) }
        #expect(throws: (any Error).self) { try BenchModel.parse(["--batches", "0"]) }
        let serve = try Serve.parse(["--port", "9000", "--host", "127.0.0.1", "--db", "/tmp/x.sqlite"])
        #expect(serve.port == 9000 && serve.host == ["127.0.0.1"] && serve.options.db == "/tmp/x.sqlite")
    }

    @Test func serviceOptionsApplyFlagsLastAndNameBadKeys() throws {
        let options = try ServiceOptions.parse(["--config", "/nonexistent.json"])
        #expect(throws: ValidationError.self) { try options.configuration() }
        let flags = try ServiceOptions.parse(["--db", "/tmp/flag.sqlite", "--log-level", "debug"])
        let configuration = try flags.configuration()
        #expect(configuration.storage.databasePath == "/tmp/flag.sqlite" && configuration.logging.level == "debug")
        let bad = try ServiceOptions.parse(["--log-level", "loud"])
        #expect {
            try bad.configuration()
        } throws: { error in
            "\(error)".contains("logging.level")
        }
    }

    @Test func manifestCSVWithQuotesAndRelativePaths() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("manifest-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let manifest = directory.appendingPathComponent("m.csv").path
        try "path,group_id,transform\nimg/a.jpg,g1,\"crop(area=0.7, x)\"\nimg/b.jpg,,distractor\n".write(toFile: manifest, atomically: true, encoding: .utf8)
        let rows = try Evaluate.loadManifest(manifest)
        #expect(rows.count == 2)
        #expect(rows[0].path == directory.appendingPathComponent("img/a.jpg").path && rows[0].group == "g1")
        #expect(rows[0].columns["transform"] == "crop(area=0.7, x)" && Evaluate.category(rows[0].columns["transform"]!) == "crop")
        #expect(rows[1].group.isEmpty)
        try "path,label\nx.jpg,1\n".write(toFile: manifest, atomically: true, encoding: .utf8)
        #expect(throws: ValidationError.self) { try Evaluate.loadManifest(manifest) }
    }

    @Test func ingestFindsImagesRecursively() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ingest-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("sub"), withIntermediateDirectories: true)
        for name in ["a.jpg", "sub/b.PNG", "sub/notes.txt", "c.jpeg"] {
            try Data("x".utf8).write(to: directory.appendingPathComponent(name))
        }
        let files = try Ingest.files(in: [directory.path])
        #expect(files.map { ($0 as NSString).lastPathComponent } == ["a.jpg", "c.jpeg", "b.PNG"])
        #expect(throws: ValidationError.self) { try Ingest.files(in: ["/nonexistent/folder"]) }
    }
}

/// The built `lookalike` binary run end to end on generated images with the real model.
@Suite(.serialized)
struct CLIEndToEndTests {
    final class Marker {}

    static var binary: URL {
        var url = Bundle(for: Marker.self).bundleURL
        while url.pathExtension == "xctest" { url.deleteLastPathComponent() }
        return url.appendingPathComponent("lookalike")
    }

    static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["LOOKALIKE_MODEL"] = ModelLocator.path()
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitForExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    static func folder() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("img"), withIntermediateDirectories: true)
        return directory
    }

    /// `lookalike backup` copies a database another process has open; the copy holds its images and passes
    /// `integrity_check`; a missing database is named as such.
    @Test func backupCopiesTheDatabase() throws {
        let directory = try Self.folder()
        try Data(try JPEGEncoder.encode(TestImages.scene(seed: 5))).write(to: directory.appendingPathComponent("img/five.jpg"))
        try Data(try JPEGEncoder.encode(TestImages.scene(seed: 6))).write(to: directory.appendingPathComponent("img/six.jpg"))
        let db = directory.appendingPathComponent("db.sqlite").path
        #expect(try Self.run(["ingest", directory.appendingPathComponent("img").path, "--db", db]).status == 0)
        let open = try ImageStore(path: db)  // held open meanwhile, as a server would
        let copy = directory.appendingPathComponent("copy.sqlite").path
        let backup = try Self.run(["backup", "--db", db, "--to", copy])
        #expect(backup.status == 0 && backup.output.contains("backed up"), "\(backup.output)")
        let restored = try ImageStore(path: copy)
        #expect(try restored.integrityCheck() == "ok")
        #expect(try restored.totalCount() == 2 && open.totalCount() == 2)
        #expect(try Self.run(["backup", "--db", directory.appendingPathComponent("none.sqlite").path, "--to", copy]).status != 0)
    }

    /// `embed` prints the vector a new database stores for the same file (both use a new database's recipe), so
    /// it can be sent to search/vector.
    @Test func embedPrintsTheVectorANewDatabaseStores() throws {
        let directory = try Self.folder()
        let file = directory.appendingPathComponent("img/wide.jpg")
        try Data(try JPEGEncoder.encode(TestImages.scene(seed: 7, width: 400, height: 240))).write(to: file)
        let db = directory.appendingPathComponent("db.sqlite").path
        #expect(try Self.run(["ingest", file.path, "--db", db]).status == 0)
        let store = try ImageStore(path: db)
        let collection = try #require(try store.collections().first)
        let first = try #require(try store.list(collection: collection.id, limit: 1, after: nil).first)
        let stored = try #require(try store.vector(id: first.id))
        let embedded = try Self.run(["embed", file.path])
        let body = try JSONSerialization.jsonObject(with: Data(embedded.output.utf8)) as? [String: Any] ?? [:]
        let vector = (body["vector"] as? [Double] ?? []).map { Float($0) }
        #expect(vector.count == stored.values.count, "\(embedded.output.prefix(200))")
        let cosine = zip(vector, stored.values).reduce(Float(0)) { $0 + $1.0 * $1.1 }
        #expect(cosine > 0.99999, "embed against the stored \(stored.model): \(cosine)")
        let plain = try Self.run(["embed", "--feature-power", "1", "--crop", "squash", file.path])
        let plainBody = try JSONSerialization.jsonObject(with: Data(plain.output.utf8)) as? [String: Any] ?? [:]
        let plainVector = (plainBody["vector"] as? [Double] ?? []).map { Float($0) }
        #expect(zip(plainVector, stored.values).reduce(Float(0)) { $0 + $1.0 * $1.1 } < 0.999, "another recipe differs")
    }

    /// `duplicates --not-duplicates` keeps a pair out of the groups until `--undo`; `--decisions` lists it.
    @Test func duplicatesRecordsListsAndUndoesDecisions() throws {
        let directory = try Self.folder()
        defer { try? FileManager.default.removeItem(at: directory) }
        let scene = TestImages.scene(seed: 84, width: 200, height: 150)
        try Data(try JPEGEncoder.encode(scene, quality: 92)).write(to: directory.appendingPathComponent("img/shot-a.jpg"))
        try Data(try JPEGEncoder.encode(scene, quality: 55)).write(to: directory.appendingPathComponent("img/shot-b.jpg"))
        let db = directory.appendingPathComponent("db.sqlite").path
        #expect(try Self.run(["ingest", directory.appendingPathComponent("img").path, "--db", db]).status == 0)
        let keys = try Self.run(["duplicates", "--db", db, "--json"]).output
        let group = try #require((try JSONSerialization.jsonObject(with: Data(keys.utf8)) as? [String: Any])?["groups"] as? [[String]])
        #expect(group.count == 1 && group[0].count == 2, "\(keys)")
        let recorded = try Self.run(["duplicates", "--db", db, "--not-duplicates", group[0].joined(separator: ",")])
        #expect(recorded.status == 0 && recorded.output.hasPrefix("decision "), "\(recorded.output)")
        #expect(try Self.run(["duplicates", "--db", db]).output.contains("0 groups, 0 images"))
        let listed = try Self.run(["duplicates", "--db", db, "--decisions"]).output
        #expect(listed.contains("1 decisions"), "\(listed)")
        let id = String(recorded.output.dropFirst("decision ".count).prefix { $0.isNumber })
        #expect(try Self.run(["duplicates", "--db", db, "--undo", id]).status == 0)
        #expect(try Self.run(["duplicates", "--db", db]).output.contains("1 groups, 2 images"))
        #expect(try Self.run(["duplicates", "--db", db, "--undo", id]).status != 0)
        #expect(throws: (any Error).self) { try Duplicates.parse(["--decisions", "--undo", "1"]) }
    }

    @Test func ingestReportsABadFileAndSkipsKnownOnes() throws {
        let directory = try Self.folder()
        try Data(try JPEGEncoder.encode(TestImages.scene(seed: 1))).write(to: directory.appendingPathComponent("img/one.jpg"))
        try Data(try JPEGEncoder.encode(TestImages.scene(seed: 2))).write(to: directory.appendingPathComponent("img/two.jpg"))
        try Data("not an image".utf8).write(to: directory.appendingPathComponent("img/broken.jpg"))
        let db = directory.appendingPathComponent("db.sqlite").path
        let first = try Self.run(["ingest", directory.appendingPathComponent("img").path, "--db", db, "--json"])
        let summary = try JSONSerialization.jsonObject(with: Data(first.output.utf8)) as? [String: Any]
        #expect(summary?["stored"] as? Int == 2, "\(first.output)")
        #expect((summary?["failed"] as? [[String: Any]])?.first?["file"] as? String == directory.appendingPathComponent("img/broken.jpg").path)
        let again = try Self.run(["ingest", directory.appendingPathComponent("img").path, "--db", db, "--json"])
        let second = try JSONSerialization.jsonObject(with: Data(again.output.utf8)) as? [String: Any]
        #expect(second?["stored"] as? Int == 0 && second?["skipped"] as? Int == 2)
    }

    /// Two groups of two (an image and its re-encoded, slightly cropped copy) and one distractor: every query's
    /// only relevant item is its partner, and it ranks first, so mAP@10 = R@1 = R@10 = 1 and P@10 = 1/10.
    @Test func evalOnATinyManifest() throws {
        let directory = try Self.folder()
        var lines = ["path,group_id,transform"]
        for (group, seed) in [("g1", 11), ("g2", 12)] {
            let image = TestImages.scene(seed: UInt64(seed))
            try Data(try JPEGEncoder.encode(image, quality: 95)).write(to: directory.appendingPathComponent("img/\(group)-a.jpg"))
            let copy = image.cropped(x: 8, y: 6, width: image.width - 16, height: image.height - 12)
            try Data(try JPEGEncoder.encode(copy, quality: 60)).write(to: directory.appendingPathComponent("img/\(group)-b.jpg"))
            lines += ["img/\(group)-a.jpg,\(group),original", "img/\(group)-b.jpg,\(group),crop(area=0.9)"]
        }
        try Data(try JPEGEncoder.encode(TestImages.scene(seed: 99))).write(to: directory.appendingPathComponent("img/d.jpg"))
        lines.append("img/d.jpg,,distractor")
        let manifest = directory.appendingPathComponent("manifest.csv").path
        try (lines.joined(separator: "\n") + "\n").write(toFile: manifest, atomically: true, encoding: .utf8)
        let result = try Self.run(["eval", "--manifest", manifest, "--json"])
        #expect(result.status == 0)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any], "\(result.output)")
        #expect(report["queries"] as? Int == 4 && report["stored"] as? Int == 5)
        for section in ["approximate", "exact"] {
            let overall = try #require((report[section] as? [String: Any])?["overall"] as? [String: Double])
            #expect(overall["mAP@10"] == 1 && overall["R@1"] == 1 && overall["R@10"] == 1, "\(section): \(overall)")
            #expect(abs(overall["P@10"]! - 0.1) < 1e-9)
            let byTransform = try #require((report[section] as? [String: Any])?["by_transform"] as? [String: [String: Double]])
            #expect(Set(byTransform.keys) == ["original", "crop"])
        }
    }
}

extension CLIEndToEndTests {
    /// `ingest --server` against the real binary serving on an ephemeral loopback port.
    @Test func ingestThroughARunningServer() throws {
        let directory = try Self.folder()
        try Data(try JPEGEncoder.encode(TestImages.scene(seed: 5))).write(to: directory.appendingPathComponent("img/five.jpg"))
        try Data("broken".utf8).write(to: directory.appendingPathComponent("img/bad.png"))
        let server = ServerProcess(
            binary: Self.binary, arguments: ["--db", directory.appendingPathComponent("db.sqlite").path],
            logURL: directory.appendingPathComponent("server.log"), environment: ["LOOKALIKE_MODEL": ModelLocator.path()])
        try server.start()
        defer { server.stop() }
        let url = "http://127.0.0.1:\(server.port)"
        let first = try Self.run(["ingest", directory.appendingPathComponent("img").path, "--server", url, "--json"])
        let summary = try JSONSerialization.jsonObject(with: Data(first.output.utf8)) as? [String: Any]
        #expect(summary?["stored"] as? Int == 1 && (summary?["failed"] as? [Any])?.count == 1, "\(first.output)")
        let second = try Self.run(["ingest", directory.appendingPathComponent("img").path, "--server", url, "--json"])
        #expect((try JSONSerialization.jsonObject(with: Data(second.output.utf8)) as? [String: Any])?["skipped"] as? Int == 1)
    }
}
