import Foundation

/// Reads, the change sequence, backups and the integrity check.
extension ImageStore {
    // MARK: - Reads

    static let recordColumns =
        "id, collection_id, key, sha256, format, width, height, byte_size, metadata, created_at, updated_at, seq"

    static func record(_ statement: Statement) -> StoredImage {
        StoredImage(
            id: statement.int64(at: 0), collectionID: statement.int64(at: 1), key: statement.text(at: 2),
            sha256: statement.blob(at: 3), format: statement.text(at: 4), width: Int(statement.int64(at: 5)),
            height: Int(statement.int64(at: 6)), byteSize: Int(statement.int64(at: 7)), metadata: statement.text(at: 8),
            createdAt: statement.double(at: 9), updatedAt: statement.double(at: 10), sequence: statement.int64(at: 11))
    }

    func records(_ sql: String, _ arguments: [SQLiteValue]) throws -> [StoredImage] {
        try read { db in
            let statement = try db.cachedStatement(sql)
            defer { statement.reset() }
            try statement.bind(arguments)
            var result: [StoredImage] = []
            while try statement.step() { result.append(Self.record(statement)) }
            return result
        }
    }

    public func image(key: String, collection: Int64 = ImageStore.defaultCollectionID) throws -> StoredImage? {
        try records("SELECT \(Self.recordColumns) FROM images WHERE collection_id = ? AND key = ?",
                    [.integer(collection), .text(key)]).first
    }

    public func image(id: Int64) throws -> StoredImage? {
        try records("SELECT \(Self.recordColumns) FROM images WHERE id = ?", [.integer(id)]).first
    }

    /// Records for many ids (unknown ids are skipped), in no particular order.
    public func images(ids: [Int64]) throws -> [Int64: StoredImage] {
        var result: [Int64: StoredImage] = [:]
        for chunk in stride(from: 0, to: ids.count, by: 500) {
            let part = Array(ids[chunk..<min(chunk + 500, ids.count)])
            let placeholders = Array(repeating: "?", count: part.count).joined(separator: ",")
            for record in try records("SELECT \(Self.recordColumns) FROM images WHERE id IN (\(placeholders))",
                                      part.map { .integer($0) }) {
                result[record.id] = record
            }
        }
        return result
    }

    /// Images whose upload had this SHA-256 (exact duplicates).
    public func images(sha256: [UInt8], collection: Int64 = ImageStore.defaultCollectionID) throws -> [StoredImage] {
        // Sorted here: with `ORDER BY key` SQLite walks the (collection, key) index over the whole collection
        // instead of seeking the (collection, sha256) one.
        try records("SELECT \(Self.recordColumns) FROM images WHERE collection_id = ? AND sha256 = ?",
                    [.integer(collection), .blob(sha256)]).sorted { $0.key < $1.key }
    }

    /// A page of records ordered by key, starting after `afterKey` (cursor pagination).
    public func list(
        collection: Int64 = ImageStore.defaultCollectionID, limit: Int, after afterKey: String? = nil
    ) throws -> [StoredImage] {
        let limit = Int64(max(0, min(limit, 10_000)))
        if let afterKey {
            return try records(
                "SELECT \(Self.recordColumns) FROM images WHERE collection_id = ? AND key > ? ORDER BY key LIMIT ?",
                [.integer(collection), .text(afterKey), .integer(limit)])
        }
        return try records("SELECT \(Self.recordColumns) FROM images WHERE collection_id = ? ORDER BY key LIMIT ?",
                           [.integer(collection), .integer(limit)])
    }

    public func count(collection: Int64 = ImageStore.defaultCollectionID) throws -> Int {
        try read { Int(try $0.scalar("SELECT count(*) FROM images WHERE collection_id = ?", [.integer(collection)])?.integer ?? 0) }
    }

    /// Records in every collection.
    public func totalCount() throws -> Int {
        try read { Int(try $0.scalar("SELECT count(*) FROM images")?.integer ?? 0) }
    }

    public func thumbnail(key: String, collection: Int64 = ImageStore.defaultCollectionID) throws -> [UInt8]? {
        try read {
            try $0.scalar("""
                SELECT t.jpeg FROM thumbnails t JOIN images i ON i.id = t.image_id WHERE i.collection_id = ? AND i.key = ?
                """, [.integer(collection), .text(key)])?.blob
        }
    }

    public func original(key: String, collection: Int64 = ImageStore.defaultCollectionID) throws -> [UInt8]? {
        try read {
            try $0.scalar("""
                SELECT o.bytes FROM originals o JOIN images i ON i.id = o.image_id WHERE i.collection_id = ? AND i.key = ?
                """, [.integer(collection), .text(key)])?.blob
        }
    }

