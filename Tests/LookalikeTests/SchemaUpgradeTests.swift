import Foundation
@testable import Lookalike
import Storage
import Testing
import TestSupport

/// `Fixtures/schema1.sqlite` was written by the release before collections (schema version 1): five images
/// with metadata stored through the HTTP API, one more stored and deleted. Opening it upgrades it in place.
@Suite(.serialized)
struct SchemaUpgradeTests {
    struct RawImage: Equatable {
        let id: Int64, key: String, sha256: [UInt8], format: String, width: Int64, height: Int64, byteSize: Int64
        let metadata: String, createdAt: Double, updatedAt: Double
        let vector: [UInt8], scheme: Int64, bits: Int64, code: [UInt8], thumbnail: [UInt8]
    }

    /// Every row of a version-1 file, read with plain SQL (not through the store under test).
    static func rawImages(_ path: String) throws -> [RawImage] {
        let database = try Database(path: path, options: .init(readOnly: true))
        return try database.rows("""
            SELECT i.id, i.key, i.sha256, i.format, i.width, i.height, i.byte_size, i.metadata, i.created_at, i.updated_at,
                   v.data, c.scheme_id, c.bits, c.words, t.jpeg
            FROM images i JOIN vectors v ON v.image_id = i.id JOIN codes c ON c.image_id = i.id
            JOIN thumbnails t ON t.image_id = i.id ORDER BY i.id
            """).map { row in
            RawImage(id: row[0].integer!, key: row[1].text!, sha256: row[2].blob!, format: row[3].text!, width: row[4].integer!,
                     height: row[5].integer!, byteSize: row[6].integer!, metadata: row[7].text!, createdAt: row[8].real!,
                     updatedAt: row[9].real!, vector: row[10].blob!, scheme: row[11].integer!, bits: row[12].integer!,
                     code: row[13].blob!, thumbnail: row[14].blob!)
        }
    }

    @Test func aVersionOneDatabaseUpgradesInPlaceWithEveryRowIntact() throws {
        let fixture = try #require(Bundle.module.path(forResource: "schema1", ofType: "sqlite", inDirectory: "Fixtures"))
        let directory = try CollectionTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let configuration = CollectionTests.configuration(directory)
        try FileManager.default.copyItem(atPath: fixture, toPath: configuration.storage.databasePath)
        let before = try Self.rawImages(fixture)
        #expect(before.map(\.key) == ["img-a.png", "img-b.jpg", "img-d.jpg", "img-e.png", "img-f.jpg"])
        #expect(try Database(path: fixture, options: .init(readOnly: true)).userVersion == 1)

        let service = try CollectionTests.open(configuration)
        defer { service.shutdown() }
        let store = try ImageStore(path: configuration.storage.databasePath)
        #expect(try Database(path: configuration.storage.databasePath, options: .init(readOnly: true)).userVersion
                == ImageStore.schemaVersion)
        let collections = try service.listCollections()
        #expect(collections.map(\.name) == ["default"] && collections.first?.images == 5 && collections.first?.sequence == 5)
        #expect(try store.integrityCheck() == "ok")

        for raw in before {
            let record = try #require(try store.image(key: raw.key, collection: ImageStore.defaultCollectionID))
            #expect(record.id == raw.id && record.sha256 == raw.sha256 && record.format == raw.format)
            #expect(record.width == Int(raw.width) && record.height == Int(raw.height) && record.byteSize == Int(raw.byteSize))
            #expect(record.metadata == raw.metadata && record.createdAt == raw.createdAt && record.updatedAt == raw.updatedAt)
            let vector = try #require(try store.vector(id: raw.id))
            #expect(vector.values.withUnsafeBytes { Array($0) } == raw.vector)  // byte-identical float32
            let code = try #require(try store.code(id: raw.id))
            #expect(code.schemeID == raw.scheme && Int64(code.bits) == raw.bits)
            #expect(code.words.withUnsafeBytes { Array($0) } == raw.code)
            #expect(try store.thumbnail(key: raw.key, collection: ImageStore.defaultCollectionID) == raw.thumbnail)
            // Searchable: each image is its own best match, through the old routes' collection.
            let found = try service.search(vector: vector.values, options: .init(k: 1))
            #expect(found.first?.key == raw.key && found.first.map { $0.score > 0.999 } == true)
        }
        // The version-1 code scheme became the default collection's, so no code was recomputed.
        #expect(try service.codeScheme().id == before[0].scheme)
        // New writes continue the sequence; the old unique-key rule is now per collection.
        _ = try service.createCollection(name: "other")
        let copy = try #require(try store.thumbnail(key: "img-a.png", collection: ImageStore.defaultCollectionID))
        #expect(!copy.isEmpty)
        #expect(try service.delete(key: "img-a.png"))
        #expect(try service.statistics().sequence == 6)
    }
}
