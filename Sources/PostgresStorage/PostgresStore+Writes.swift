#if PostgreSQL
import Foundation
import Logging
import NIOCore
import PostgresNIO
public import Storage

/// Collections and writes: each write is one statement (one round trip) that takes the next number of its
/// collection's change sequence and rings the doorbell at commit.
extension PostgresStore {
    // MARK: - Collections

    static let collectionColumns = "id, name, settings, created_at, last_seq, code_scheme_id, compacted_through"

    static func collection(_ row: PostgresRow) throws -> StoredCollection {
        let cells = row.makeRandomAccess()
        return StoredCollection(
            id: try cells[0].decode(Int64.self), name: try cells[1].decode(String.self), settings: try cells[2].decode(String.self),
            createdAt: try cells[3].decode(Double.self), lastSequence: try cells[4].decode(Int64.self),
            codeSchemeID: try cells[5].decode(Int64?.self), compactedThrough: try cells[6].decode(Int64.self))
    }

    public func collections() throws -> [StoredCollection] {
        try run("SELECT \(unescaped: Self.collectionColumns) FROM collections ORDER BY name")
            .map(Self.collection)
    }

    public func collection(named name: String) throws -> StoredCollection? {
        try run("SELECT \(unescaped: Self.collectionColumns) FROM collections WHERE name = \(name)")
            .first.map(Self.collection)
    }

    public func createCollection(name: String, settings: String) throws -> StoredCollection {
        guard StoredCollection.isValidName(name) else { throw StorageError.invalidCollectionName(name) }
        let now = Date().timeIntervalSince1970
        let rows = try transaction { connection in
            let rows = try run("""
                INSERT INTO collections (name, settings, created_at) VALUES (\(name), \(settings), \(now))
                ON CONFLICT (name) DO NOTHING RETURNING id
                """, on: connection)
            if !rows.isEmpty { try notify(collection: 0, on: connection) }
            return rows
        }
        guard let row = rows.first else { throw StorageError.collectionExists(name) }
        return StoredCollection(id: try row.makeRandomAccess()[0].decode(Int64.self), name: name, settings: settings,
                                createdAt: now, lastSequence: 0, codeSchemeID: nil)
    }

    @discardableResult
    public func deleteCollection(id: Int64) throws -> Bool {
        try transaction { connection in
            // Images, their rows and tombstones go with the collection (ON DELETE CASCADE).
            let deleted = try run("DELETE FROM collections WHERE id = \(id) RETURNING id", on: connection)
            guard !deleted.isEmpty else { return false }
            _ = try run("""
                DELETE FROM hash_schemes WHERE id NOT IN (SELECT code_scheme_id FROM collections WHERE code_scheme_id IS NOT NULL)
                AND id NOT IN (SELECT DISTINCT scheme_id FROM codes)
                """, on: connection)
            try notify(collection: 0, on: connection)
            return true
        }
    }

    public func usage(collection: Int64) throws -> StorageUsage {
        let row = try run("""
            SELECT count(*), (coalesce(sum(length(v.data)), 0) + coalesce(sum(length(c.words)), 0)
                   + coalesce(sum(length(t.jpeg)), 0) + coalesce(sum(length(o.bytes)), 0))::BIGINT
            FROM images i
            LEFT JOIN vectors v ON v.image_id = i.id LEFT JOIN codes c ON c.image_id = i.id
            LEFT JOIN thumbnails t ON t.image_id = i.id LEFT JOIN originals o ON o.image_id = i.id
            WHERE i.collection_id = \(collection)
            """).first?.makeRandomAccess()
        return StorageUsage(images: Int(try row?[0].decode(Int64.self) ?? 0), bytes: Int(try row?[1].decode(Int64.self) ?? 0))
    }

    /// Takes the collection's next sequence number inside the caller's transaction; the row stays locked to commit.
    func nextSequence(collection: Int64, on connection: PostgresConnection) throws -> Int64 {
        guard let row = try run("UPDATE collections SET last_seq = last_seq + 1 WHERE id = \(collection) RETURNING last_seq",
                                on: connection).first else {
            throw StorageError.unknownCollection(collection)
        }
        return try row.makeRandomAccess()[0].decode(Int64.self)
    }

