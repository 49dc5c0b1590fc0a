import Foundation

/// The SQLite ``ImageRepository``: collections, image records, metadata, vectors, binary codes, thumbnails and
/// change sequences, in one file.
///
/// - WAL journal with `synchronous = FULL`: a write acknowledged to a client survives a process kill or a power
///   cut; readers never block the writer.
/// - One writer connection, used under a lock (SQLite allows one writer at a time anyway); reader connections
///   come from a pool of at most `readerPoolSize`, so many searches and lookups run concurrently with a write.
///   When every reader is busy a caller waits for one: opening a connection (and parsing the schema again)
///   costs far more than the short lookups readers do.
/// - The schema version lives in `user_version`; ``ImageStore/migrations`` run forward only, each named, in one
///   transaction with its version bump (a file written by an older release upgrades in place on open).
///
/// `@unchecked Sendable` is safe because the writer connection is only touched while holding `writerLock`, and
/// each reader connection is owned by exactly one caller between checkout and check-in under `readers`.
public final class ImageStore: BackupCapableStore, @unchecked Sendable {
    /// Store settings.
    public struct Options: Sendable {
        /// Largest metadata JSON in bytes.
        public var maxMetadataBytes = StoreDefaults.maxMetadataBytes
        /// Keep the original upload bytes.
        public var keepOriginals = StoreDefaults.keepOriginals
        /// Reader connections open at most.
        public var readerPoolSize = 8
        /// How long a write waits for another process's write lock before failing with
        /// ``StorageError/busy(_:)`` (default 5 s).
        public var busyTimeoutMilliseconds = 5_000
        /// The file grows to at most this many bytes (`max_page_count`); 0: no limit. Writes beyond fail with
        /// ``StorageError/full(_:)``, as they do when the disk is full.
        public var maxDatabaseBytes = 0
        public init(maxMetadataBytes: Int = StoreDefaults.maxMetadataBytes, keepOriginals: Bool = StoreDefaults.keepOriginals,
                    readerPoolSize: Int = 8,
                    busyTimeoutMilliseconds: Int = 5_000, maxDatabaseBytes: Int = 0) {
            self.maxMetadataBytes = maxMetadataBytes
            self.keepOriginals = keepOriginals
            self.readerPoolSize = readerPoolSize
            self.busyTimeoutMilliseconds = busyTimeoutMilliseconds
            self.maxDatabaseBytes = maxDatabaseBytes
        }
    }

    /// A named schema change: `sql` moves the schema from version `index` to `index + 1`.
    struct Migration {
        let name: String
        let sql: String
        /// Runs with foreign-key enforcement off (it rebuilds a table that others reference).
        var rebuildsTables = false
    }

    /// The collection every database has: today's routes without a collection name use it, and a file written
    /// before collections existed holds its images in it.
    public static let defaultCollectionID: Int64 = 1
    public static let defaultCollectionName = StoreDefaults.defaultCollectionName

