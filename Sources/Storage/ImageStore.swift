import Foundation

/// Everything Lookalike knows, in one SQLite file: image records, metadata, vectors, binary codes, thumbnails.
///
/// - WAL journal with `synchronous = FULL`: a write acknowledged to a client survives a process kill or a power
///   cut; readers never block the writer.
/// - One writer connection, used under a lock (SQLite allows one writer at a time anyway); reader connections
///   come from a pool of at most `readerPoolSize`, so many searches and lookups run concurrently with a write.
///   When every reader is busy a caller waits for one: opening a connection (and parsing the schema again)
///   costs far more than the short lookups readers do.
/// - The schema version lives in `user_version`; ``ImageStore/migrations`` run forward only.
///
/// `@unchecked Sendable` is safe because the writer connection is only touched while holding `writerLock`, and
/// each reader connection is owned by exactly one caller between checkout and check-in under `readers`.
public final class ImageStore: @unchecked Sendable {
    /// Store settings.
    public struct Options: Sendable {
        /// Largest metadata JSON in bytes (default 16 KiB).
        public var maxMetadataBytes = 16 * 1024
        /// Keep the original upload bytes (default off).
        public var keepOriginals = false
        /// Reader connections open at most (default 8).
        public var readerPoolSize = 8
        public init(maxMetadataBytes: Int = 16 * 1024, keepOriginals: Bool = false, readerPoolSize: Int = 8) {
            self.maxMetadataBytes = maxMetadataBytes
            self.keepOriginals = keepOriginals
            self.readerPoolSize = readerPoolSize
        }
    }

