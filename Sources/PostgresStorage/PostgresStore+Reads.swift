#if PostgreSQL
import Foundation
import Logging
import NIOCore
import PostgresNIO
public import Storage

/// Reads and the change sequence.
extension PostgresStore {
    // MARK: - Reads

    static let recordColumns =
        "id, collection_id, key, sha256, format, width, height, byte_size, metadata, created_at, updated_at, seq"

    static func record(_ row: PostgresRow) throws -> StoredImage {
        let cells = row.makeRandomAccess()
        return StoredImage(
            id: try cells[0].decode(Int64.self), collectionID: try cells[1].decode(Int64.self), key: try cells[2].decode(String.self),
            sha256: bytes(try cells[3].decode(ByteBuffer.self)), format: try cells[4].decode(String.self),
            width: Int(try cells[5].decode(Int64.self)), height: Int(try cells[6].decode(Int64.self)),
            byteSize: Int(try cells[7].decode(Int64.self)), metadata: try cells[8].decode(String.self),
            createdAt: try cells[9].decode(Double.self), updatedAt: try cells[10].decode(Double.self),
            sequence: try cells[11].decode(Int64.self))
    }

    public func image(key: String, collection: Int64) throws -> StoredImage? {
        try run("SELECT \(unescaped: Self.recordColumns) FROM images WHERE collection_id = \(collection) AND key = \(key)")
            .first.map(Self.record)
    }

    public func images(ids: [Int64]) throws -> [Int64: StoredImage] {
        guard !ids.isEmpty else { return [:] }
        var result: [Int64: StoredImage] = [:]
        for chunk in stride(from: 0, to: ids.count, by: 1_000) {
            let part = Array(ids[chunk..<min(chunk + 1_000, ids.count)])
            for row in try run("SELECT \(unescaped: Self.recordColumns) FROM images WHERE id = ANY(\(part))") {
                let record = try Self.record(row)
                result[record.id] = record
            }
        }
        return result
    }

    public func images(sha256: [UInt8], collection: Int64) throws -> [StoredImage] {
        try run("""
            SELECT \(unescaped: Self.recordColumns) FROM images WHERE collection_id = \(collection) AND sha256 = \(Self.buffer(sha256))
            ORDER BY key
            """).map(Self.record)
    }

    public func list(collection: Int64, limit: Int, after afterKey: String?) throws -> [StoredImage] {
        let limit = Int64(max(0, min(limit, 10_000)))
        if let afterKey {
            return try run("""
                SELECT \(unescaped: Self.recordColumns) FROM images WHERE collection_id = \(collection) AND key > \(afterKey)
                ORDER BY key LIMIT \(limit)
                """).map(Self.record)
        }
        return try run("SELECT \(unescaped: Self.recordColumns) FROM images WHERE collection_id = \(collection) ORDER BY key LIMIT \(limit)")
            .map(Self.record)
    }

    public func count(collection: Int64) throws -> Int {
        Int(try run("SELECT count(*) FROM images WHERE collection_id = \(collection)").first?.makeRandomAccess()[0].decode(Int64.self) ?? 0)
    }

    public func totalCount() throws -> Int {
        Int(try run("SELECT count(*) FROM images").first?.makeRandomAccess()[0].decode(Int64.self) ?? 0)
    }

    public func thumbnail(key: String, collection: Int64) throws -> [UInt8]? {
        try run("""
            SELECT t.jpeg FROM thumbnails t JOIN images i ON i.id = t.image_id WHERE i.collection_id = \(collection) AND i.key = \(key)
            """).first.map { Self.bytes(try $0.makeRandomAccess()[0].decode(ByteBuffer.self)) }
    }

    public func original(key: String, collection: Int64) throws -> [UInt8]? {
        try run("""
            SELECT o.bytes FROM originals o JOIN images i ON i.id = o.image_id WHERE i.collection_id = \(collection) AND i.key = \(key)
            """).first.map { Self.bytes(try $0.makeRandomAccess()[0].decode(ByteBuffer.self)) }
    }