    /// The stored vector of one image and the model that made it.
    public func vector(id: Int64) throws -> (model: String, values: [Float])? {
        try read { db in
            let statement = try db.prepare("SELECT model, data FROM vectors WHERE image_id = ?")
            try statement.bind([.integer(id)])
            guard try statement.step() else { return nil }
            return (statement.text(at: 0), statement.floats(at: 1))
        }
    }

    public func code(id: Int64) throws -> StoredCode? {
        try read { db in
            let statement = try db.prepare("SELECT scheme_id, bits, words FROM codes WHERE image_id = ?")
            try statement.bind([.integer(id)])
            guard try statement.step() else { return nil }
            return StoredCode(schemeID: statement.int64(at: 0), bits: Int(statement.int64(at: 1)),
                              words: BlobEncoding.words(statement.blob(at: 2)))
        }
    }

    public func indexEntries(ids: [Int64]) throws -> [Int64: IndexEntry] {
        var result: [Int64: IndexEntry] = [:]
        try read { db in
            for chunk in stride(from: 0, to: ids.count, by: 500) {
                let part = Array(ids[chunk..<min(chunk + 500, ids.count)])
                let placeholders = Array(repeating: "?", count: part.count).joined(separator: ",")
                let statement = try db.prepare("""
                    SELECT v.image_id, v.model, v.data, c.scheme_id, c.bits, c.words
                    FROM vectors v LEFT JOIN codes c ON c.image_id = v.image_id WHERE v.image_id IN (\(placeholders))
                    """)
                try statement.bind(part.map { .integer($0) })
                while try statement.step() {
                    let code = statement.isNull(at: 3) ? nil : StoredCode(
                        schemeID: statement.int64(at: 3), bits: Int(statement.int64(at: 4)), words: BlobEncoding.words(statement.blob(at: 5)))
                    result[statement.int64(at: 0)] = IndexEntry(model: statement.text(at: 1), vector: statement.floats(at: 2), code: code)
                }
            }
        }
        return result
    }

    /// The queries a start-up streams a collection with, in id order by the `images_collection` index: a plan
    /// that sorts would first copy every row (5 GB of vectors a million) through temporary files.
    static let startUpStreams = (
        vectors: """
            SELECT v.image_id, v.data FROM vectors v JOIN images i ON i.id = v.image_id
            WHERE i.collection_id = ? AND v.model = ? ORDER BY i.id
            """,
        codes: """
            SELECT c.image_id, c.scheme_id, c.bits, c.words FROM codes c JOIN images i ON i.id = c.image_id
            WHERE i.collection_id = ? ORDER BY i.id
            """,
        keysAndMetadata: "SELECT id, key, metadata FROM images WHERE collection_id = ? ORDER BY id")

    /// Streams every stored vector of `model` in a collection, in id order, without materialising them all at
    /// once; returns the collection's change sequence the stream is consistent with (one read transaction).
    ///
    /// - warning: `body` receives a buffer valid only during the call.
    @discardableResult
    public func forEachVector(
        collection: Int64 = ImageStore.defaultCollectionID, model: String,
        _ body: (Int64, UnsafeBufferPointer<Float>) throws -> Void
    ) throws -> Int64 {
        try read { db in
            try db.execute("BEGIN")
            defer { try? db.execute("COMMIT") }
            let sequence = try db.scalar("SELECT last_seq FROM collections WHERE id = ?", [.integer(collection)])?.integer ?? 0
            let statement = try db.prepare(Self.startUpStreams.vectors)
            try statement.bind([.integer(collection), .text(model)])
            while try statement.step() {
                let id = statement.int64(at: 0)
                try statement.withBlob(at: 1) { bytes in
                    try bytes.withMemoryRebound(to: Float.self) { try body(id, $0) }
                }
            }
            return sequence
        }
    }

    /// Streams a collection's codes in id order.
    public func forEachCode(collection: Int64 = ImageStore.defaultCollectionID, _ body: (Int64, StoredCode) throws -> Void) throws {
        try read { db in
            let statement = try db.prepare(Self.startUpStreams.codes)
            try statement.bind([.integer(collection)])
            while try statement.step() {
                try body(statement.int64(at: 0), StoredCode(schemeID: statement.int64(at: 1), bits: Int(statement.int64(at: 2)),
                                                            words: BlobEncoding.words(statement.blob(at: 3))))
            }
        }
    }

    public func forEachKeyAndMetadata(collection: Int64, _ body: (Int64, String, String) throws -> Void) throws {
        try read { db in
            let statement = try db.prepare(Self.startUpStreams.keysAndMetadata)
            try statement.bind([.integer(collection)])
            while try statement.step() { try body(statement.int64(at: 0), statement.text(at: 1), statement.text(at: 2)) }
        }
    }

