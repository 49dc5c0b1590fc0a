import Foundation
import Imaging
import MetadataFilter
import Inference
@testable import Lookalike
import Storage
import Testing
import TestSupport

/// The domain with the real model and a real SQLite file: collections stay apart, survive restarts through
/// their snapshots, follow the change sequence, and the code retraining keeps replaced images' codes right.
@Suite(.serialized)
struct CollectionTests {
    static let model: ImageModel = {
        do { return try ImageModel(path: ModelLocator.path()) } catch {
            fatalError("cannot load the model (run scripts/fetch-model): \(error)")
        }
    }()

    static func configuration(_ directory: URL, _ configure: (inout Configuration) -> Void = { _ in }) -> Configuration {
        var configuration = Configuration()
        configuration.storage.databasePath = directory.appendingPathComponent("db.sqlite").path
        configuration.model.workers = 2
        configure(&configuration)
        return configuration
    }

    static func temporaryDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lookalike-collections-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    static func open(_ configuration: Configuration) throws -> LookalikeService {
        let service = try LookalikeService(configuration: configuration, model: model)
        try service.loadIndex()
        return service
    }

    static func jpeg(_ seed: UInt64) throws -> [UInt8] {
        try JPEGEncoder.encode(TestImages.scene(seed: seed, width: 160, height: 120), quality: 90)
    }

    @Test func collectionsNeverSeeEachOthersImages() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let configuration = Self.configuration(directory) { $0.index.exactThreshold = 4 }
        let service = try Self.open(configuration)
        defer { service.shutdown() }
        _ = try service.createCollection(name: "shop-a")
        _ = try service.createCollection(name: "shop-b")
        // The same image under the same id in both, plus images of each one's own.
        for seed in 0..<6 as Range<UInt64> {
            _ = try service.ingest(bytes: Self.jpeg(seed), key: "shared-\(seed)", collection: "shop-a")
            _ = try service.ingest(bytes: Self.jpeg(seed), key: "shared-\(seed)", collection: "shop-b")
            _ = try service.ingest(bytes: Self.jpeg(100 + seed), key: "a-\(seed)", collection: "shop-a")
            _ = try service.ingest(bytes: Self.jpeg(200 + seed), key: "b-\(seed)", collection: "shop-b")
        }
        // Near-duplicates of a's images, in a only.
        _ = try service.ingest(bytes: Self.jpeg(100), key: "a-copy", collection: "shop-a")
        service.waitForIndexBuilds()
        for (name, own, other) in [("shop-a", "a-", "b-"), ("shop-b", "b-", "a-")] {
            let found = try service.search(bytes: Self.jpeg(0), options: .init(k: 20), collection: name)
            #expect(found.count == 12 + (name == "shop-a" ? 1 : 0))
            #expect(found.first?.key == "shared-0")
            #expect(!found.contains { $0.key.hasPrefix(other) })
            let similar = try service.similar(key: "\(own)1", options: .init(k: 20, exact: true), collection: name)
            #expect(!similar.contains { $0.key.hasPrefix(other) } && !similar.contains { $0.key == "\(own)1" })
            let groups = try service.duplicates(threshold: 0.9, collection: name).groups
            #expect(groups.allSatisfy { group in group.allSatisfy { !$0.hasPrefix(other) } })
        }
        #expect(try service.duplicates(threshold: 0.95, collection: "shop-a").groups.contains(["a-0", "a-copy"]))
        #expect(try service.duplicates(threshold: 0.95, collection: "shop-b").groups.isEmpty)
        // The grouping is reused page to page, and computed again once a write moves the change sequence.
        _ = try service.ingest(bytes: Self.jpeg(200), key: "b-copy", collection: "shop-b")
        #expect(try service.duplicates(threshold: 0.95, collection: "shop-b").groups == [["b-0", "b-copy"]])
        #expect(try service.delete(key: "b-copy", collection: "shop-b"))
        #expect(try service.duplicates(threshold: 0.95, collection: "shop-b").groups.isEmpty)
        #expect(try service.list(limit: 100, after: nil, collection: LookalikeService.defaultCollection).isEmpty)