    public func vector(id: Int64) throws -> (model: String, values: [Float])? {
        guard let row = try run("SELECT model, data FROM vectors WHERE image_id = \(id)").first?.makeRandomAccess() else { return nil }
        return (try row[0].decode(String.self), Self.floats(try row[1].decode(ByteBuffer.self)))
    }

    public func code(id: Int64) throws -> StoredCode? {
        guard let row = try run("SELECT scheme_id, bits, words FROM codes WHERE image_id = \(id)").first?.makeRandomAccess() else {
            return nil
        }
        return StoredCode(schemeID: try row[0].decode(Int64.self), bits: Int(try row[1].decode(Int64.self)),
                          words: Self.words(try row[2].decode(ByteBuffer.self)))
    }

    public func indexEntries(ids: [Int64]) throws -> [Int64: IndexEntry] {
        var result: [Int64: IndexEntry] = [:]
        for chunk in stride(from: 0, to: ids.count, by: 1_000) {
            let part = Array(ids[chunk..<min(chunk + 1_000, ids.count)])
            for row in try run("""
                SELECT v.image_id, v.model, v.data, c.scheme_id, c.bits, c.words
                FROM vectors v LEFT JOIN codes c ON c.image_id = v.image_id WHERE v.image_id = ANY(\(part))
                """) {
                let cells = row.makeRandomAccess()
                let code = try cells[3].decode(Int64?.self).map { scheme in
                    StoredCode(schemeID: scheme, bits: Int(try cells[4].decode(Int64.self)), words: Self.words(try cells[5].decode(ByteBuffer.self)))
                }
                result[try cells[0].decode(Int64.self)] = IndexEntry(
                    model: try cells[1].decode(String.self), vector: Self.floats(try cells[2].decode(ByteBuffer.self)), code: code)
            }
        }
        return result
    }

    /// Rows per page of a stream: large enough to amortise a round trip, small enough to keep memory flat.
    static let streamPage: Int64 = 2_000

    @discardableResult
    public func forEachVector(collection: Int64, model: String, _ body: (Int64, UnsafeBufferPointer<Float>) throws -> Void) throws -> Int64 {
        // One repeatable-read transaction: the pages and the sequence describe one moment.
        try transaction(readOnly: true) { connection in
            let sequence = try run("SELECT last_seq FROM collections WHERE id = \(collection)", on: connection)
                .first?.makeRandomAccess()[0].decode(Int64.self) ?? 0
            var after: Int64 = 0
            var values: [Float] = []
            while true {
                let rows = try run("""
                    SELECT v.image_id, v.data FROM vectors v JOIN images i ON i.id = v.image_id
                    WHERE i.collection_id = \(collection) AND v.model = \(model) AND v.image_id > \(after)
                    ORDER BY v.image_id LIMIT \(Self.streamPage)
                    """, on: connection)
                for row in rows {
                    let cells = row.makeRandomAccess()
                    after = try cells[0].decode(Int64.self)
                    Self.floats(try cells[1].decode(ByteBuffer.self), into: &values)
                    try values.withUnsafeBufferPointer { try body(after, $0) }
                }
                if rows.count < Int(Self.streamPage) { return sequence }
            }
        }
    }

    public func forEachCode(collection: Int64, _ body: (Int64, StoredCode) throws -> Void) throws {
        try transaction(readOnly: true) { connection in
            var after: Int64 = 0
            while true {
                let rows = try run("""
                    SELECT c.image_id, c.scheme_id, c.bits, c.words FROM codes c JOIN images i ON i.id = c.image_id
                    WHERE i.collection_id = \(collection) AND c.image_id > \(after) ORDER BY c.image_id LIMIT \(Self.streamPage)
                    """, on: connection)
                for row in rows {
                    let cells = row.makeRandomAccess()
                    after = try cells[0].decode(Int64.self)
                    try body(after, StoredCode(schemeID: try cells[1].decode(Int64.self), bits: Int(try cells[2].decode(Int64.self)),
                                               words: Self.words(try cells[3].decode(ByteBuffer.self))))
                }
                if rows.count < Int(Self.streamPage) { return }
            }
        }
    }