    /// Forward migrations, in order.
    static let migrations: [Migration] = [
        Migration(name: "images, vectors, codes, thumbnails", sql: """
            CREATE TABLE images (
                id INTEGER PRIMARY KEY,
                key TEXT NOT NULL UNIQUE,
                sha256 BLOB NOT NULL,
                format TEXT NOT NULL,
                width INTEGER NOT NULL,
                height INTEGER NOT NULL,
                byte_size INTEGER NOT NULL,
                metadata TEXT NOT NULL DEFAULT '{}',
                created_at REAL NOT NULL,
                updated_at REAL NOT NULL
            );
            CREATE INDEX images_sha256 ON images(sha256);
            CREATE TABLE vectors (
                image_id INTEGER PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
                model TEXT NOT NULL,
                dimension INTEGER NOT NULL,
                data BLOB NOT NULL
            );
            CREATE TABLE hash_schemes (
                id INTEGER PRIMARY KEY,
                kind TEXT NOT NULL,
                bits INTEGER NOT NULL,
                dimension INTEGER NOT NULL,
                parameters BLOB NOT NULL,
                created_at REAL NOT NULL
            );
            CREATE TABLE codes (
                image_id INTEGER PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
                scheme_id INTEGER NOT NULL REFERENCES hash_schemes(id),
                bits INTEGER NOT NULL,
                words BLOB NOT NULL
            );
            CREATE TABLE thumbnails (
                image_id INTEGER PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
                jpeg BLOB NOT NULL
            );
            CREATE TABLE originals (
                image_id INTEGER PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
                bytes BLOB NOT NULL
            );
            CREATE TABLE settings (
                name TEXT PRIMARY KEY,
                value TEXT NOT NULL
            );
            """),
        // Keys become unique per collection; every record gets the change sequence number of its last write
        // (existing ones in id order); deletes leave tombstones. The single code scheme of a version-1 file
        // becomes the default collection's. Ids, and so every vector, code and thumbnail row, stay as they were.
        Migration(name: "collections, change sequence, tombstones", sql: """
            CREATE TABLE collections (
                id INTEGER PRIMARY KEY,
                name TEXT NOT NULL UNIQUE,
                settings TEXT NOT NULL DEFAULT '{}',
                created_at REAL NOT NULL,
                last_seq INTEGER NOT NULL DEFAULT 0,
                code_scheme_id INTEGER REFERENCES hash_schemes(id)
            );
            INSERT INTO collections (id, name, settings, created_at, last_seq, code_scheme_id)
                VALUES (1, 'default', '{}', CAST(strftime('%s', 'now') AS REAL), (SELECT count(*) FROM images),
                        (SELECT CAST(value AS INTEGER) FROM settings WHERE name = 'active_hash_scheme'
                         AND CAST(value AS INTEGER) IN (SELECT id FROM hash_schemes)));
            DELETE FROM settings WHERE name = 'active_hash_scheme';
            CREATE TABLE images_v2 (
                id INTEGER PRIMARY KEY,
                collection_id INTEGER NOT NULL REFERENCES collections(id),
                key TEXT NOT NULL,
                sha256 BLOB NOT NULL,
                format TEXT NOT NULL,
                width INTEGER NOT NULL,
                height INTEGER NOT NULL,
                byte_size INTEGER NOT NULL,
                metadata TEXT NOT NULL DEFAULT '{}',
                created_at REAL NOT NULL,
                updated_at REAL NOT NULL,
                seq INTEGER NOT NULL,
                UNIQUE (collection_id, key)
            );
            INSERT INTO images_v2 (id, collection_id, key, sha256, format, width, height, byte_size, metadata,
                                   created_at, updated_at, seq)
                SELECT id, 1, key, sha256, format, width, height, byte_size, metadata, created_at, updated_at,
                       ROW_NUMBER() OVER (ORDER BY id)
                FROM images;
            DROP TABLE images;
            ALTER TABLE images_v2 RENAME TO images;
            CREATE INDEX images_sha256 ON images(collection_id, sha256);
            CREATE INDEX images_seq ON images(collection_id, seq);
            CREATE TABLE tombstones (
                collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
                seq INTEGER NOT NULL,
                image_id INTEGER NOT NULL,
                key TEXT NOT NULL,
                PRIMARY KEY (collection_id, seq)
            );
            """, rebuildsTables: true),
        // Compaction of tombstones leaves a horizon below which deletions are no longer changes.
        Migration(name: "compaction horizon", sql: """
            ALTER TABLE collections ADD COLUMN compacted_through INTEGER NOT NULL DEFAULT 0;
            """),
    ]

    public static var schemaVersion: Int { migrations.count }

    public let path: String
    public let options: Options
    private let writer: Database
    private let writerLock = NSLock()
    private let readers = NSCondition()
    private var idleReaders: [Database] = []
    private var openReaders = 0

