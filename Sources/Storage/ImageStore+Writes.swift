import Foundation

/// Collections and writes: every write in a collection takes the next number of its change sequence in its own
/// transaction.
extension ImageStore {
    // MARK: - Collections

    static let collectionColumns = "id, name, settings, created_at, last_seq, code_scheme_id, compacted_through"

    static func storedCollection(_ row: [SQLiteValue]) -> StoredCollection {
        StoredCollection(id: row[0].integer ?? 0, name: row[1].text ?? "", settings: row[2].text ?? "{}",
                         createdAt: row[3].real ?? 0, lastSequence: row[4].integer ?? 0, codeSchemeID: row[5].integer,
                         compactedThrough: row[6].integer ?? 0)
    }

    public func collections() throws -> [StoredCollection] {
        try read { try $0.rows("SELECT \(Self.collectionColumns) FROM collections ORDER BY name").map(Self.storedCollection) }
    }

    public func collection(named name: String) throws -> StoredCollection? {
        try read {
            try $0.rows("SELECT \(Self.collectionColumns) FROM collections WHERE name = ?", [.text(name)]).first
                .map(Self.storedCollection)
        }
    }

    public func createCollection(name: String, settings: String) throws -> StoredCollection {
        guard StoredCollection.isValidName(name) else { throw StorageError.invalidCollectionName(name) }
        return try write { db in
            try db.transaction {
                if try db.scalar("SELECT 1 FROM collections WHERE name = ?", [.text(name)]) != nil {
                    throw StorageError.collectionExists(name)
                }
                let now = Date().timeIntervalSince1970
                try db.run("INSERT INTO collections (name, settings, created_at) VALUES (?, ?, ?)",
                           [.text(name), .text(settings), .real(now)])
                return StoredCollection(id: db.lastInsertRowID, name: name, settings: settings, createdAt: now,
                                        lastSequence: 0, codeSchemeID: nil)
            }
        }
    }

    @discardableResult
    public func deleteCollection(id: Int64) throws -> Bool {
        try write { db in
            try db.transaction {
                guard try db.scalar("SELECT 1 FROM collections WHERE id = ?", [.integer(id)]) != nil else { return false }
                // Vectors, codes, thumbnails and originals go with their images (ON DELETE CASCADE).
                try db.run("DELETE FROM images WHERE collection_id = ?", [.integer(id)])
                try db.run("DELETE FROM tombstones WHERE collection_id = ?", [.integer(id)])
                try db.run("DELETE FROM collections WHERE id = ?", [.integer(id)])
                try db.run("""
                    DELETE FROM hash_schemes WHERE id NOT IN (SELECT code_scheme_id FROM collections WHERE code_scheme_id IS NOT NULL)
                    AND id NOT IN (SELECT DISTINCT scheme_id FROM codes)
                    """)
                return true
            }
        }
    }

    public func usage(collection: Int64) throws -> StorageUsage {
        try read { db in
            let row = try db.rows("""
                SELECT count(*),
                       coalesce(sum(length(v.data)), 0) + coalesce(sum(length(c.words)), 0)
                       + coalesce(sum(length(t.jpeg)), 0) + coalesce(sum(length(o.bytes)), 0)
                FROM images i
                LEFT JOIN vectors v ON v.image_id = i.id LEFT JOIN codes c ON c.image_id = i.id
                LEFT JOIN thumbnails t ON t.image_id = i.id LEFT JOIN originals o ON o.image_id = i.id
                WHERE i.collection_id = ?
                """, [.integer(collection)]).first
            return StorageUsage(images: Int(row?[0].integer ?? 0), bytes: Int(row?[1].integer ?? 0))
        }
    }

    /// Takes the collection's next change sequence number, inside the caller's transaction (the row stays
    /// locked to commit, so numbers are taken in commit order).
    func nextSequence(collection: Int64, in db: Database) throws -> Int64 {
        guard let sequence = try db.scalar(
            "UPDATE collections SET last_seq = last_seq + 1 WHERE id = ? RETURNING last_seq", [.integer(collection)])?.integer
        else { throw StorageError.unknownCollection(collection) }
        return sequence
    }

    // MARK: - Writes

    /// Stores an image under its key in `collection`, replacing (atomically) whatever the key held there.
    @discardableResult
    public func upsert(_ image: ImageWrite, collection: Int64 = ImageStore.defaultCollectionID) throws -> UpsertOutcome {
        try write { db in
            try db.transaction { try upsertRows(image, collection: collection, in: db) }
        }
    }

