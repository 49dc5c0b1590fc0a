import Foundation
import PostgresStorage
import Storage
import Testing
import TestSupport

/// The behaviour every ``ImageRepository`` shares, run against SQLite and PostgreSQL alike (PostgreSQL when
/// `LOOKALIKE_TEST_POSTGRES_URL` names a server, which `scripts/test` always starts).
struct RepositoryContractTests {
    enum Backend: String, CustomTestStringConvertible, Sendable {
        case sqlite, postgresql

        static var available: [Backend] {
            #if PostgreSQL
            TestPostgres.isAvailable ? [.sqlite, .postgresql] : [.sqlite]
            #else
            [.sqlite]
            #endif
        }

        var testDescription: String { rawValue }

        /// A new, empty store; `reopen` opens a second one on the same data (a second process or node).
        func open(keepOriginals: Bool = false) throws -> (store: any ImageRepository, reopen: () throws -> any ImageRepository) {
            switch self {
            case .sqlite:
                let path = ImageStoreTests.temporaryPath()
                let options = ImageStore.Options(keepOriginals: keepOriginals)
                return (try ImageStore(path: path, options: options), { try ImageStore(path: path, options: options) })
            case .postgresql:
                #if PostgreSQL
                let url = try TestPostgres.freshDatabase()
                let options = PostgresStore.Options(keepOriginals: keepOriginals)
                return (try PostgresStore(location: PostgresLocation(url: url), options: options),
                        { try PostgresStore(location: PostgresLocation(url: url), options: options) })
                #else
                preconditionFailure("no PostgreSQL store in this build")
                #endif
            }
        }
    }

    static func defaultCollection(_ store: any ImageRepository) throws -> Int64 {
        try #require(try store.collection(named: ImageStore.defaultCollectionName)).id
    }