    /// Opens or creates the store at `path`, checks it, and migrates it to the current schema.
    ///
    /// - Throws: ``StorageError/damaged(path:detail:)`` for a file that is not SQLite or fails `quick_check`,
    ///   ``StorageError/unsupportedSchema(found:supported:)`` for a newer schema, or ``SQLiteError``.
    public init(path: String, options: Options = Options()) throws {
        self.path = path
        self.options = options
        do {
            writer = try Database(path: path, options: .init(busyTimeoutMilliseconds: options.busyTimeoutMilliseconds))
            // Larger pages keep a 5 KB vector blob on one page instead of a chain of overflow pages, which makes
            // the start-up scan faster. It only takes effect on a new, empty file (before WAL is switched on).
            try writer.execute("PRAGMA page_size = 16384")
            try writer.execute("PRAGMA foreign_keys = ON")
            let mode = try writer.scalar("PRAGMA journal_mode = WAL")?.text?.lowercased()
            if mode != "wal" && path != ":memory:" { throw StorageError.damaged(path: path, detail: "cannot enable WAL (\(mode ?? "?"))") }
            try writer.execute("PRAGMA synchronous = FULL")
            let check = try writer.scalar("PRAGMA quick_check")?.text ?? "no answer"
            guard check == "ok" else { throw StorageError.damaged(path: path, detail: "quick_check: \(check)") }
        } catch let error as SQLiteError where error.isCorruption {
            throw StorageError.damaged(path: path, detail: error.message)
        }
        try migrate()
        if options.maxDatabaseBytes > 0 {
            let pageSize = Int(try writer.scalar("PRAGMA page_size")?.integer ?? 4096)
            try writer.execute("PRAGMA max_page_count = \(max(1, options.maxDatabaseBytes / pageSize))")
        }
    }

    private func migrate() throws {
        let version = try writer.userVersion
        guard version <= Self.schemaVersion else {
            throw StorageError.unsupportedSchema(found: version, supported: Self.schemaVersion)
        }
        if version == 0 {
            // A version-0 file with tables in it is some other application's database.
            let tables = try writer.scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table'")?.integer ?? 0
            if tables > 0 { throw StorageError.damaged(path: path, detail: "it holds tables but no Lookalike schema") }
        }
        for step in version..<Self.schemaVersion {
            let migration = Self.migrations[step]
            // Foreign-key enforcement can only change outside a transaction.
            if migration.rebuildsTables { try writer.execute("PRAGMA foreign_keys = OFF") }
            defer { if migration.rebuildsTables { try? writer.execute("PRAGMA foreign_keys = ON") } }
            try writer.transaction {
                try writer.execute(migration.sql)
                if migration.rebuildsTables, let problem = try writer.rows("PRAGMA foreign_key_check").first {
                    throw StorageError.damaged(path: path, detail: "migration '\(migration.name)' broke a reference: \(problem)")
                }
                try writer.setUserVersion(step + 1)
            }
        }
        // Created on first start (it takes id 1, ``defaultCollectionID``, in a new file), and again after being
        // deleted.
        if try writer.scalar("SELECT count(*) FROM collections WHERE name = ?", [.text(Self.defaultCollectionName)])?.integer == 0 {
            try writer.run("INSERT INTO collections (name, settings, created_at) VALUES (?, '{}', ?)",
                           [.text(Self.defaultCollectionName), .real(Date().timeIntervalSince1970)])
        }
    }

    // MARK: - Connections

    private func write<T>(_ body: (Database) throws -> T) throws -> T {
        writerLock.lock()
        defer { writerLock.unlock() }
        do {
            return try body(writer)
        } catch let error as SQLiteError where error.isBusy {
            throw StorageError.busy(error.message)
        } catch let error as SQLiteError where error.isFull {
            throw StorageError.full(error.message)
        }
    }

    private func read<T>(_ body: (Database) throws -> T) throws -> T {
        readers.lock()
        while idleReaders.isEmpty && openReaders >= max(1, options.readerPoolSize) { readers.wait() }
        let reader = idleReaders.popLast()
        if reader == nil { openReaders += 1 }
        readers.unlock()
        let connection: Database
        do {
            connection = try reader ?? {
                let database = try Database(
                    path: path, options: .init(readOnly: true, busyTimeoutMilliseconds: options.busyTimeoutMilliseconds))
                try database.execute("PRAGMA foreign_keys = ON")
                return database
            }()
        } catch {
            readers.withLock { openReaders -= 1 }
            readers.signal()
            throw error
        }
        defer {
            readers.withLock { idleReaders.append(connection) }
            readers.signal()
        }
        do {
            return try body(connection)
        } catch let error as SQLiteError where error.isBusy {
            throw StorageError.busy(error.message)
        }
    }

    // MARK: - Collections

    private static let collectionColumns = "id, name, settings, created_at, last_seq, code_scheme_id, compacted_through"