    /// Rings the followers' doorbell at commit (0: the list of collections changed).
    func notify(collection: Int64, on connection: PostgresConnection) throws {
        _ = try run("SELECT pg_notify(\(Self.changeChannel), \(String(collection)))", on: connection)
    }

    // MARK: - Writes

    @discardableResult
    public func upsert(_ image: ImageWrite, collection: Int64) throws -> UpsertOutcome {
        let metadata = try image.validated(maxMetadataBytes: options.maxMetadataBytes)
        // One statement, so one round trip and its own transaction: the sequence row's lock (taken first) orders
        // writers of a collection; a replaced record keeps its id and creation time; the doorbell rings at commit.
        let now = Date().timeIntervalSince1970
        let keepOriginal = options.keepOriginals && image.original != nil
        let row = try run("""
            WITH sequence AS (
                UPDATE collections SET last_seq = last_seq + 1 WHERE id = \(collection) RETURNING last_seq
            ), image AS (
                INSERT INTO images (collection_id, key, sha256, format, width, height, byte_size, metadata, created_at,
                                    updated_at, seq)
                SELECT \(collection), \(image.key), \(Self.buffer(image.sha256)), \(image.format), \(Int64(image.width)),
                       \(Int64(image.height)), \(Int64(image.byteSize)), \(metadata), \(now), \(now), last_seq FROM sequence
                ON CONFLICT (collection_id, key) DO UPDATE SET sha256 = excluded.sha256, format = excluded.format,
                    width = excluded.width, height = excluded.height, byte_size = excluded.byte_size,
                    metadata = excluded.metadata, updated_at = excluded.updated_at, seq = excluded.seq
                RETURNING id, created_at, seq, xmax = 0 AS inserted
            ), vector AS (
                INSERT INTO vectors (image_id, model, dimension, data)
                SELECT id, \(image.model), \(Int64(image.vector.count)), \(Self.buffer(floats: image.vector)) FROM image
                ON CONFLICT (image_id) DO UPDATE SET model = excluded.model, dimension = excluded.dimension, data = excluded.data
            ), code AS (
                INSERT INTO codes (image_id, scheme_id, bits, words)
                SELECT id, \(image.code.schemeID), \(Int64(image.code.bits)), \(Self.buffer(words: image.code.words)) FROM image
                ON CONFLICT (image_id) DO UPDATE SET scheme_id = excluded.scheme_id, bits = excluded.bits, words = excluded.words
            ), thumbnail AS (
                INSERT INTO thumbnails (image_id, jpeg) SELECT id, \(Self.buffer(image.thumbnail)) FROM image
                ON CONFLICT (image_id) DO UPDATE SET jpeg = excluded.jpeg
            ), kept AS (
                INSERT INTO originals (image_id, bytes)
                SELECT id, \(Self.buffer(keepOriginal ? image.original ?? [] : [])) FROM image WHERE \(keepOriginal)
                ON CONFLICT (image_id) DO UPDATE SET bytes = excluded.bytes
            ), dropped AS (
                DELETE FROM originals WHERE NOT \(keepOriginal) AND image_id IN (SELECT id FROM image)
            )
            SELECT id, created_at, seq, inserted, pg_notify(\(Self.changeChannel), \(String(collection))) FROM image
            """).first
        guard let cells = row?.makeRandomAccess() else { throw StorageError.unknownCollection(collection) }
        let record = StoredImage(
            id: try cells[0].decode(Int64.self), collectionID: collection, key: image.key, sha256: image.sha256,
            format: image.format, width: image.width, height: image.height, byteSize: image.byteSize, metadata: metadata,
            createdAt: try cells[1].decode(Double.self), updatedAt: now, sequence: try cells[2].decode(Int64.self))
        return UpsertOutcome(record: record, replaced: !(try cells[3].decode(Bool.self)))
    }

