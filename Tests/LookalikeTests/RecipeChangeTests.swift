import Foundation
import Imaging
import Inference
@testable import Lookalike
import Storage
import Synchronization
import Testing
import TestSupport

/// Online re-embedding with the real model and a real SQLite file: a collection moves to another recipe while it
/// is searched and written, a restart resumes the work, and afterwards every stored vector is the one an
/// independent embedder of the new recipe computes from the image's bytes.
@Suite(.serialized)
struct RecipeChangeTests {
    /// Wide images: the centred square, the padded and the squashed whole image are different model inputs.
    static func image(_ seed: UInt64) throws -> [UInt8] {
        try JPEGEncoder.encode(TestImages.scene(seed: seed, width: 300, height: 100), quality: 90)
    }

    static var squash: [String: Any] { ["crop": "squash", "feature_power": 0.5] }

    static func configuration(_ directory: URL) -> Configuration {
        CollectionTests.configuration(directory) { $0.storage.keepOriginals = true }
    }

    /// Waits for the collection's re-embedding to end (at most `seconds`).
    static func waitForChange(_ service: LookalikeService, collection: String = LookalikeService.defaultCollection,
                              seconds: Double = 300) throws -> RecipeChangeStatus? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let status = try service.recipeChange(collection: collection), status.finished != nil { return status }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return try service.recipeChange(collection: collection)
    }

    /// Every stored image's vector against the target recipe's vector of its bytes, computed by an embedder built
    /// here (cosine ≥ 0.9999), and of that recipe's name.
    static func expectEveryVectorIsTheRecipes(_ service: LookalikeService, bytes: [String: [UInt8]], recipe: EmbeddingRecipe) throws {
        let reference = ImageEmbedder(model: CollectionTests.model, pool: EmbeddingRecipeTests.pool, cropPolicy: recipe.crop,
                                      trimBorders: recipe.trimBorders, mirrorAverage: recipe.mirrorAverage,
                                      featurePower: recipe.featurePower)
        let collection = try service.collection(LookalikeService.defaultCollection)
        let records = try service.store.list(collection: collection.id, limit: 10_000, after: nil)
        #expect(records.count == bytes.count)
        for record in records {
            let stored = try #require(try service.store.vector(id: record.id))
            #expect(stored.model == reference.recipe.description, "\(record.key): \(stored.model)")
            let expected = try reference.embedBlocking(try #require(bytes[record.key])).vector
            let cosine = FeatureVector.cosine(stored.values, expected)
            #expect(cosine >= 0.9999, "\(record.key): cosine \(cosine)")
        }
    }

    @Test func aCollectionMovesToAnotherRecipeWhileItServes() throws {
        let directory = try CollectionTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let service = try CollectionTests.open(Self.configuration(directory))
        defer { service.shutdown() }
        var bytes: [String: [UInt8]] = [:]
        for seed in 0..<24 {
            bytes["p\(seed)"] = try Self.image(UInt64(seed))
            _ = try service.ingest(bytes: bytes["p\(seed)"]!, key: "p\(seed)")
        }
        let before = try service.describeCollection(LookalikeService.defaultCollection).recipe
        try service.changeRecipe(collection: LookalikeService.defaultCollection, to: Self.squash)
        #expect(try service.recipeChange(collection: LookalikeService.defaultCollection)?.target.crop == .squash)

        // Meanwhile: one client uploads new images, another searches with stored images' bytes. A query embedded
        // by one recipe and scored against the other's vectors would not find its own image at cosine 1.
        let failures = FailureLog()
        let searched = Atomic(0)
        let uploads = (40..<50).map { seed in (key: "u\(seed)", bytes: try! Self.image(UInt64(seed))) }
        let probes = Array(bytes.prefix(8))
        DispatchQueue.concurrentPerform(iterations: 2) { lane in
            if lane == 0 {
                for upload in uploads {
                    do { _ = try service.ingest(bytes: upload.bytes, key: upload.key) } catch {
                        failures.append("upload \(upload.key): \(error)")
                    }
                }
                return
            }
            var round = 0
            while (try? service.recipeChange(collection: LookalikeService.defaultCollection))?.finished == nil || round < 8 {
                let probe = probes[round % probes.count]
                round += 1
                do {
                    let found = try service.search(bytes: probe.value, options: SearchOptions(k: 1))
                    if found.first?.key != probe.key || (found.first?.score ?? 0) < 0.9999 {
                        failures.append("search \(probe.key): \(found.first.map { "\($0.key) \($0.score)" } ?? "nothing")")
                    }
                    searched.add(1, ordering: .relaxed)
                } catch {
                    failures.append("search \(probe.key): \(error)")
                }
            }
        }
        for upload in uploads { bytes[upload.key] = upload.bytes }
        let status = try #require(try Self.waitForChange(service))
        #expect(status.state == .done, "\(status)")
        #expect(failures.all.isEmpty, "\(failures.all.prefix(5))")
        #expect(searched.load(ordering: .relaxed) >= 8)
        let after = try service.describeCollection(LookalikeService.defaultCollection)
        #expect(after.recipe.crop == .squash && after.recipe.featurePower == 0.5 && after.recipe != before)
        #expect(after.images == 34)
        try Self.expectEveryVectorIsTheRecipes(service, bytes: bytes, recipe: after.recipe)
        // Searches and similar images work on the new vectors.
        let found = try service.search(bytes: bytes["u45"]!, options: SearchOptions(k: 1))
        #expect(found.first?.key == "u45" && (found.first?.score ?? 0) > 0.9999)
        #expect(try service.similar(key: "p3", options: SearchOptions(k: 3)).count == 3)
        #expect(try service.vectorsFromOtherModels() == 0)
    }

    @Test func aRestartResumesTheChangeFromWhatWasComputed() throws {
        let directory = try CollectionTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var bytes: [String: [UInt8]] = [:]
        do {
            let service = try CollectionTests.open(Self.configuration(directory))
            for seed in 0..<40 {
                bytes["p\(seed)"] = try Self.image(UInt64(seed))
                _ = try service.ingest(bytes: bytes["p\(seed)"]!, key: "p\(seed)")
            }
            try service.changeRecipe(collection: LookalikeService.defaultCollection, to: Self.squash)
            let deadline = Date().addingTimeInterval(120)
            while (try service.recipeChange(collection: LookalikeService.defaultCollection)?.done ?? 0) < 8 && Date() < deadline {
                Thread.sleep(forTimeInterval: 0.02)
            }
            // Stopped part-way, as at a shutdown: the collection is still on its old recipe.
            service.shutdown()
            let status = try #require(try service.recipeChange(collection: LookalikeService.defaultCollection))
            #expect(status.finished == nil && status.done >= 8 && status.done < 40, "\(status)")
        }
        let service = try CollectionTests.open(Self.configuration(directory))
        defer { service.shutdown() }
        #expect(try service.describeCollection(LookalikeService.defaultCollection).recipe.crop != .squash)
        service.startRecipeChanges()
        let status = try #require(try Self.waitForChange(service))
        #expect(status.state == .done, "\(status)")
        #expect(status.resumed >= 8, "vectors computed before the restart are kept: \(status)")
        #expect(try service.describeCollection(LookalikeService.defaultCollection).recipe.crop == .squash)
        try Self.expectEveryVectorIsTheRecipes(service, bytes: bytes, recipe: status.target)
        // The switched collection restores from its snapshot at the next start, on the new recipe.
        service.shutdown()
        let reopened = try CollectionTests.open(Self.configuration(directory))
        defer { reopened.shutdown() }
        let found = try reopened.search(bytes: bytes["p7"]!, options: SearchOptions(k: 1))
        #expect(found.first?.key == "p7" && (found.first?.score ?? 0) > 0.9999)
        #expect(try reopened.vectorsFromOtherModels() == 0)
    }

    @Test func aChangeIsRefusedWhenItCannotBeDone() throws {
        let directory = try CollectionTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let withoutOriginals = try CollectionTests.open(CollectionTests.configuration(directory))
        _ = try withoutOriginals.ingest(bytes: try Self.image(1), key: "a")
        #expect {
            try withoutOriginals.changeRecipe(collection: LookalikeService.defaultCollection, to: Self.squash)
        } throws: { error in
            guard case LookalikeError.recipeChangeRefused(let message) = error else { return false }
            return message.contains("storage.keepOriginals")
        }
        withoutOriginals.shutdown()

        let service = try CollectionTests.open(Self.configuration(directory.appendingPathComponent("kept")))
        defer { service.shutdown() }
        for bad: Any in [["crop": "diagonal"], ["feature_power": 2], ["trim_borders": 1], ["colour": true], "squash"] {
            #expect(throws: LookalikeError.self) { try service.changeRecipe(collection: LookalikeService.defaultCollection, to: bad) }
        }
        #expect(throws: LookalikeError.collectionNotFound("nope")) { try service.changeRecipe(collection: "nope", to: Self.squash) }
        // The current recipe: nothing to do.
        let current = try service.describeCollection(LookalikeService.defaultCollection)
        let same = try service.changeRecipe(collection: LookalikeService.defaultCollection, to: [String: Any]())
        #expect(same.recipeChange == nil && same.recipe == current.recipe)
        // One change at a time.
        for seed in 0..<12 { _ = try service.ingest(bytes: try Self.image(UInt64(seed)), key: "k\(seed)") }
        try service.changeRecipe(collection: LookalikeService.defaultCollection, to: Self.squash)
        #expect(throws: LookalikeError.self) {
            try service.changeRecipe(collection: LookalikeService.defaultCollection, to: ["crop": "center"])
        }
        #expect(try Self.waitForChange(service)?.state == .done)
    }
}

/// What the test's threads report, under a pthread lock (ThreadSanitizer sees it; `Synchronization.Mutex` locks
/// through futex calls it may not).
final class FailureLog: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [String] = []

    func append(_ entry: String) {
        lock.lock()
        defer { lock.unlock() }
        entries.append(entry)
    }

    var all: [String] {
        lock.lock()
        defer { lock.unlock() }
        return entries
    }
}