    public func forEachKeyAndMetadata(collection: Int64, _ body: (Int64, String, String) throws -> Void) throws {
        try transaction(readOnly: true) { connection in
            var after: Int64 = 0
            while true {
                let rows = try run("""
                    SELECT id, key, metadata FROM images WHERE collection_id = \(collection) AND id > \(after)
                    ORDER BY id LIMIT \(Self.streamPage)
                    """, on: connection)
                for row in rows {
                    let cells = row.makeRandomAccess()
                    after = try cells[0].decode(Int64.self)
                    try body(after, try cells[1].decode(String.self), try cells[2].decode(String.self))
                }
                if rows.count < Int(Self.streamPage) { return }
            }
        }
    }

    public func decisions(collection: Int64) throws -> [StoredDecision] {
        StoredDecision.grouping(try run("""
            SELECT d.id, d.created_at, m.image_id FROM duplicate_decisions d
            LEFT JOIN duplicate_decision_members m ON m.decision_id = d.id
            WHERE d.collection_id = \(collection) ORDER BY d.id, m.image_id
            """).map { row in
                let cells = row.makeRandomAccess()
                return (try cells[0].decode(Int64.self), try cells[1].decode(Double.self), try cells[2].decode(Int64?.self))
            })
    }

    public func hashScheme(id: Int64) throws -> StoredHashScheme? {
        guard let row = try run("SELECT id, kind, bits, dimension, parameters, created_at FROM hash_schemes WHERE id = \(id)")
            .first?.makeRandomAccess() else { return nil }
        return StoredHashScheme(
            id: try row[0].decode(Int64.self), kind: try row[1].decode(String.self), bits: Int(try row[2].decode(Int64.self)),
            dimension: Int(try row[3].decode(Int64.self)), parameters: Self.floats(try row[4].decode(ByteBuffer.self)),
            createdAt: try row[5].decode(Double.self))
    }

    public func changes(collection: Int64, after sequence: Int64, limit: Int) throws -> [StoreChange] {
        let limit = Int64(max(0, limit))
        // One statement, so the horizon and the changes come from one snapshot.
        return try run("""
            SELECT kind, id, key, seq FROM (
                SELECT 2::BIGINT AS kind, 0::BIGINT AS id, ''::TEXT COLLATE "C" AS key, compacted_through AS seq
                FROM collections WHERE id = \(collection) AND compacted_through > \(sequence)
                UNION ALL
                SELECT 0::BIGINT, id, key, seq FROM images WHERE collection_id = \(collection) AND seq > \(sequence)
                UNION ALL
                SELECT 1::BIGINT, image_id, key, seq FROM tombstones WHERE collection_id = \(collection) AND seq > \(sequence)
            ) AS changes ORDER BY kind = 2 DESC, seq LIMIT \(limit)
            """).map { row in
            let cells = row.makeRandomAccess()
            let kind = try cells[0].decode(Int64.self)
            return StoreChange(kind: StoreChange.Kind(code: kind), id: try cells[1].decode(Int64.self),
                               key: try cells[2].decode(String.self), sequence: try cells[3].decode(Int64.self))
        }
    }

    // MARK: - Encoding (the layout is ``BlobEncoding``'s)

    static func buffer(_ bytes: [UInt8]) -> ByteBuffer { ByteBuffer(bytes: bytes) }

    static func buffer(floats: [Float]) -> ByteBuffer { ByteBuffer(bytes: BlobEncoding.bytes(of: floats)) }

    static func buffer(words: [UInt64]) -> ByteBuffer { ByteBuffer(bytes: BlobEncoding.bytes(of: words)) }

    static func bytes(_ buffer: ByteBuffer) -> [UInt8] { Array(buffer.readableBytesView) }

    static func floats(_ buffer: ByteBuffer) -> [Float] {
        buffer.withUnsafeReadableBytes { BlobEncoding.floats($0) }
    }

    static func floats(_ buffer: ByteBuffer, into values: inout [Float]) {
        buffer.withUnsafeReadableBytes { BlobEncoding.floats($0, into: &values) }
    }

    static func words(_ buffer: ByteBuffer) -> [UInt64] { buffer.withUnsafeReadableBytes { BlobEncoding.words($0) } }
}
#endif
