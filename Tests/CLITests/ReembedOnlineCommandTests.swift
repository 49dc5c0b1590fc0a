import Foundation
import Imaging
import Inference
import Storage
import Testing
@testable import lookalike
import TestSupport

/// `lookalike reembed --online`: a running server moves a collection to the recipe the command names, and every
/// stored vector is then what `lookalike embed-all` (the CLI's own decoding and forward pass) computes for the
/// image's file with that recipe.
@Suite(.serialized)
struct ReembedOnlineCommandTests {
    @Test func optionsAreChecked() throws {
        #expect(throws: (any Error).self) { try Reembed.parse(["--online", "--crop", "squash"]) }
        #expect(throws: (any Error).self) { try Reembed.parse(["--online", "--server", "http://127.0.0.1:1"]) }
        #expect(throws: (any Error).self) { try Reembed.parse(["--crop", "squash"]) }
        #expect(throws: (any Error).self) { try Reembed.parse(["--detach"]) }
        #expect(try Reembed.parse(["--online", "--server", "http://127.0.0.1:1", "--feature-power", "0.5"]).featurePower == 0.5)
    }

    @Test func aRunningServerMovesToTheRecipeTheCommandNames() throws {
        let directory = try CLIEndToEndTests.folder()
        defer { try? FileManager.default.removeItem(at: directory) }
        let images = directory.appendingPathComponent("img")
        for seed in 0..<5 as Range<UInt64> {
            try Data(try JPEGEncoder.encode(TestImages.scene(seed: 60 + seed, width: 300, height: 100), quality: 90))
                .write(to: images.appendingPathComponent("w\(seed).jpg"))
        }
        let db = directory.appendingPathComponent("db.sqlite").path
        let config = directory.appendingPathComponent("config.json")
        try JSONSerialization.data(withJSONObject: ["storage": ["keepOriginals": true]]).write(to: config)
        #expect(try CLIEndToEndTests.run(["ingest", images.path, "--db", db, "--config", config.path]).status == 0)

        let server = ServerProcess(binary: CLIEndToEndTests.binary, arguments: ["--db", db, "--config", config.path],
                                   logURL: directory.appendingPathComponent("server.log"),
                                   environment: ["LOOKALIKE_MODEL": ModelLocator.path()])
        try server.start()
        let moved = try CLIEndToEndTests.run(["reembed", "--online", "--server", "http://127.0.0.1:\(server.port)",
                                              "--crop", "squash", "--feature-power", "0.5"])
        server.stop()
        #expect(moved.status == 0 && moved.output.contains("5 images on the new recipe"), "\(moved.output)")

        let store = try ImageStore(path: db)
        let collection = try #require(try store.collection(named: "default"))
        let records = try store.list(collection: collection.id, limit: 100, after: nil)
        #expect(records.count == 5)
        let files = try records.map { record in
            try #require(try FileManager.default.contentsOfDirectory(atPath: images.path).first { record.key.hasSuffix($0) })
        }
        let list = directory.appendingPathComponent("list.txt")
        try Data(files.map { images.appendingPathComponent($0).path }.joined(separator: "\n").utf8).write(to: list)
        let output = directory.appendingPathComponent("reference.npy")
        let embedded = try CLIEndToEndTests.run(["embed-all", list.path, "--output", output.path, "--crop", "squash",
                                                 "--feature-power", "0.5"])
        #expect(embedded.status == 0, "\(embedded.output)")
        let reference = try NumpyArray(bytes: Array(try Data(contentsOf: output)))
        let dimension = reference.shape[1]
        for (row, record) in records.enumerated() {
            let stored = try #require(try store.vector(id: record.id))
            #expect(stored.model.contains("+squash+pow0.5"), "\(record.key): \(stored.model)")
            let expected = reference.values[row * dimension..<(row + 1) * dimension]
            let cosine = zip(stored.values, expected).reduce(Float(0)) { $0 + $1.0 * $1.1 }
            #expect(cosine >= 0.9999, "\(record.key): cosine \(cosine) with lookalike embed-all")
        }
    }
}