        // Deleting one leaves the other's rows, index and snapshot.
        let snapshotA = configuration.storage.databasePath + ".shop-a.forest"
        let snapshotB = configuration.storage.databasePath + ".shop-b.forest"
        #expect(FileManager.default.fileExists(atPath: snapshotA) && FileManager.default.fileExists(atPath: snapshotB))
        try service.deleteCollection("shop-a")
        #expect(!FileManager.default.fileExists(atPath: snapshotA))
        #expect(FileManager.default.fileExists(atPath: snapshotB))
        #expect(throws: LookalikeError.collectionNotFound("shop-a")) { try service.statistics(collection: "shop-a") }
        #expect(try service.list(limit: 100, after: nil, collection: "shop-b").count == 12)
        #expect(try service.statistics(collection: "shop-b").indexed == 12)
        #expect(try service.search(bytes: Self.jpeg(203), options: .init(k: 1), collection: "shop-b").first?.key == "b-3")
        let store = try ImageStore(path: configuration.storage.databasePath)
        #expect(try store.collection(named: "shop-a") == nil)
        #expect(try store.totalCount() == 12)
        #expect(try store.integrityCheck() == "ok")
    }

    @Test func namesCapAndSettingsAreChecked() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let service = try Self.open(Self.configuration(directory) { $0.storage.maxCollections = 3 })
        defer { service.shutdown() }
        for bad in ["", "Shop", "-shop", "shop eu", "shop/eu", String(repeating: "a", count: 65), "é"] {
            #expect(throws: StorageError.self) { try service.createCollection(name: bad) }
        }
        let created = try service.createCollection(name: "a_1-b", settings: ["code_bits": 64])
        #expect(created.codeBits == 64 && created.codeScheme == "simhash")
        #expect(throws: LookalikeError.collectionExists("a_1-b")) { try service.createCollection(name: "a_1-b") }
        #expect(throws: LookalikeError.self) { try service.createCollection(name: "x", settings: ["code_bits": 100]) }
        #expect(throws: LookalikeError.self) { try service.createCollection(name: "x", settings: ["colour": "red"]) }
        _ = try service.createCollection(name: String(repeating: "z", count: 64))
        #expect(throws: LookalikeError.tooManyCollections(3)) { try service.createCollection(name: "four") }
        #expect(try service.listCollections().map(\.name) == ["a_1-b", "default", String(repeating: "z", count: 64)])
    }

    @Test func restartRestoresEveryCollectionFromItsSnapshot() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let configuration = Self.configuration(directory) { $0.index.exactThreshold = 5 }
        do {
            let service = try Self.open(configuration)
            for name in ["one", "two"] {
                _ = try service.createCollection(name: name)
                for seed in 0..<8 as Range<UInt64> {
                    _ = try service.ingest(bytes: Self.jpeg(seed + (name == "one" ? 0 : 50)), key: "\(name)-\(seed)", collection: name)
                }
            }
            #expect(service.shutdown() == nil)
        }
        let reopened = try Self.open(configuration)
        defer { reopened.shutdown() }
        for name in ["one", "two"] {
            #expect(reopened.indexLoad(collection: name) == .restored(kept: 8, inserted: 0, dropped: 0))
            #expect(try reopened.statistics(collection: name).indexed == 8)
            #expect(try reopened.similar(key: "\(name)-3", options: .init(k: 3), collection: name).allSatisfy { $0.key.hasPrefix(name) })
        }
        #expect(reopened.indexLoad() == .exact)
    }

    /// Two services on one file stand for two nodes: writes of one reach the other's index through the
    /// change sequence (upserts and tombstones), and applying the same changes twice changes nothing.
    @Test func aSecondProcessFollowsTheChangeSequence() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let configuration = Self.configuration(directory) { $0.index.snapshot = false }
        let writer = try Self.open(configuration)
        defer { writer.shutdown() }
        let follower = try Self.open(configuration)
        defer { follower.shutdown() }
        _ = try writer.ingest(bytes: Self.jpeg(1), key: "first")
        _ = try writer.ingest(bytes: Self.jpeg(2), key: "second")
        _ = try writer.ingest(bytes: Self.jpeg(3), key: "first")  // replaced: one change, the latest
        #expect(try follower.statistics().indexed == 0)
        #expect(try follower.catchUp() == 2)
        #expect(try follower.catchUp() == 0)
        #expect(try follower.statistics().indexed == 2)
        #expect(try follower.statistics().sequence == 3)
        #expect(try follower.search(bytes: Self.jpeg(3), options: .init(k: 1)).first?.key == "first")
        #expect(try writer.delete(key: "second"))
        #expect(try follower.catchUp() == 1)
        #expect(try follower.statistics().indexed == 1)
        #expect(try follower.statistics().sequence == 4)
        #expect(try follower.search(bytes: Self.jpeg(2), options: .init(k: 5)).map(\.key) == ["first"])
        // A collection this small has no forest: with search_k (which tunes the forest) it is scanned exactly,
        // the answer no budget could improve on.
        _ = try writer.ingest(bytes: Self.jpeg(4), key: "third")
        #expect(try follower.catchUp() == 1)
        let budgeted = try follower.similar(key: "first", options: .init(k: 5, searchK: 500))
        let exact = try follower.similar(key: "first", options: .init(k: 5, exact: true))
        #expect(budgeted.map(\.key) == ["third"] && budgeted.map(\.key) == exact.map(\.key) && budgeted.map(\.score) == exact.map(\.score))

        let store = try ImageStore(path: configuration.storage.databasePath)
        let changes = try store.changes(collection: ImageStore.defaultCollectionID, after: 0, limit: 100)
        #expect(changes.map(\.sequence) == [3, 4, 5])
        #expect(changes.map(\.kind) == [.upsert, .delete, .upsert])
        #expect(changes.map(\.key) == ["first", "second", "third"])
        try store.compactTombstones(collection: ImageStore.defaultCollectionID, through: 4)
        let compacted = try store.changes(collection: ImageStore.defaultCollectionID, after: 0, limit: 100)
        #expect(compacted.map(\.kind) == [.compacted, .upsert, .upsert] && compacted.map(\.sequence) == [4, 3, 5])
    }

    /// Query expansion against a brute-force reference over the stored vectors: the query plus its n nearest
    /// (each weighted by its cosine), normalised, then every image ranked by cosine to it — with and without a
    /// filter, which the expansion's neighbours obey too. Scores agree to 1e-5.
    @Test func queryExpansionMatchesItsBruteForceReference() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let service = try Self.open(Self.configuration(directory))
        defer { service.shutdown() }
        let keys = (0..<16).map { "img-\($0)" }
        for (index, key) in keys.enumerated() {
            // Pairs of related scenes, so the nearest neighbours mean something.
            _ = try service.ingest(bytes: Self.jpeg(UInt64(300 + index / 2 * 7 + index % 2)), key: key, metadata: #"{"half": \#(index % 2)}"#)
        }
        let collection = try #require(service.collectionForTesting(LookalikeService.defaultCollection))
        let vectors = try Dictionary(uniqueKeysWithValues: keys.map { ($0, try collection.entry(key: $0).vector) })
        func dot(_ a: [Float], _ b: [Float]) -> Double { zip(a, b).reduce(0) { $0 + Double($1.0) * Double($1.1) } }
        var changedARanking = false
        for (query, half) in [("img-3", nil), ("img-4", 0), ("img-9", 1)] as [(String, Int?)] {
            let candidates = keys.filter { $0 != query && (half == nil || Int($0.dropFirst(4))! % 2 == half!) }
            let byCosine = candidates.sorted { dot(vectors[query]!, vectors[$0]!) > dot(vectors[query]!, vectors[$1]!) }
            for n in [1, 3] {
                var expanded = vectors[query]!.map(Double.init)
                for key in byCosine.prefix(n) {
                    let weight = max(dot(vectors[query]!, vectors[key]!), 0)
                    for i in expanded.indices { expanded[i] += weight * Double(vectors[key]![i]) }
                }
                let norm = expanded.reduce(0) { $0 + $1 * $1 }.squareRoot()
                let reference = candidates.map { key in (key, zip(expanded, vectors[key]!).reduce(0) { $0 + $1.0 * Double($1.1) } / norm) }
                    .sorted { $0.1 > $1.1 }.prefix(5)
                let filter = try half.map { try Filter.parse(#"{"half": \#($0)}"#) }
                let found = try service.similar(key: query, options: SearchOptions(k: 5, filter: filter, expansion: n))
                #expect(found.map(\.key) == reference.map(\.0), "\(query) n=\(n)")
                for (match, expected) in zip(found, reference) {
                    #expect(abs(Double(match.score) - expected.1) < 1e-5, "\(query) n=\(n) \(match.key)")
                }
                let plain = try service.similar(key: query, options: SearchOptions(k: 5, filter: filter))
                if plain.map(\.key) != found.map(\.key) || zip(plain, found).contains(where: { abs($0.score - $1.score) > 1e-4 }) {
                    changedARanking = true
                }
            }
        }
        #expect(changedARanking, "the expansion changes the scores")
        #expect(throws: LookalikeError.self) { try service.similar(key: "img-1", options: SearchOptions(expansion: 11)) }
    }

    /// A node's follower pass reads the store's list of collections while the same node creates and deletes
    /// some: a collection created after the listing was read stays usable, and one deleted stays deleted.
    @Test func followerPassesNeverUndoThisNodesCreationsOrDeletions() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let service = try Self.open(Self.configuration(directory) { $0.index.snapshot = false })
        defer { service.shutdown() }
        let stop = LockedFlag()
        let passes = LockedCounter()
        let follower = Thread {
            while !stop.isSet {
                _ = try? service.synchronize()
                passes.increment()
            }
        }
        follower.start()
        defer { stop.set() }
        var unusable: [String] = []
        var resurrected: [String] = []
        for round in 0..<300 {
            let name = "racing-\(round % 3)"
            _ = try service.createCollection(name: name)
            for _ in 0..<3 where (try? service.requireCollection(name)) == nil { unusable.append(name) }
            try service.deleteCollection(name)
            for _ in 0..<3 where (try? service.requireCollection(name)) != nil { resurrected.append(name) }
        }
        stop.set()
        while !follower.isFinished { usleep(1_000) }
        #expect(passes.value > 10, "the follower ran alongside")
        #expect(unusable.isEmpty, "created collections that were not found: \(unusable.count)")
        #expect(resurrected.isEmpty, "deleted collections that came back: \(resurrected.count)")
        #expect(try service.synchronize() >= 0 && (try? service.requireCollection("racing-0")) == nil)
    }

    /// Tombstones older than the retention period are compacted (one node, under a claim); a follower that
    /// was away meanwhile cannot read those deletions as changes and finds them by listing what is stored.
    @Test func aFollowerAwayPastTheRetentionFindsCompactedDeletions() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let configuration = Self.configuration(directory) {
            $0.index.snapshot = false
            $0.storage.tombstoneRetentionSeconds = 60
        }
        let writer = try Self.open(configuration)
        defer { writer.shutdown() }
        let follower = try Self.open(configuration)
        defer { follower.shutdown() }
        for (seed, key) in ["a", "b", "c"].enumerated() { _ = try writer.ingest(bytes: Self.jpeg(UInt64(seed + 10)), key: key) }
        #expect(try follower.catchUp() == 3)
        #expect(try writer.delete(key: "b"))  // sequence 4, seen by the writer now

        let collection = try writer.collection(LookalikeService.defaultCollection)
        try collection.compactTombstonesIfDue(now: Date().addingTimeInterval(30))
        let store = try ImageStore(path: configuration.storage.databasePath)
        #expect(try store.collection(named: ImageStore.defaultCollectionName)?.compactedThrough == 0, "compacted before the retention")
        try collection.compactTombstonesIfDue(now: Date().addingTimeInterval(61))
        #expect(try store.collection(named: ImageStore.defaultCollectionName)?.compactedThrough == 4)
        #expect(try store.changes(collection: ImageStore.defaultCollectionID, after: 3, limit: 10).map(\.kind) == [.compacted])

        _ = try writer.ingest(bytes: Self.jpeg(20), key: "d")
        #expect(try follower.catchUp() == 2)  // "d" applied, "b" found missing
        #expect(try follower.statistics().indexed == 3 && follower.statistics().sequence == 5)
        #expect(throws: LookalikeError.notFound("b")) { try follower.similar(key: "b", options: .init(k: 1)) }
        let keys = try follower.search(bytes: Self.jpeg(11), options: .init(k: 10, exact: true)).map(\.key)
        #expect(keys.sorted() == ["a", "c", "d"])
        #expect(try follower.catchUp() == 0)
    }

    /// An image replaced while ITQ codes are being learned must end up with the code of its new vector.
    @Test func anImageReplacedDuringRetrainingKeepsItsNewVectorsCode() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let configuration = Self.configuration(directory) {
            $0.hashing.bits = 64
            $0.hashing.itqMinimumImages = 100_000  // never on its own: the test drives the two phases
        }
        let service = try Self.open(configuration)
        defer { service.shutdown() }
        _ = try service.createCollection(name: "itq", settings: ["code_scheme": "itq"])
        for seed in 0..<66 as Range<UInt64> { _ = try service.ingest(bytes: Self.jpeg(300 + seed), key: "k\(seed)", collection: "itq") }
        let collection = try #require(service.collectionForTesting("itq"))
        let plan = try #require(try collection.prepareRetraining())
        // Replaced, and added, between learning and switching.
        _ = try service.ingest(bytes: Self.jpeg(999), key: "k5", collection: "itq")
        _ = try service.ingest(bytes: Self.jpeg(998), key: "late", collection: "itq")
        try collection.commitRetraining(plan)
        let scheme = try service.codeScheme(collection: "itq")
        #expect(scheme.kind == "itq" && scheme.id == plan.schemeID)
        let store = try ImageStore(path: configuration.storage.databasePath)
        let collectionID = try #require(try store.collection(named: "itq")).id
        var vectors: [(Int64, [Float])] = []
        try store.forEachVector(collection: collectionID, model: service.embedder.recipe.description) { vectors.append(($0, Array($1))) }
        #expect(vectors.count == 67)
        for (id, vector) in vectors {
            let expected = plan.quantizer.code(for: vector)
            #expect(try store.code(id: id) == StoredCode(schemeID: plan.schemeID, bits: 64, words: expected.words))
            #expect(collection.index.entry(id: id)?.code == expected)
        }
    }
}