    /// Forward migrations; index `i` moves the schema from version `i` to `i + 1`.
    static let migrations: [String] = [
        """
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
        """,
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
            writer = try Database(path: path)
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
            try writer.transaction {
                try writer.execute(Self.migrations[step])
                try writer.setUserVersion(step + 1)
            }
        }
    }

    // MARK: - Connections

    private func write<T>(_ body: (Database) throws -> T) throws -> T {
        writerLock.lock()
        defer { writerLock.unlock() }
        return try body(writer)
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
                let database = try Database(path: path, options: .init(readOnly: true))
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
        return try body(connection)
    }

    // MARK: - Writes

    /// Stores an image under its key, replacing (atomically) whatever the key held. Returns the stored record
    /// and whether it replaced one.
    @discardableResult
    public func upsert(_ image: ImageWrite) throws -> (record: StoredImage, replaced: Bool) {
        try write { db in
            try db.transaction { try upsertRows(image, in: db) }
        }
    }

    /// The writes of one upsert, inside the caller's transaction.
    @discardableResult
    private func upsertRows(_ image: ImageWrite, in db: Database) throws -> (record: StoredImage, replaced: Bool) {
        try RecordValidation.validateKey(image.key)
        let metadata = try RecordValidation.validateMetadata(image.metadata, maxBytes: options.maxMetadataBytes)
        guard !image.vector.isEmpty, image.vector.allSatisfy({ $0.isFinite }) else {
            throw StorageError.invalidVector("empty or not finite")
        }
        guard image.code.words.count * 64 >= image.code.bits, image.code.bits > 0 else {
            throw StorageError.invalidVector("code has \(image.code.words.count) words for \(image.code.bits) bits")
        }
        let now = Date().timeIntervalSince1970
        let existing = try db.rows("SELECT id, created_at FROM images WHERE key = ?", [.text(image.key)]).first
        let id: Int64
        let createdAt: Double
        let values: [SQLiteValue] = [
            .blob(image.sha256), .text(image.format), .integer(Int64(image.width)), .integer(Int64(image.height)),
            .integer(Int64(image.byteSize)), .text(metadata), .real(now),
        ]
        if let existing, let existingID = existing[0].integer {
            id = existingID
            createdAt = existing[1].real ?? now
            try db.run("""
                UPDATE images SET sha256 = ?, format = ?, width = ?, height = ?, byte_size = ?, metadata = ?,
                updated_at = ? WHERE id = ?
                """, values + [.integer(id)])
        } else {
            createdAt = now
            try db.run("""
                INSERT INTO images (sha256, format, width, height, byte_size, metadata, updated_at, key, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, values + [.text(image.key), .real(now)])
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
            id: id, key: image.key, sha256: image.sha256, format: image.format, width: image.width,
            height: image.height, byteSize: image.byteSize, metadata: metadata, createdAt: createdAt, updatedAt: now)
        return (record, existing != nil)
    }

    /// Stores many images in one transaction (bulk import): all or nothing.
    public func upsert(batch images: [ImageWrite]) throws {
        try write { db in
            try db.transaction {
                for image in images { try upsertRows(image, in: db) }
            }
        }
    }

    /// Deletes the image with `key` and everything stored with it; returns its id, or `nil` if there was none.
    @discardableResult
    public func delete(key: String) throws -> Int64? {
        try write { db in
            try db.transaction {
                guard let id = try db.scalar("SELECT id FROM images WHERE key = ?", [.text(key)])?.integer else { return nil }
                try db.run("DELETE FROM images WHERE id = ?", [.integer(id)])
                return id
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

    /// Sets a named setting (small text values, e.g. the active hash scheme).
    public func setSetting(_ name: String, _ value: String) throws {
        try write { try $0.run("INSERT OR REPLACE INTO settings (name, value) VALUES (?, ?)", [.text(name), .text(value)]) }
    }

    // MARK: - Reads

    private static let recordColumns = "id, key, sha256, format, width, height, byte_size, metadata, created_at, updated_at"

    private static func record(_ statement: Statement) -> StoredImage {
        StoredImage(
            id: statement.int64(at: 0), key: statement.text(at: 1), sha256: statement.blob(at: 2),
            format: statement.text(at: 3), width: Int(statement.int64(at: 4)), height: Int(statement.int64(at: 5)),
            byteSize: Int(statement.int64(at: 6)), metadata: statement.text(at: 7), createdAt: statement.double(at: 8),
            updatedAt: statement.double(at: 9))
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

    public func image(key: String) throws -> StoredImage? {
        try records("SELECT \(Self.recordColumns) FROM images WHERE key = ?", [.text(key)]).first
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
    public func images(sha256: [UInt8]) throws -> [StoredImage] {
        try records("SELECT \(Self.recordColumns) FROM images WHERE sha256 = ? ORDER BY key", [.blob(sha256)])
    }

    /// A page of records ordered by key, starting after `afterKey` (cursor pagination).
    public func list(limit: Int, after afterKey: String? = nil) throws -> [StoredImage] {
        let limit = Int64(max(0, min(limit, 10_000)))
        if let afterKey {
            return try records("SELECT \(Self.recordColumns) FROM images WHERE key > ? ORDER BY key LIMIT ?",
                               [.text(afterKey), .integer(limit)])
        }
        return try records("SELECT \(Self.recordColumns) FROM images ORDER BY key LIMIT ?", [.integer(limit)])
    }

    public func count() throws -> Int {
        try read { Int(try $0.scalar("SELECT count(*) FROM images")?.integer ?? 0) }
    }

    public func thumbnail(key: String) throws -> [UInt8]? {
        try read {
            try $0.scalar("SELECT t.jpeg FROM thumbnails t JOIN images i ON i.id = t.image_id WHERE i.key = ?",
                          [.text(key)])?.blob
        }
    }

    public func original(key: String) throws -> [UInt8]? {
        try read {
            try $0.scalar("SELECT o.bytes FROM originals o JOIN images i ON i.id = o.image_id WHERE i.key = ?",
                          [.text(key)])?.blob
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

    /// Streams every stored vector of `model` in id order without materialising them all at once.
    ///
    /// - warning: `body` receives a buffer valid only during the call.
    public func forEachVector(model: String, _ body: (Int64, UnsafeBufferPointer<Float>) throws -> Void) throws {
        try read { db in
            let statement = try db.prepare("SELECT image_id, data FROM vectors WHERE model = ? ORDER BY image_id")
            try statement.bind([.text(model)])
            while try statement.step() {
                let id = statement.int64(at: 0)
                try statement.withBlob(at: 1) { bytes in
                    try bytes.withMemoryRebound(to: Float.self) { try body(id, $0) }
                }
            }
        }
    }

    /// Streams every stored code.
    public func forEachCode(_ body: (Int64, StoredCode) throws -> Void) throws {
        try read { db in
            let statement = try db.prepare("SELECT image_id, scheme_id, bits, words FROM codes ORDER BY image_id")
            while try statement.step() {
                try body(statement.int64(at: 0), StoredCode(schemeID: statement.int64(at: 1), bits: Int(statement.int64(at: 2)),
                                                            words: Self.words(statement.blob(at: 3))))
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

    public func setting(_ name: String) throws -> String? {
        try read { try $0.scalar("SELECT value FROM settings WHERE name = ?", [.text(name)])?.text }
    }

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