    private static func storedCollection(_ row: [SQLiteValue]) -> StoredCollection {
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
    private func nextSequence(collection: Int64, in db: Database) throws -> Int64 {
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
    private func upsertRows(_ image: ImageWrite, collection: Int64, in db: Database) throws -> UpsertOutcome {
        try RecordValidation.validateKey(image.key)
        let metadata = try RecordValidation.validateMetadata(image.metadata, maxBytes: options.maxMetadataBytes)
        guard !image.vector.isEmpty, image.vector.allSatisfy({ $0.isFinite }) else {
            throw StorageError.invalidVector("empty or not finite")
        }
        guard image.code.words.count * 64 >= image.code.bits, image.code.bits > 0 else {
            throw StorageError.invalidVector("code has \(image.code.words.count) words for \(image.code.bits) bits")
        }
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
                    .blob(Self.bytes(of: image.code.words))])
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

    /// Replaces the codes of many images in one transaction (after a scheme change).
    public func updateCodes(_ codes: [(id: Int64, code: StoredCode)]) throws {
        try write { db in
            try db.transaction {
                let statement = try db.prepare("UPDATE codes SET scheme_id = ?, bits = ?, words = ? WHERE image_id = ?")
                for (id, code) in codes {
                    statement.reset()
                    try statement.bind([.integer(code.schemeID), .integer(Int64(code.bits)), .blob(Self.bytes(of: code.words)), .integer(id)])
                    while try statement.step() {}
                }
            }
        }
    }

    // MARK: - Reads

    private static let recordColumns =
        "id, collection_id, key, sha256, format, width, height, byte_size, metadata, created_at, updated_at, seq"

    private static func record(_ statement: Statement) -> StoredImage {
        StoredImage(
            id: statement.int64(at: 0), collectionID: statement.int64(at: 1), key: statement.text(at: 2),
            sha256: statement.blob(at: 3), format: statement.text(at: 4), width: Int(statement.int64(at: 5)),
            height: Int(statement.int64(at: 6)), byteSize: Int(statement.int64(at: 7)), metadata: statement.text(at: 8),
            createdAt: statement.double(at: 9), updatedAt: statement.double(at: 10), sequence: statement.int64(at: 11))
    }

    private func records(_ sql: String, _ arguments: [SQLiteValue]) throws -> [StoredImage] {
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
                              words: Self.words(statement.blob(at: 2)))
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
                        schemeID: statement.int64(at: 3), bits: Int(statement.int64(at: 4)), words: Self.words(statement.blob(at: 5)))
                    result[statement.int64(at: 0)] = IndexEntry(model: statement.text(at: 1), vector: statement.floats(at: 2), code: code)
                }
            }
        }
        return result
    }

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
            let statement = try db.prepare("""
                SELECT v.image_id, v.data FROM vectors v JOIN images i ON i.id = v.image_id
                WHERE i.collection_id = ? AND v.model = ? ORDER BY v.image_id
                """)
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
            let statement = try db.prepare("""
                SELECT c.image_id, c.scheme_id, c.bits, c.words FROM codes c JOIN images i ON i.id = c.image_id
                WHERE i.collection_id = ? ORDER BY c.image_id
                """)
            try statement.bind([.integer(collection)])
            while try statement.step() {
                try body(statement.int64(at: 0), StoredCode(schemeID: statement.int64(at: 1), bits: Int(statement.int64(at: 2)),
                                                            words: Self.words(statement.blob(at: 3))))
            }
        }
    }

    public func forEachKeyAndMetadata(collection: Int64, _ body: (Int64, String, String) throws -> Void) throws {
        try read { db in
            let statement = try db.prepare("SELECT id, key, metadata FROM images WHERE collection_id = ? ORDER BY id")
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
                StoreChange(kind: row[0].integer == 2 ? .compacted : row[0].integer == 1 ? .delete : .upsert,
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

    /// `PRAGMA integrity_check` (the full check; slow on large files).
    public func integrityCheck() throws -> String {
        try read { try $0.scalar("PRAGMA integrity_check")?.text ?? "no answer" }
    }

    // MARK: - Encoding

    static func bytes(of words: [UInt64]) -> [UInt8] {
        words.flatMap { word in (0..<8).map { UInt8(truncatingIfNeeded: word.littleEndian >> (8 * $0)) } }
    }

    static func words(_ bytes: [UInt8]) -> [UInt64] {
        stride(from: 0, to: bytes.count - bytes.count % 8, by: 8).map { start in
            (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[start + $1]) << (8 * UInt64($1)) }
        }
    }
}