    public func updateMetadata(key: String, collection: Int64, metadata: String) throws -> StoredImage? {
        let metadata = try RecordValidation.validateMetadata(metadata, maxBytes: options.maxMetadataBytes)
        return try write { db in
            try db.transaction { () throws -> StoredImage? in
                guard let id = try db.scalar("SELECT id FROM images WHERE collection_id = ? AND key = ?",
                                             [.integer(collection), .text(key)])?.integer else { return nil }
                let sequence = try nextSequence(collection: collection, in: db)
                try db.run("UPDATE images SET metadata = ?, updated_at = ?, seq = ? WHERE id = ?",
                           [.text(metadata), .real(Date().timeIntervalSince1970), .integer(sequence), .integer(id)])
                let statement = try db.prepare("SELECT \(Self.recordColumns) FROM images WHERE id = ?")
                try statement.bind([.integer(id)])
                return try statement.step() ? Self.record(statement) : nil
            }
        }
    }

    public func changes(collection: Int64, after sequence: Int64, limit: Int) throws -> [StoreChange] {
        try read { db in
            // One statement, so the horizon and the changes come from one snapshot.
            let rows = try db.rows("""
                SELECT kind, id, key, seq FROM (
                    SELECT 2 AS kind, 0 AS id, '' AS key, compacted_through AS seq FROM collections
                    WHERE id = ?1 AND compacted_through > ?2
                    UNION ALL
                    SELECT 0, id, key, seq FROM images WHERE collection_id = ?1 AND seq > ?2
                    UNION ALL
                    SELECT 1, image_id, key, seq FROM tombstones WHERE collection_id = ?1 AND seq > ?2
                ) ORDER BY kind = 2 DESC, seq LIMIT ?3
                """, [.integer(collection), .integer(sequence), .integer(Int64(max(0, limit)))])
            return rows.map { row in
                StoreChange(kind: StoreChange.Kind(code: row[0].integer ?? 0),
                            id: row[1].integer ?? 0, key: row[2].text ?? "", sequence: row[3].integer ?? 0)
            }
        }
    }

    public func hashScheme(id: Int64) throws -> StoredHashScheme? {
        try read { db in
            let statement = try db.prepare("SELECT id, kind, bits, dimension, parameters, created_at FROM hash_schemes WHERE id = ?")
            try statement.bind([.integer(id)])
            guard try statement.step() else { return nil }
            return StoredHashScheme(id: statement.int64(at: 0), kind: statement.text(at: 1), bits: Int(statement.int64(at: 2)),
                                    dimension: Int(statement.int64(at: 3)), parameters: statement.floats(at: 4),
                                    createdAt: statement.double(at: 5))
        }
    }

    /// A consistent copy of the whole database at `destination` (SQLite's online backup, from one read
    /// transaction), taken while writes go on: it holds every write committed before it started. Written to a
    /// temporary file beside `destination` and renamed into place, so `destination` is never half a copy.
    /// Returns the copy's size in bytes.
    @discardableResult
    public func backup(to destination: String) throws -> Int {
        let temporary = destination + ".partial"
        unlink(temporary)
        do {
            let copy = try Database(path: temporary)
            try read { try $0.copy(into: copy) }
            // The copy is a stand-alone file: no WAL beside it.
            try copy.execute("PRAGMA journal_mode = DELETE")
            guard rename(temporary, destination) == 0 else {
                throw SQLiteError(code: 10, message: "cannot rename the copy to \(destination): \(String(cString: strerror(errno)))")
            }
        } catch {
            unlink(temporary)
            if let error = error as? SQLiteError, error.isFull { throw StorageError.full(error.message) }
            throw error
        }
        let attributes = try FileManager.default.attributesOfItem(atPath: destination)
        return (attributes[.size] as? Int) ?? 0
    }

    /// One file has one writing process as a rule (a second one, such as the CLI, is caught up with at start).
    public var isShared: Bool { false }

    /// SQLite has no notifications: waits out the timeout.
    public func waitForChanges(timeout: Double) -> Bool {
        Thread.sleep(forTimeInterval: max(0, timeout))
        return false
    }

    /// One process owns the file's background work: the claim is always granted.
    public func whileHolding<T>(claim name: String, _ body: () throws -> T) throws -> T? { try body() }

    public func decisions(collection: Int64) throws -> [StoredDecision] {
        try read { db in
            StoredDecision.grouping(try db.rows("""
                SELECT d.id, d.created_at, m.image_id FROM duplicate_decisions d
                LEFT JOIN duplicate_decision_members m ON m.decision_id = d.id
                WHERE d.collection_id = ? ORDER BY d.id, m.image_id
                """, [.integer(collection)]).map { ($0[0].integer ?? 0, $0[1].real ?? 0, $0[2].integer) })
        }
    }

    /// `PRAGMA integrity_check` (the full check; slow on large files).
    public func integrityCheck() throws -> String {
        try read { try $0.scalar("PRAGMA integrity_check")?.text ?? "no answer" }
    }
}