    @Test(arguments: Backend.available)
    func roundTripsEveryField(backend: Backend) throws {
        let store = try backend.open(keepOriginals: true).store
        let collection = try Self.defaultCollection(store)
        let scheme = try store.saveHashScheme(kind: "simhash", bits: 256, dimension: 1280, parameters: [1, 2, 3])
        let image = ImageStoreTests.write("Café ☕️ 猫", seed: 3, metadata: #"{"sku": "A-1", "price": 9.5, "tags": ["x"]}"#, scheme: scheme)
        let outcome = try store.upsert(image, collection: collection)
        #expect(!outcome.replaced)
        #expect(outcome.record.sequence == 1)
        let loaded = try #require(try store.image(key: "Café ☕️ 猫", collection: collection))
        #expect(loaded == outcome.record)
        #expect(loaded.sha256 == image.sha256 && loaded.width == 640 && loaded.height == 480 && loaded.byteSize == 12345)
        #expect(loaded.metadata == #"{"price":9.5,"sku":"A-1","tags":["x"]}"#)
        let vector = try #require(try store.vector(id: loaded.id))
        #expect(vector.model == "efficientnet-lite0@test")
        #expect(vector.values == image.vector)  // bit-identical float32
        #expect(try store.code(id: loaded.id) == image.code)
        #expect(try store.thumbnail(key: image.key, collection: collection) == image.thumbnail)
        #expect(try store.original(key: image.key, collection: collection) == [1, 2, 3])
        let saved = try #require(try store.hashScheme(id: scheme))
        #expect(saved.parameters == [1, 2, 3] && saved.kind == "simhash" && saved.bits == 256 && saved.dimension == 1280)
        #expect(try store.images(sha256: image.sha256, collection: collection).map(\.key) == [image.key])
        #expect(try store.images(ids: [loaded.id, 999_999]).keys.sorted() == [loaded.id])
        #expect(try store.indexEntries(ids: [loaded.id, 999_999]) == [
            loaded.id: IndexEntry(model: "efficientnet-lite0@test", vector: image.vector, code: image.code)])
        #expect(try store.count(collection: collection) == 1)
        #expect(try store.totalCount() == 1)
        let usage = try store.usage(collection: collection)
        #expect(usage.images == 1 && usage.bytes == 1280 * 4 + 32 + 3 + 3)
    }

    /// A re-embedding's switch: vectors, codes, settings and scheme change together; records, sequences and other
    /// collections' rows do not; ids no longer stored are skipped. Settings alone can change too.
    @Test(arguments: Backend.available)
    func aSwitchReplacesVectorsCodesAndSettingsTogether(backend: Backend) throws {
        let store = try backend.open().store
        let collection = try Self.defaultCollection(store)
        let other = try store.createCollection(name: "other", settings: "{}").id
        let scheme = try store.saveHashScheme(kind: "simhash", bits: 256, dimension: 1280, parameters: [1])
        let first = try store.upsert(ImageStoreTests.write("a", seed: 1, scheme: scheme), collection: collection).record
        let second = try store.upsert(ImageStoreTests.write("b", seed: 2, scheme: scheme), collection: collection).record
        let elsewhere = try store.upsert(ImageStoreTests.write("a", seed: 3, scheme: scheme), collection: other).record
        try store.updateSettings(#"{"recipe_change":{"crop":"squash"}}"#, collection: collection)
        #expect(try store.collection(named: ImageStore.defaultCollectionName)?.settings == #"{"recipe_change":{"crop":"squash"}}"#)

        let next = try store.saveHashScheme(kind: "simhash", bits: 256, dimension: 1280, parameters: [2])
        let replacements = [first.id, second.id, 999_999].enumerated().map { offset, id in
            VectorReplacement(id: id, model: "efficientnet-lite0+squash@test", vector: [Float](repeating: Float(offset + 1), count: 1280),
                              code: StoredCode(schemeID: next, bits: 256, words: [UInt64(offset), 1, 2, 3]))
        }
        let sequence = try #require(try store.collection(named: ImageStore.defaultCollectionName)).lastSequence
        try store.switchVectors(replacements, settings: #"{"recipe":{"crop":"squash"}}"#, codeScheme: next, collection: collection)
        let switched = try #require(try store.collection(named: ImageStore.defaultCollectionName))
        #expect(switched.settings == #"{"recipe":{"crop":"squash"}}"# && switched.codeSchemeID == next)
        #expect(switched.lastSequence == sequence)
        for (offset, record) in [first, second].enumerated() {
            let vector = try #require(try store.vector(id: record.id))
            #expect(vector.model == "efficientnet-lite0+squash@test" && vector.values == [Float](repeating: Float(offset + 1), count: 1280))
            #expect(try store.code(id: record.id) == StoredCode(schemeID: next, bits: 256, words: [UInt64(offset), 1, 2, 3]))
            #expect(try store.image(key: record.key, collection: collection) == record)
        }
        #expect(try store.vector(id: elsewhere.id)?.model == "efficientnet-lite0@test")
        #expect(try store.count(collection: collection) == 2)
    }

    /// Decisions: stored with their images (other collections' ids left out), listed oldest first, undone once,
    /// and a member goes with its image.
    @Test(arguments: Backend.available)
    func decisionsKeepTheirImagesAndGoWithThem(backend: Backend) throws {
        let store = try backend.open().store
        let collection = try Self.defaultCollection(store)
        let other = try store.createCollection(name: "other", settings: "{}").id
        let scheme = try store.saveHashScheme(kind: "simhash", bits: 256, dimension: 1280, parameters: [1])
        let ids = try ["a", "b", "c"].enumerated().map { offset, key in
            try store.upsert(ImageStoreTests.write(key, seed: offset + 1, scheme: scheme), collection: collection).record.id
        }
        let foreign = try store.upsert(ImageStoreTests.write("x", seed: 9, scheme: scheme), collection: other).record.id
        let first = try store.addDecision(images: [ids[1], ids[0], foreign], collection: collection)
        #expect(first.imageIDs == [ids[0], ids[1]])
        let second = try store.addDecision(images: [ids[1], ids[2]], collection: collection)
        #expect(try store.decisions(collection: collection) == [first, second])
        #expect(try store.decisions(collection: other).isEmpty)
        #expect(try !store.deleteDecision(id: first.id, collection: other))
        try store.delete(key: "b", collection: collection)
        #expect(try store.decisions(collection: collection).map(\.imageIDs) == [[ids[0]], [ids[2]]])
        #expect(try store.deleteDecision(id: first.id, collection: collection))
        #expect(try !store.deleteDecision(id: first.id, collection: collection))
        #expect(try store.decisions(collection: collection).map(\.id) == [second.id])
        #expect(throws: (any Error).self) { try store.addDecision(images: ids, collection: 999_999) }
        #expect(try store.deleteCollection(id: collection))
        #expect(try store.decisions(collection: collection).isEmpty)
    }

    @Test(arguments: Backend.available)
    func replacingKeepsTheIDAndDeletingLeavesATombstone(backend: Backend) throws {
        let store = try backend.open().store
        let collection = try Self.defaultCollection(store)
        let scheme = try store.saveHashScheme(kind: "simhash", bits: 256, dimension: 1280, parameters: [])
        let first = try store.upsert(ImageStoreTests.write("a", seed: 1, scheme: scheme), collection: collection).record
        let second = try store.upsert(ImageStoreTests.write("a", seed: 2, scheme: scheme), collection: collection)
        #expect(second.replaced && second.record.id == first.id && second.record.createdAt == first.createdAt)
        #expect(second.record.sequence == 2)
        #expect(try store.vector(id: first.id)?.values == ImageStoreTests.write("a", seed: 2).vector)
        #expect(try store.original(key: "a", collection: collection) == nil)  // originals off
        let other = try store.upsert(ImageStoreTests.write("b", seed: 3, scheme: scheme), collection: collection).record
        let deleted = try #require(try store.delete(key: "a", collection: collection))
        #expect(deleted == DeleteOutcome(id: first.id, sequence: 4))
        #expect(try store.delete(key: "a", collection: collection) == nil)
        #expect(try store.image(key: "a", collection: collection) == nil)
        #expect(try store.vector(id: first.id) == nil && store.code(id: first.id) == nil)
        #expect(try store.thumbnail(key: "a", collection: collection) == nil)
        // Each id's latest state after a sequence, in sequence order.
        #expect(try store.changes(collection: collection, after: 0, limit: 10) == [
            StoreChange(kind: .upsert, id: other.id, key: "b", sequence: 3),
            StoreChange(kind: .delete, id: first.id, key: "a", sequence: 4),
        ])
        #expect(try store.changes(collection: collection, after: 3, limit: 10).map(\.sequence) == [4])
        #expect(try store.changes(collection: collection, after: 0, limit: 1).map(\.sequence) == [3])
        try store.compactTombstones(collection: collection, through: 4)
        // Below the horizon, a marker says deletions may be missing; at or above it, none.
        #expect(try store.changes(collection: collection, after: 0, limit: 10).map(\.kind) == [.compacted, .upsert])
        #expect(try store.changes(collection: collection, after: 0, limit: 10).first?.sequence == 4)
        #expect(try store.changes(collection: collection, after: 4, limit: 10).isEmpty)
        #expect(try store.collection(named: ImageStore.defaultCollectionName)?.compactedThrough == 4)
        try store.compactTombstones(collection: collection, through: 1)  // never lowered
        try store.compactTombstones(collection: collection, through: 1_000)  // never past the last sequence
        #expect(try store.collection(named: ImageStore.defaultCollectionName)?.compactedThrough == 4)
        // A metadata change is a change of its own.
        let patched = try #require(try store.updateMetadata(key: "b", collection: collection, metadata: #"{"x": 1}"#))
        #expect(patched.sequence == 5 && patched.metadata == #"{"x":1}"#)
        #expect(try store.updateMetadata(key: "missing", collection: collection, metadata: "{}") == nil)
        #expect(try store.collection(named: ImageStore.defaultCollectionName)?.lastSequence == 5)
        let plain = try store.upsert(ImageStoreTests.write("c"), collection: collection).record
        var listed: [String] = []
        try store.forEachKeyAndMetadata(collection: collection) { id, key, metadata in listed.append("\(id) \(key) \(metadata)") }
        #expect(listed == ["\(other.id) b {\"x\":1}", "\(plain.id) c {}"])
    }

    @Test(arguments: Backend.available)
    func invalidRecordsAreRefusedAndStoreNothing(backend: Backend) throws {
        let store = try backend.open().store
        let collection = try Self.defaultCollection(store)
        for key in ["", String(repeating: "x", count: 257), "a\u{0}b", "tab\there", " lead", "\u{202E}rtl"] {
            #expect(throws: StorageError.self) { try store.upsert(ImageStoreTests.write(key), collection: collection) }
        }
        for metadata in ["[1,2]", "42", "{", "null"] {
            #expect(throws: StorageError.self) { try store.upsert(ImageStoreTests.write("k", metadata: metadata), collection: collection) }
        }
        var infinite = ImageStoreTests.write("k")
        infinite.vector[7] = .infinity
        #expect(throws: StorageError.self) { try store.upsert(infinite, collection: collection) }
        #expect(try store.count(collection: collection) == 0)
        #expect(try store.collection(named: ImageStore.defaultCollectionName)?.lastSequence == 0)
        #expect(throws: StorageError.unknownCollection(424_242)) {
            try store.upsert(ImageStoreTests.write("k"), collection: 424_242)
        }
    }

    @Test(arguments: Backend.available)
    func collectionsAreSeparateAndDeletedWhole(backend: Backend) throws {
        let store = try backend.open().store
        let scheme = try store.saveHashScheme(kind: "simhash", bits: 256, dimension: 1280, parameters: [])
        let shoes = try store.createCollection(name: "shoes", settings: #"{"codeBits":256}"#)
        #expect(shoes.lastSequence == 0 && shoes.codeSchemeID == nil && shoes.settings == #"{"codeBits":256}"#)
        #expect(throws: StorageError.collectionExists("shoes")) { try store.createCollection(name: "shoes", settings: "{}") }
        #expect(throws: StorageError.self) { try store.createCollection(name: "Bad Name", settings: "{}") }
        let bags = try store.createCollection(name: "bags", settings: "{}")
        #expect(try store.collections().map(\.name) == ["bags", "default", "shoes"])
        try store.setCodeScheme(scheme, collection: shoes.id)
        #expect(try store.collection(named: "shoes")?.codeSchemeID == scheme)
        // The same key in two collections: two images, two sequences.
        let inShoes = try store.upsert(ImageStoreTests.write("same", seed: 1, scheme: scheme), collection: shoes.id).record
        let inBags = try store.upsert(ImageStoreTests.write("same", seed: 2, scheme: scheme), collection: bags.id).record
        #expect(inShoes.id != inBags.id && inShoes.sequence == 1 && inBags.sequence == 1)
        #expect(try store.vector(id: inBags.id)?.values == ImageStoreTests.write("same", seed: 2).vector)
        #expect(try store.deleteCollection(id: shoes.id))
        #expect(try !store.deleteCollection(id: shoes.id))
        #expect(try store.collection(named: "shoes") == nil)
        #expect(try store.image(key: "same", collection: shoes.id) == nil && store.vector(id: inShoes.id) == nil)
        #expect(try store.image(key: "same", collection: bags.id) == inBags)
        #expect(try store.totalCount() == 1)
    }

    @Test(arguments: Backend.available)
    func listingPagesByCodePointAndStreamsAreComplete(backend: Backend) throws {
        let store = try backend.open().store
        let collection = try Self.defaultCollection(store)
        let scheme = try store.saveHashScheme(kind: "simhash", bits: 256, dimension: 1280, parameters: [])
        // Upper case before lower case, ASCII before accents before CJK and astral: code point order.
        var keys = ["b", "B", "a", "é", "e", "z-9", "Z", "猫", "🐈", "10", "9"] + (0..<30).map { String(format: "img-%03d", $0) }
        keys.shuffle()
        var ids: [Int64] = []
        for (seed, key) in keys.enumerated() {
            ids.append(try store.upsert(ImageStoreTests.write(key, seed: seed, scheme: scheme), collection: collection).record.id)
        }
        var listed: [String] = []
        var cursor: String? = nil
        repeat {
            let page = try store.list(collection: collection, limit: 7, after: cursor)
            listed += page.map(\.key)
            cursor = page.count == 7 ? page.last?.key : nil
        } while cursor != nil
        #expect(listed == keys.sorted { Array($0.unicodeScalars.map(\.value)).lexicographicallyPrecedes($1.unicodeScalars.map(\.value)) })
        var streamed: [Int64] = []
        let sequence = try store.forEachVector(collection: collection, model: "efficientnet-lite0@test") { id, vector in
            #expect(vector.count == 1280)
            streamed.append(id)
        }
        #expect(streamed == ids.sorted() && sequence == Int64(keys.count))
        #expect(try store.forEachVector(collection: collection, model: "another@model") { _, _ in Issue.record("other model") } == Int64(keys.count))
        var codes = 0
        try store.forEachCode(collection: collection) { _, code in
            #expect(code.schemeID == scheme && code.bits == 256)
            codes += 1
        }
        #expect(codes == keys.count)
        // New codes under a new scheme replace the old ones in one call.
        let itq = try store.saveHashScheme(kind: "itq", bits: 256, dimension: 1280, parameters: [0.5])
        try store.updateCodes(ids.map { ($0, StoredCode(schemeID: itq, bits: 256, words: [1, 2, 3, UInt64($0)])) } + [(999_999, StoredCode(schemeID: itq, bits: 256, words: [0, 0, 0, 0]))])
        for id in ids { #expect(try store.code(id: id) == StoredCode(schemeID: itq, bits: 256, words: [1, 2, 3, UInt64(id)])) }
    }

    /// Writers on two connections (two processes, or two nodes) take sequence numbers in commit order: a
    /// follower that reads "after its watermark" while they write, and moves the watermark to the last number
    /// it saw, ends with every image, none skipped.
    @Test(arguments: Backend.available)
    func aFollowerReadingWhileOthersWriteMissesNothing(backend: Backend) throws {
        let (store, reopen) = try backend.open()
        let collection = try Self.defaultCollection(store)
        let scheme = try store.saveHashScheme(kind: "simhash", bits: 256, dimension: 1280, parameters: [])
        let writers = [store, try reopen()]
        let perWriter = 60
        let done = LockedFlag()
        var seen: Set<Int64> = []
        var watermark: Int64 = 0
        let follower = try reopen()
        let written = LockedList<Int64>()
        DispatchQueue.global().async {
            _ = ThreadFanOut.run(count: 4) { lane in
                for index in 0..<perWriter {
                    let key = "w\(lane)-\(index)"
                    let outcome = try? writers[lane % 2].upsert(
                        ImageStoreTests.write(key, seed: lane * 1000 + index, scheme: scheme), collection: collection)
                    if let outcome { written.append(outcome.record.id) }
                    if index % 10 == 9 { _ = try? writers[lane % 2].delete(key: "w\(lane)-\(index - 5)", collection: collection) }
                }
            }
            done.set()
        }
        var deletes: Set<Int64> = []
        while true {
            let finished = done.isSet
            for change in try follower.changes(collection: collection, after: watermark, limit: 50) {
                #expect(change.sequence > watermark)
                watermark = change.sequence
                if change.kind == .upsert { seen.insert(change.id) } else { deletes.insert(change.id) }
            }
            if try finished && follower.changes(collection: collection, after: watermark, limit: 1).isEmpty { break }
        }
        let all = Set(written.values)
        #expect(all.count == 4 * perWriter)
        #expect(seen.union(deletes) == all)
        #expect(deletes.count == 4 * (perWriter / 10))
        // Sequence numbers are 1…N without a gap: one per write, in one order.
        #expect(watermark == Int64(4 * perWriter + 4 * (perWriter / 10)))
        #expect(try store.count(collection: collection) == 4 * perWriter - deletes.count)
    }
}

/// A list appended to from several threads.
final class LockedList<Element: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Element] = []
    func append(_ item: Element) { lock.withLock { items.append(item) } }
    var values: [Element] { lock.withLock { items } }
}
