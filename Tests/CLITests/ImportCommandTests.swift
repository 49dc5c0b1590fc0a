import Foundation
import Imaging
import Testing
@testable import lookalike
import TestSupport

/// `lookalike import` in this process (a folder under imports.root) and through a server (a CSV manifest of URLs
/// on a real origin), with its outcome summary and the refused items listed.
@Suite(.serialized)
struct ImportCommandTests {
    @Test func optionsAreChecked() throws {
        #expect(throws: (any Error).self) { try Import.parse([]) }
        #expect(throws: (any Error).self) { try Import.parse(["m.jsonl", "--folder", "x"]) }
        #expect(throws: (any Error).self) { try Import.parse(["m.jsonl", "--on-duplicate", "keep"]) }
        #expect(throws: (any Error).self) { try Import.parse(["m.jsonl", "--detach"]) }
        #expect(throws: (any Error).self) { try Import.parse(["m.jsonl", "--concurrency", "0"]) }
        #expect(try Import.parse(["m.csv"]).format == .csv && Import.parse(["m.jsonl"]).format == .jsonLines)
    }

    @Test func foldersLocallyAndManifestsThroughAServer() throws {
        let directory = try CLIEndToEndTests.folder()
        defer { try? FileManager.default.removeItem(at: directory) }
        let root = directory.appendingPathComponent("img")
        for seed in 0..<2 as Range<UInt64> {
            try Data(try JPEGEncoder.encode(TestImages.scene(seed: 40 + seed, width: 128, height: 96))).write(to: root.appendingPathComponent("p\(seed).jpg"))
        }
        let db = directory.appendingPathComponent("db.sqlite").path
        let environment = ["LOOKALIKE_IMPORTS_ROOT": root.path]
        let config = directory.appendingPathComponent("config.json")
        try JSONSerialization.data(withJSONObject: ["imports": ["root": root.path]]).write(to: config)
        let local = try CLIEndToEndTests.run(["import", "--folder", "", "--db", db, "--config", config.path, "--json"])
        #expect(local.status == 0 && local.output.contains(#""stored":2"#) && local.output.contains(#""state":"completed""#), "\(local.output)")

        let origin = try TestOrigin(folder: root)
        let server = ServerProcess(binary: CLIEndToEndTests.binary, arguments: ["--db", db],
                                   logURL: directory.appendingPathComponent("server.log"),
                                   environment: environment.merging(["LOOKALIKE_MODEL": ModelLocator.path()]) { $1 })
        try server.start()
        defer { server.stop() }
        let manifest = directory.appendingPathComponent("items.csv")
        try Data("id,url\nagain,\(origin.url("/files/p0.jpg"))\nmissing,\(origin.url("/status/404"))\n".utf8).write(to: manifest)
        let remote = try CLIEndToEndTests.run(["import", manifest.path, "--server", "http://127.0.0.1:\(server.port)", "--on-duplicate", "skip"])
        #expect(remote.status == 0, "\(remote.output)")
        #expect(remote.output.contains("completed: stored 0, duplicate 1, refused 1"), "\(remote.output)")
    }
}
