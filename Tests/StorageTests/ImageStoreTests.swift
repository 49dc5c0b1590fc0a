import Foundation
import Testing
@testable import Storage
import TestSupport

struct ImageStoreTests {
    static func temporaryPath(_ name: String = #function) -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lookalike-tests-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory.appendingPathComponent("store.sqlite").path
    }

    /// A new store in a temporary folder, with hash scheme 1 registered.
    static func openStore(options: ImageStore.Options = .init()) throws -> ImageStore {
        let store = try ImageStore(path: temporaryPath(), options: options)
        #expect(try store.saveHashScheme(kind: "simhash", bits: 256, dimension: 1280, parameters: []) == 1)
        return store
    }

    static func write(_ key: String, seed: Int = 1, metadata: String = "{}", scheme: Int64 = 1) -> ImageWrite {
        var random = SeededRandom(seed: UInt64(seed))
        return ImageWrite(
            key: key, sha256: (0..<32).map { UInt8(($0 + seed) % 256) }, format: "png", width: 640, height: 480,
            byteSize: 12345, metadata: metadata, model: "efficientnet-lite0@test", vector: random.floats(1280),
            code: StoredCode(schemeID: scheme, bits: 256, words: (0..<4).map { _ in random.next() }),
            thumbnail: [0xFF, 0xD8, UInt8(seed % 256)], original: [1, 2, 3])
    }

    @Test func roundTripsEveryField() throws {
        let store = try ImageStore(path: Self.temporaryPath(), options: .init(keepOriginals: true))
        let scheme = try store.saveHashScheme(kind: "simhash", bits: 256, dimension: 1280, parameters: [1, 2, 3])
        let image = Self.write("Café ☕️ 猫", seed: 3, metadata: #"{"sku": "A-1", "price": 9.5, "tags": ["x"]}"#, scheme: scheme)
        let outcome = try store.upsert(image)
        let record = outcome.record
        #expect(!outcome.replaced)
        let loaded = try #require(try store.image(key: "Café ☕️ 猫"))
        #expect(loaded == record)
        #expect(loaded.sha256 == image.sha256 && loaded.width == 640 && loaded.height == 480 && loaded.byteSize == 12345)
        #expect(loaded.format == "png")
        #expect(loaded.metadata == #"{"price":9.5,"sku":"A-1","tags":["x"]}"#)
        let vector = try #require(try store.vector(id: record.id))
        #expect(vector.model == "efficientnet-lite0@test")
        #expect(vector.values == image.vector)  // bit-identical float32
        #expect(try store.code(id: record.id) == image.code)
        #expect(try store.thumbnail(key: image.key) == image.thumbnail)
        #expect(try store.original(key: image.key) == [1, 2, 3])
        #expect(try store.hashScheme(id: scheme)?.parameters == [1, 2, 3])
        #expect(try store.images(sha256: image.sha256).map(\.key) == [image.key])
        #expect(try store.integrityCheck() == "ok")
    }

    @Test func upsertReplacesAtomicallyAndKeepsTheID() throws {
        let store = try Self.openStore()
        let first = try store.upsert(Self.write("a", seed: 1)).record
        let second = try store.upsert(Self.write("a", seed: 2))
        #expect(second.replaced)
        #expect(second.record.id == first.id)
        #expect(second.record.createdAt == first.createdAt)
        #expect(try store.vector(id: first.id)?.values == Self.write("a", seed: 2).vector)
        #expect(try store.count() == 1)
        #expect(try store.original(key: "a") == nil)  // originals are off by default
    }

    @Test func deleteRemovesEverything() throws {
        let store = try Self.openStore()
        let id = try store.upsert(Self.write("gone")).record.id
        #expect(try store.delete(key: "gone")?.id == id)
        #expect(try store.delete(key: "gone") == nil)
        #expect(try store.image(key: "gone") == nil)
        #expect(try store.vector(id: id) == nil)
        #expect(try store.code(id: id) == nil)
        #expect(try store.thumbnail(key: "gone") == nil)
    }

    @Test(arguments: ["", String(repeating: "x", count: 257), "a\u{0}b", "tab\there", "new\nline", " lead", "trail ", "\u{202E}rtl"])
    func invalidKeysAreRejected(key: String) throws {
        let store = try Self.openStore()
        #expect(throws: StorageError.self) { try store.upsert(Self.write(key)) }
        #expect(try store.count() == 0)
    }

    @Test(arguments: ["[1,2]", "\"text\"", "42", "{", "null", "{\"a\": " + String(repeating: "x", count: 20_000).debugDescription + "}"])
    func invalidMetadataIsRejected(metadata: String) throws {
        let store = try Self.openStore()
        #expect(throws: StorageError.self) { try store.upsert(Self.write("k", metadata: metadata)) }
        #expect(try store.count() == 0)
    }

    @Test func listPaginatesByKey() throws {
        let store = try Self.openStore()
        for index in 0..<25 { try store.upsert(Self.write(String(format: "img-%03d", index), seed: index)) }
        var keys: [String] = []
        var cursor: String? = nil
        repeat {
            let page = try store.list(limit: 10, after: cursor)
            keys += page.map(\.key)
            cursor = page.count == 10 ? page.last?.key : nil
        } while cursor != nil
        #expect(keys == (0..<25).map { String(format: "img-%03d", $0) })
        var streamed = 0
        try store.forEachVector(model: "efficientnet-lite0@test") { _, vector in
            #expect(vector.count == 1280)
            streamed += 1
        }
        #expect(streamed == 25)
    }

    @Test func damagedAndForeignFilesGiveClearErrors() throws {
        let garbage = Self.temporaryPath()
        try Data(TestImages.randomBytes(count: 8192, seed: 5)).write(to: URL(fileURLWithPath: garbage))
        #expect(throws: StorageError.self) { try ImageStore(path: garbage) }

        let foreign = Self.temporaryPath()
        let other = try Database(path: foreign)
        try other.execute("CREATE TABLE customers (id INTEGER)")
        #expect(throws: StorageError.self) { try ImageStore(path: foreign) }

        let newer = Self.temporaryPath()
        _ = try ImageStore(path: newer)
        try Database(path: newer).setUserVersion(99)
        #expect(throws: StorageError.unsupportedSchema(found: 99, supported: ImageStore.schemaVersion)) {
            try ImageStore(path: newer)
        }
    }

    @Test func readersRunWhileAWriterInserts() async throws {
        let store = try Self.openStore()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for index in 0..<200 { try store.upsert(Self.write("w\(index)", seed: index)) }
            }
            for _ in 0..<4 {
                group.addTask {
                    var lastCount = 0
                    for _ in 0..<100 {
                        let count = try store.count()
                        #expect(count >= lastCount)  // committed rows never disappear
                        lastCount = count
                        var seen = 0
                        try store.forEachVector(model: "efficientnet-lite0@test") { _, vector in
                            #expect(vector.count == 1280)
                            seen += 1
                        }
                        #expect(seen >= count)  // each snapshot has a vector for every record it counted
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try store.count() == 200)
    }
}