    @discardableResult
    public func delete(key: String, collection: Int64) throws -> DeleteOutcome? {
        do {
            return try deleteRows(key: key, collection: collection)
        } catch is NothingToChange {
            return nil
        }
    }

    func deleteRows(key: String, collection: Int64) throws -> DeleteOutcome {
        try transaction { connection in
            // The sequence row is locked first, as every writer does, so two deletes of one key queue there.
            let sequence = try nextSequence(collection: collection, on: connection)
            guard let row = try run("DELETE FROM images WHERE collection_id = \(collection) AND key = \(key) RETURNING id",
                                    on: connection).first else {
                throw NothingToChange()
            }
            let id = try row.makeRandomAccess()[0].decode(Int64.self)
            _ = try run("INSERT INTO tombstones (collection_id, seq, image_id, key) VALUES (\(collection), \(sequence), \(id), \(key))",
                        on: connection)
            try notify(collection: collection, on: connection)
            return DeleteOutcome(id: id, sequence: sequence)
        }
    }

    public func compactTombstones(collection: Int64, through sequence: Int64) throws {
        try run("""
            WITH horizon AS (
                UPDATE collections SET compacted_through = greatest(compacted_through, least(\(sequence), last_seq))
                WHERE id = \(collection) RETURNING compacted_through
            )
            DELETE FROM tombstones WHERE collection_id = \(collection) AND seq <= (SELECT compacted_through FROM horizon)
            """)
    }

    public func saveHashScheme(kind: String, bits: Int, dimension: Int, parameters: [Float]) throws -> Int64 {
        guard let row = try run("""
            INSERT INTO hash_schemes (kind, bits, dimension, parameters, created_at)
            VALUES (\(kind), \(Int64(bits)), \(Int64(dimension)), \(Self.buffer(floats: parameters)), \(Date().timeIntervalSince1970))
            RETURNING id
            """).first else { throw PostgresStorageError.server("INSERT returned no id") }
        return try row.makeRandomAccess()[0].decode(Int64.self)
    }

    public func setCodeScheme(_ scheme: Int64, collection: Int64) throws {
        try transaction { connection in
            _ = try run("UPDATE collections SET code_scheme_id = \(scheme) WHERE id = \(collection)", on: connection)
            try notify(collection: collection, on: connection)
        }
    }

    public func updateSettings(_ settings: String, collection: Int64) throws {
        try transaction { connection in
            _ = try run("UPDATE collections SET settings = \(settings) WHERE id = \(collection)", on: connection)
            try notify(collection: collection, on: connection)
        }
    }

    public func switchVectors(_ vectors: [VectorReplacement], settings: String, codeScheme: Int64, collection: Int64) throws {
        try transaction { connection in
            for chunk in stride(from: 0, to: vectors.count, by: 200) {
                let part = vectors[chunk..<min(chunk + 200, vectors.count)]
                var bindings = PostgresBindings(capacity: part.count * 7)
                var rows: [String] = []
                for (offset, row) in part.enumerated() {
                    bindings.append(row.id)
                    bindings.append(row.model)
                    bindings.append(Int64(row.vector.count))
                    bindings.append(Self.buffer(floats: row.vector))
                    bindings.append(row.code.schemeID)
                    bindings.append(Int64(row.code.bits))
                    bindings.append(Self.buffer(words: row.code.words))
                    let base = offset * 7
                    rows.append("($\(base + 1)::BIGINT, $\(base + 2)::TEXT, $\(base + 3)::BIGINT, $\(base + 4)::BYTEA, "
                                + "$\(base + 5)::BIGINT, $\(base + 6)::BIGINT, $\(base + 7)::BYTEA)")
                }
                _ = try run(PostgresQuery(unsafeSQL: """
                    WITH n(image_id, model, dimension, data, scheme_id, bits, words) AS (VALUES \(rows.joined(separator: ","))),
                    v AS (
                        UPDATE vectors SET model = n.model, dimension = n.dimension, data = n.data
                        FROM n WHERE vectors.image_id = n.image_id
                    )
                    UPDATE codes SET scheme_id = n.scheme_id, bits = n.bits, words = n.words
                    FROM n WHERE codes.image_id = n.image_id
                    """, binds: bindings), on: connection)
            }
            _ = try run("UPDATE collections SET settings = \(settings), code_scheme_id = \(codeScheme) WHERE id = \(collection)",
                        on: connection)
            try notify(collection: collection, on: connection)
        }
    }