    /// The writes of one upsert, inside the caller's transaction.
    @discardableResult
    func upsertRows(_ image: ImageWrite, collection: Int64, in db: Database) throws -> UpsertOutcome {
        let metadata = try image.validated(maxMetadataBytes: options.maxMetadataBytes)
        let sequence = try nextSequence(collection: collection, in: db)
        let now = Date().timeIntervalSince1970
        let existing = try db.rows("SELECT id, created_at FROM images WHERE collection_id = ? AND key = ?",
                                   [.integer(collection), .text(image.key)]).first
        let id: Int64
        let createdAt: Double
        let values: [SQLiteValue] = [
            .blob(image.sha256), .text(image.format), .integer(Int64(image.width)), .integer(Int64(image.height)),
            .integer(Int64(image.byteSize)), .text(metadata), .real(now), .integer(sequence),
        ]
        if let existing, let existingID = existing[0].integer {
            id = existingID
            createdAt = existing[1].real ?? now
            try db.run("""
                UPDATE images SET sha256 = ?, format = ?, width = ?, height = ?, byte_size = ?, metadata = ?,
                updated_at = ?, seq = ? WHERE id = ?
                """, values + [.integer(id)])
        } else {
            createdAt = now
            try db.run("""
                INSERT INTO images (sha256, format, width, height, byte_size, metadata, updated_at, seq, collection_id, key,
                                    created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, values + [.integer(collection), .text(image.key), .real(now)])
            id = db.lastInsertRowID
        }
        let vector = try db.prepare("INSERT OR REPLACE INTO vectors (image_id, model, dimension, data) VALUES (?, ?, ?, ?)")
        try vector.bind([.integer(id), .text(image.model), .integer(Int64(image.vector.count))])
        try vector.bind(floats: image.vector, at: 4)
        while try vector.step() {}
        try db.run("INSERT OR REPLACE INTO codes (image_id, scheme_id, bits, words) VALUES (?, ?, ?, ?)",
                   [.integer(id), .integer(image.code.schemeID), .integer(Int64(image.code.bits)),
                    .blob(BlobEncoding.bytes(of: image.code.words))])
        try db.run("INSERT OR REPLACE INTO thumbnails (image_id, jpeg) VALUES (?, ?)", [.integer(id), .blob(image.thumbnail)])
        if options.keepOriginals, let original = image.original {
            try db.run("INSERT OR REPLACE INTO originals (image_id, bytes) VALUES (?, ?)", [.integer(id), .blob(original)])
        } else {
            try db.run("DELETE FROM originals WHERE image_id = ?", [.integer(id)])
        }
        let record = StoredImage(
            id: id, collectionID: collection, key: image.key, sha256: image.sha256, format: image.format,
            width: image.width, height: image.height, byteSize: image.byteSize, metadata: metadata, createdAt: createdAt,
            updatedAt: now, sequence: sequence)
        return UpsertOutcome(record: record, replaced: existing != nil)
    }

    /// Stores many images in one transaction (bulk import): all or nothing.
    public func upsert(batch images: [ImageWrite], collection: Int64 = ImageStore.defaultCollectionID) throws {
        try write { db in
            try db.transaction {
                for image in images { try upsertRows(image, collection: collection, in: db) }
            }
        }
    }

    /// Deletes the image with `key` and everything stored with it, leaving a tombstone.
    @discardableResult
    public func delete(key: String, collection: Int64 = ImageStore.defaultCollectionID) throws -> DeleteOutcome? {
        try write { db in
            try db.transaction {
                guard let id = try db.scalar("SELECT id FROM images WHERE collection_id = ? AND key = ?",
                                             [.integer(collection), .text(key)])?.integer else { return nil }
                let sequence = try nextSequence(collection: collection, in: db)
                try db.run("DELETE FROM images WHERE id = ?", [.integer(id)])
                try db.run("INSERT INTO tombstones (collection_id, seq, image_id, key) VALUES (?, ?, ?, ?)",
                           [.integer(collection), .integer(sequence), .integer(id), .text(key)])
                return DeleteOutcome(id: id, sequence: sequence)
            }
        }
    }

    public func compactTombstones(collection: Int64, through sequence: Int64) throws {
        try write { db in
            try db.transaction {
                try db.run("UPDATE collections SET compacted_through = max(compacted_through, min(?, last_seq)) WHERE id = ?",
                           [.integer(sequence), .integer(collection)])
                try db.run("DELETE FROM tombstones WHERE collection_id = ? AND seq <= (SELECT compacted_through FROM collections WHERE id = ?)",
                           [.integer(collection), .integer(collection)])
            }
        }
    }

    /// Registers a hash scheme's parameters; returns its id.
    public func saveHashScheme(kind: String, bits: Int, dimension: Int, parameters: [Float]) throws -> Int64 {
        try write { db in
            let statement = try db.prepare(
                "INSERT INTO hash_schemes (kind, bits, dimension, parameters, created_at) VALUES (?, ?, ?, ?, ?)")
            try statement.bind([.text(kind), .integer(Int64(bits)), .integer(Int64(dimension))])
            try statement.bind(floats: parameters, at: 4)
            try statement.bind(.real(Date().timeIntervalSince1970), at: 5)
            while try statement.step() {}
            return db.lastInsertRowID
        }
    }

    public func setCodeScheme(_ scheme: Int64, collection: Int64) throws {
        try write { try $0.run("UPDATE collections SET code_scheme_id = ? WHERE id = ?", [.integer(scheme), .integer(collection)]) }
    }

    public func updateSettings(_ settings: String, collection: Int64) throws {
        try write { try $0.run("UPDATE collections SET settings = ? WHERE id = ?", [.text(settings), .integer(collection)]) }
    }

    public func switchVectors(_ vectors: [VectorReplacement], settings: String, codeScheme: Int64, collection: Int64) throws {
        try write { db in
            try db.transaction {
                let vector = try db.prepare("UPDATE vectors SET model = ?, dimension = ?, data = ? WHERE image_id = ?")
                let code = try db.prepare("UPDATE codes SET scheme_id = ?, bits = ?, words = ? WHERE image_id = ?")
                for row in vectors {
                    vector.reset()
                    try vector.bind([.text(row.model), .integer(Int64(row.vector.count))])
                    try vector.bind(floats: row.vector, at: 3)
                    try vector.bind(.integer(row.id), at: 4)
                    while try vector.step() {}
                    code.reset()
                    try code.bind([.integer(row.code.schemeID), .integer(Int64(row.code.bits)),
                                   .blob(BlobEncoding.bytes(of: row.code.words)), .integer(row.id)])
                    while try code.step() {}
                }
                try db.run("UPDATE collections SET settings = ?, code_scheme_id = ? WHERE id = ?",
                           [.text(settings), .integer(codeScheme), .integer(collection)])
            }
        }
    }

    public func addDecision(images: [Int64], collection: Int64) throws -> StoredDecision {
        let now = Date().timeIntervalSince1970
        return try write { db in
            try db.transaction {
                guard try db.scalar("SELECT 1 FROM collections WHERE id = ?", [.integer(collection)]) != nil else {
                    throw StorageError.unknownCollection(collection)
                }
                try db.run("INSERT INTO duplicate_decisions (collection_id, created_at) VALUES (?, ?)", [.integer(collection), .real(now)])
                let id = db.lastInsertRowID
                let member = try db.prepare("""
                    INSERT OR IGNORE INTO duplicate_decision_members (decision_id, image_id)
                    SELECT ?, id FROM images WHERE id = ? AND collection_id = ?
                    """)
                for image in images {
                    member.reset()
                    try member.bind([.integer(id), .integer(image), .integer(collection)])
                    while try member.step() {}
                }
                let stored = try db.rows("SELECT image_id FROM duplicate_decision_members WHERE decision_id = ? ORDER BY image_id",
                                         [.integer(id)]).compactMap { $0[0].integer }
                return StoredDecision(id: id, createdAt: now, imageIDs: stored)
            }
        }
    }

    public func deleteDecision(id: Int64, collection: Int64) throws -> Bool {
        try write { db in
            try db.transaction {
                guard try db.scalar("SELECT 1 FROM duplicate_decisions WHERE id = ? AND collection_id = ?",
                                    [.integer(id), .integer(collection)]) != nil else { return false }
                try db.run("DELETE FROM duplicate_decisions WHERE id = ?", [.integer(id)])
                return true
            }
        }
    }

    /// Replaces the codes of many images in one transaction (after a scheme change).
    public func updateCodes(_ codes: [(id: Int64, code: StoredCode)]) throws {
        try write { db in
            try db.transaction {
                let statement = try db.prepare("UPDATE codes SET scheme_id = ?, bits = ?, words = ? WHERE image_id = ?")
                for (id, code) in codes {
                    statement.reset()
                    try statement.bind([.integer(code.schemeID), .integer(Int64(code.bits)), .blob(BlobEncoding.bytes(of: code.words)), .integer(id)])
                    while try statement.step() {}
                }
            }
        }
    }

}
