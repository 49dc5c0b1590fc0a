import Foundation
import Imaging
import MetadataFilter
@testable import Lookalike
import Storage
import Testing
import TestSupport

/// A collection of the graph kind through the service, with the real model and a real SQLite file: chosen at
/// creation and kept across restarts (its graph restored from a snapshot), answering as exact search does, deletions never answering, its own
/// strategy errors, and the forest staying the default.
@Suite(.serialized)
struct GraphCollectionTests {
    @Test func aGraphCollectionAnswersLikeExactSearchAndSurvivesARestart() throws {
        let directory = try CollectionTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let configuration = CollectionTests.configuration(directory) { $0.index.exactThreshold = 4 }
        var service = try CollectionTests.open(configuration)
        let created = try service.createCollection(name: "catalog", settings: ["index": ["kind": "graph"]])
        #expect(created.indexKind == "graph" && created.indexState == "exact")
        #expect(try service.createCollection(name: "plain").indexKind == "forest", "the forest stays the default")
        for bad: [String: Any] in [["index": ["kind": "hnsw"]], ["index": ["kind": "graph", "degree": 8]], ["index": "graph"]] {
            #expect(throws: LookalikeError.self) { try service.createCollection(name: "bad", settings: bad) }
        }
        let seeds = Array(0..<18 as Range<UInt64>)
        for seed in seeds {
            _ = try service.ingest(bytes: CollectionTests.jpeg(seed), key: "p-\(seed)", collection: "catalog")
        }
        _ = try service.ingest(bytes: CollectionTests.jpeg(3), key: "p-3-copy", collection: "catalog")
        service.waitForIndexBuilds()
        #expect(try service.describeCollection("catalog").indexState == "graph")
        #expect(try service.statistics(collection: "catalog").indexed == seeds.count + 1)

        func expectExactAnswers(_ service: LookalikeService) throws {
            for seed in [UInt64(3), 7, 100] {
                let query = try CollectionTests.jpeg(seed)
                let found = try service.search(bytes: query, options: .init(k: 5), collection: "catalog")
                let exact = try service.search(bytes: query, options: .init(k: 5, exact: true), collection: "catalog")
                #expect(found.map(\.key) == exact.map(\.key), "seed \(seed)")
            }
            #expect(try service.search(bytes: CollectionTests.jpeg(3), options: .init(k: 2), collection: "catalog").map(\.key).sorted()
                    == ["p-3", "p-3-copy"])
        }
        try expectExactAnswers(service)
        // search_k tunes the forest: asked of a graph it is an error, not another strategy.
        #expect(throws: LookalikeError.self) {
            try service.search(bytes: CollectionTests.jpeg(1), options: .init(k: 5, searchK: 500), collection: "catalog")
        }
        #expect(try service.delete(key: "p-3-copy", collection: "catalog"))
        #expect(try !service.search(bytes: CollectionTests.jpeg(3), options: .init(k: 10), collection: "catalog")
            .contains { $0.key == "p-3-copy" })

        // A restart restores the graph from the snapshot saved at shutdown (the deleted entry, a waypoint in the
        // file, is dropped); the kind is the stored setting's.
        service.shutdown()
        let snapshots = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".graph") }
        #expect(snapshots.count == 1)
        service = try CollectionTests.open(configuration)
        #expect(service.indexLoad(collection: "catalog") == .restored(kept: seeds.count, inserted: 0, dropped: 0))
        let reopened = try service.describeCollection("catalog")
        #expect(reopened.indexKind == "graph" && reopened.indexState == "graph" && reopened.images == seeds.count)
        _ = try service.ingest(bytes: CollectionTests.jpeg(3), key: "p-3-copy", collection: "catalog")
        try expectExactAnswers(service)
        // The vectors live in a file that is unlinked once open: nothing is left beside the database.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".vectors") }
        #expect(leftovers.isEmpty)

        // A damaged snapshot: the graph is built again in the background, searches exact meanwhile.
        service.shutdown()
        let snapshotURL = directory.appendingPathComponent(try #require(snapshots.first))
        var bytes = try Data(contentsOf: snapshotURL)
        bytes[bytes.count / 2] ^= 0xFF
        try bytes.write(to: snapshotURL)
        service = try CollectionTests.open(configuration)
        defer { service.shutdown() }
        guard case .rebuilt(let reason) = service.indexLoad(collection: "catalog") else {
            Issue.record("a damaged snapshot was used: \(String(describing: service.indexLoad(collection: "catalog")))")
            return
        }
        #expect(reason.contains("checksum"))
        try expectExactAnswers(service)
        service.waitForIndexBuilds()
        #expect(try service.describeCollection("catalog").indexState == "graph")
        try expectExactAnswers(service)
    }
}