    public func addDecision(images: [Int64], collection: Int64) throws -> StoredDecision {
        let now = Date().timeIntervalSince1970
        return try transaction { connection in
            guard let row = try run("""
                INSERT INTO duplicate_decisions (collection_id, created_at)
                SELECT id, \(now) FROM collections WHERE id = \(collection) RETURNING id
                """, on: connection).first?.makeRandomAccess() else { throw StorageError.unknownCollection(collection) }
            let id = try row[0].decode(Int64.self)
            let members = try run("""
                INSERT INTO duplicate_decision_members (decision_id, image_id)
                SELECT \(id), id FROM images WHERE collection_id = \(collection) AND id = ANY(\(images))
                ON CONFLICT DO NOTHING RETURNING image_id
                """, on: connection).map { try $0.makeRandomAccess()[0].decode(Int64.self) }
            try notify(collection: collection, on: connection)
            return StoredDecision(id: id, createdAt: now, imageIDs: members.sorted())
        }
    }

    public func deleteDecision(id: Int64, collection: Int64) throws -> Bool {
        try transaction { connection in
            let deleted = try run("DELETE FROM duplicate_decisions WHERE id = \(id) AND collection_id = \(collection) RETURNING id",
                                  on: connection)
            if !deleted.isEmpty { try notify(collection: collection, on: connection) }
            return !deleted.isEmpty
        }
    }

    public func updateCodes(_ codes: [(id: Int64, code: StoredCode)]) throws {
        guard !codes.isEmpty else { return }
        try transaction { connection in
            for chunk in stride(from: 0, to: codes.count, by: 500) {
                let part = codes[chunk..<min(chunk + 500, codes.count)]
                var bindings = PostgresBindings(capacity: part.count * 4)
                var rows: [String] = []
                for (offset, entry) in part.enumerated() {
                    bindings.append(entry.id)
                    bindings.append(entry.code.schemeID)
                    bindings.append(Int64(entry.code.bits))
                    bindings.append(Self.buffer(words: entry.code.words))
                    let base = offset * 4
                    rows.append("($\(base + 1)::BIGINT, $\(base + 2)::BIGINT, $\(base + 3)::BIGINT, $\(base + 4)::BYTEA)")
                }
                _ = try run(PostgresQuery(unsafeSQL: """
                    UPDATE codes SET scheme_id = n.scheme_id, bits = n.bits, words = n.words
                    FROM (VALUES \(rows.joined(separator: ","))) AS n(image_id, scheme_id, bits, words)
                    WHERE codes.image_id = n.image_id
                    """, binds: bindings), on: connection)
            }
        }
    }

    public func updateMetadata(key: String, collection: Int64, metadata: String) throws -> StoredImage? {
        let metadata = try RecordValidation.validateMetadata(metadata, maxBytes: options.maxMetadataBytes)
        do {
            return try updateMetadataRow(key: key, collection: collection, metadata: metadata)
        } catch is NothingToChange {
            return nil
        }
    }

    func updateMetadataRow(key: String, collection: Int64, metadata: String) throws -> StoredImage {
        try transaction { connection in
            let sequence = try nextSequence(collection: collection, on: connection)
            guard let row = try run("""
                UPDATE images SET metadata = \(metadata), updated_at = \(Date().timeIntervalSince1970), seq = \(sequence)
                WHERE collection_id = \(collection) AND key = \(key) RETURNING \(unescaped: Self.recordColumns)
                """, on: connection).first else {
                throw NothingToChange()
            }
            try notify(collection: collection, on: connection)
            return try Self.record(row)
        }
    }

}

/// Rolls back a write that found nothing to change (the caller answers nil).
struct NothingToChange: Error {}
#endif
