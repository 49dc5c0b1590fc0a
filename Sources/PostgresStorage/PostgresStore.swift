#if PostgreSQL
import Foundation
import Logging
import NIOCore
import PostgresNIO
public import Storage

/// The PostgreSQL ``ImageRepository``: the same collections, records, vectors, codes, thumbnails and change
/// sequences as the SQLite store, in a database several nodes share.
///
/// - Each write takes its collection's next sequence number with `UPDATE collections … RETURNING last_seq`
///   inside its transaction; the row lock is held to commit, so within a collection sequence order is commit
///   order and a follower reading "after N" never skips a number that commits later.
/// - Each write also sends `NOTIFY lookalike_changes` with the collection's id, delivered at commit: a doorbell
///   for followers (``waitForChanges(timeout:)``), never the data itself.
/// - The schema version lives in `lookalike_schema`; ``migrations`` run forward only, each in one transaction
///   under an advisory lock, so nodes starting together migrate once.
///
/// `@unchecked Sendable` is safe because connections are used by one caller at a time (the pool's contract) and
/// `listener` state changes only under `changeSignal`.
public final class PostgresStore: ImageRepository, @unchecked Sendable {
    public struct Options: Sendable {
        public var maxMetadataBytes = StoreDefaults.maxMetadataBytes
        public var keepOriginals = StoreDefaults.keepOriginals
        /// Connections open at most.
        public var maxConnections = StoreDefaults.maxConnections
        public init(maxMetadataBytes: Int = StoreDefaults.maxMetadataBytes, keepOriginals: Bool = StoreDefaults.keepOriginals,
                    maxConnections: Int = StoreDefaults.maxConnections) {
            self.maxMetadataBytes = maxMetadataBytes
            self.keepOriginals = keepOriginals
            self.maxConnections = maxConnections
        }
    }

    /// The channel writes notify and followers listen on.
    static let changeChannel = "lookalike_changes"
    /// The advisory lock key under which schema migrations run ("LKLK").
    static let migrationLock: Int64 = 0x4C4B_4C4B

    static let migrations: [(name: String, sql: [String])] = [
        ("collections, images, vectors, codes, thumbnails, change sequence", [
            """
            CREATE TABLE hash_schemes (
                id BIGSERIAL PRIMARY KEY,
                kind TEXT NOT NULL,
                bits BIGINT NOT NULL,
                dimension BIGINT NOT NULL,
                parameters BYTEA NOT NULL,
                created_at DOUBLE PRECISION NOT NULL
            )
            """,
            """
            CREATE TABLE collections (
                id BIGSERIAL PRIMARY KEY,
                name TEXT COLLATE "C" NOT NULL UNIQUE,
                settings TEXT NOT NULL DEFAULT '{}',
                created_at DOUBLE PRECISION NOT NULL,
                last_seq BIGINT NOT NULL DEFAULT 0,
                code_scheme_id BIGINT REFERENCES hash_schemes(id)
            )
            """,
            // Keys sort by code point (the "C" collation over UTF-8), as in SQLite, so listings page alike.
            """
            CREATE TABLE images (
                id BIGSERIAL PRIMARY KEY,
                collection_id BIGINT NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
                key TEXT COLLATE "C" NOT NULL,
                sha256 BYTEA NOT NULL,
                format TEXT NOT NULL,
                width BIGINT NOT NULL,
                height BIGINT NOT NULL,
                byte_size BIGINT NOT NULL,
                metadata TEXT NOT NULL DEFAULT '{}',
                created_at DOUBLE PRECISION NOT NULL,
                updated_at DOUBLE PRECISION NOT NULL,
                seq BIGINT NOT NULL,
                UNIQUE (collection_id, key)
            )
            """,
            "CREATE INDEX images_sha256 ON images (collection_id, sha256)",
            "CREATE INDEX images_seq ON images (collection_id, seq)",
            """
            CREATE TABLE vectors (
                image_id BIGINT PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
                model TEXT NOT NULL,
                dimension BIGINT NOT NULL,
                data BYTEA NOT NULL
            )
            """,
            """
            CREATE TABLE codes (
                image_id BIGINT PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
                scheme_id BIGINT NOT NULL REFERENCES hash_schemes(id),
                bits BIGINT NOT NULL,
                words BYTEA NOT NULL
            )
            """,
            "CREATE TABLE thumbnails (image_id BIGINT PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE, jpeg BYTEA NOT NULL)",
            "CREATE TABLE originals (image_id BIGINT PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE, bytes BYTEA NOT NULL)",
            """
            CREATE TABLE tombstones (
                collection_id BIGINT NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
                seq BIGINT NOT NULL,
                image_id BIGINT NOT NULL,
                key TEXT COLLATE "C" NOT NULL,
                PRIMARY KEY (collection_id, seq)
            )
            """,
        ]),
        ("compaction horizon", ["ALTER TABLE collections ADD COLUMN compacted_through BIGINT NOT NULL DEFAULT 0"]),
    ]

    public static var schemaVersion: Int { migrations.count }

    /// How long one statement may take before its connection is given up: statements here take milliseconds,
    /// so this only ends the wait for an answer that will not come (see ``EventLoopFuture/wait(seconds:doing:)``).
    static let statementSeconds: Int64 = 5

    public let location: PostgresLocation
    public let options: Options
    private let pool: PostgresConnectionPool
    private let logger: Logger
    private let changeSignal = NSCondition()
    private var changeCount = 0
    private var consumedCount = 0
    private var listener: PostgresConnection?
    private var listenerClosed = false

    /// Connects, checks the schema and migrates it; creates the default collection when missing.
    ///
    /// - Throws: ``PostgresStorageError/unavailable(_:)`` when the server cannot be reached,
    ///   ``StorageError/unsupportedSchema(found:supported:)`` for a newer schema.
    public init(location: PostgresLocation, options: Options = Options()) throws {
        self.location = location
        self.options = options
        var logger = Logger(label: "lookalike.postgres")
        logger.logLevel = .error
        self.logger = logger
        pool = try PostgresConnectionPool(location: location, maxConnections: options.maxConnections, logger: logger)
        try migrate()
    }

    deinit {
        shutdown()
    }

    /// Closes the listener and every connection.
    public func shutdown() {
        let listening = changeSignal.withLock { () -> PostgresConnection? in
            listenerClosed = true
            defer { listener = nil }
            changeSignal.broadcast()
            return listener
        }
        listening?.closeInBackground()
        pool.shutdown()
    }

    // MARK: - Statements

    private func run(_ query: PostgresQuery, on connection: PostgresConnection) throws -> PostgresQueryResult {
        do {
            return try connection.query(query, logger: logger).wait(seconds: Self.statementSeconds, doing: query.sql)
        } catch {
            throw Self.translate(error)
        }
    }

    /// One statement on any connection.
    @discardableResult
    private func run(_ query: PostgresQuery) throws -> PostgresQueryResult {
        try pool.withConnection { try run(query, on: $0) }
    }

    /// `body`'s statements in one transaction, committed when it returns and rolled back when it throws.
    private func transaction<T>(readOnly: Bool = false, _ body: (PostgresConnection) throws -> T) throws -> T {
        try pool.withConnection { connection in
            _ = try run(readOnly ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN", on: connection)
            do {
                let result = try body(connection)
                _ = try run("COMMIT", on: connection)
                return result
            } catch {
                _ = try? connection.query("ROLLBACK", logger: logger).wait(seconds: Self.statementSeconds, doing: "ROLLBACK")
                throw error
            }
        }
    }

    /// The store's errors for PostgreSQL's: a full disk, contention and lost connections in the store's terms.
    static func translate(_ error: any Error) -> any Error {
        if error is StorageError || error is PostgresStorageError { return error }
        if PostgresConnectionPool.isConnectionLevel(error) {
            return PostgresStorageError.unavailable(PostgresConnectionPool.describe(error))
        }
        let state = (error as? PSQLError)?.serverInfo?[.sqlState] ?? ""
        let detail = PostgresConnectionPool.describe(error)
        switch state {
        case "53100", "53200", "54000": return StorageError.full(detail)  // disk full, out of memory, limits
        case "40001", "40P01", "55P03", "57014": return StorageError.busy(detail)  // serialisation, deadlock, lock, cancel
        default: return PostgresStorageError.server(detail)
        }
    }

    private func migrate() throws {
        try transaction { connection in
            _ = try run("SELECT pg_advisory_xact_lock(\(Self.migrationLock))", on: connection)
            _ = try run("CREATE TABLE IF NOT EXISTS lookalike_schema (version BIGINT NOT NULL)", on: connection)
            let rows = try run("SELECT version FROM lookalike_schema", on: connection)
            var version = 0
            if let row = rows.first {
                version = Int(try row.makeRandomAccess()[0].decode(Int64.self))
            } else {
                _ = try run("INSERT INTO lookalike_schema (version) VALUES (0)", on: connection)
            }
            guard version <= Self.schemaVersion else {
                throw StorageError.unsupportedSchema(found: version, supported: Self.schemaVersion)
            }
            for step in version..<Self.schemaVersion {
                for statement in Self.migrations[step].sql {
                    _ = try run(PostgresQuery(unsafeSQL: statement), on: connection)
                }
                _ = try run("UPDATE lookalike_schema SET version = \(Int64(step + 1))", on: connection)
            }
            // Created on first start, and again after being deleted.
            let name = StoreDefaults.defaultCollectionName
            _ = try run("""
                INSERT INTO collections (name, settings, created_at) VALUES (\(name), '{}', \(Date().timeIntervalSince1970))
                ON CONFLICT (name) DO NOTHING
                """, on: connection)
        }
    }

    // MARK: - Collections

    private static let collectionColumns = "id, name, settings, created_at, last_seq, code_scheme_id, compacted_through"

    private static func collection(_ row: PostgresRow) throws -> StoredCollection {
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
    private func nextSequence(collection: Int64, on connection: PostgresConnection) throws -> Int64 {
        guard let row = try run("UPDATE collections SET last_seq = last_seq + 1 WHERE id = \(collection) RETURNING last_seq",
                                on: connection).first else {
            throw StorageError.unknownCollection(collection)
        }
        return try row.makeRandomAccess()[0].decode(Int64.self)
    }

    /// Rings the followers' doorbell at commit (0: the list of collections changed).
    private func notify(collection: Int64, on connection: PostgresConnection) throws {
        _ = try run("SELECT pg_notify(\(Self.changeChannel), \(String(collection)))", on: connection)
    }

    // MARK: - Writes

    @discardableResult
    public func upsert(_ image: ImageWrite, collection: Int64) throws -> UpsertOutcome {
        try RecordValidation.validateKey(image.key)
        let metadata = try RecordValidation.validateMetadata(image.metadata, maxBytes: options.maxMetadataBytes)
        guard !image.vector.isEmpty, image.vector.allSatisfy({ $0.isFinite }) else {
            throw StorageError.invalidVector("empty or not finite")
        }
        guard image.code.words.count * 64 >= image.code.bits, image.code.bits > 0 else {
            throw StorageError.invalidVector("code has \(image.code.words.count) words for \(image.code.bits) bits")
        }
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

    private func deleteRows(key: String, collection: Int64) throws -> DeleteOutcome {
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

    private func updateMetadataRow(key: String, collection: Int64, metadata: String) throws -> StoredImage {
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

    // MARK: - Reads

    private static let recordColumns =
        "id, collection_id, key, sha256, format, width, height, byte_size, metadata, created_at, updated_at, seq"

    private static func record(_ row: PostgresRow) throws -> StoredImage {
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
            return StoreChange(kind: kind == 2 ? .compacted : kind == 1 ? .delete : .upsert, id: try cells[1].decode(Int64.self),
                               key: try cells[2].decode(String.self), sequence: try cells[3].decode(Int64.self))
        }
    }

    // MARK: - Following other nodes' writes

    /// Nodes share the server: each follows the others' writes.
    public var isShared: Bool { true }

    public func waitForChanges(timeout: Double) -> Bool {
        // The listener connects lazily and again after it dropped; until it does, this is a plain poll.
        if !startListening() {
            Thread.sleep(forTimeInterval: timeout)
            return false
        }
        let deadline = Date(timeIntervalSinceNow: timeout)
        changeSignal.lock()
        defer { changeSignal.unlock() }
        // A notification that arrived since the last call (during the caller's catch-up) counts at once.
        while changeCount == consumedCount && !listenerClosed {
            if !changeSignal.wait(until: deadline) { return false }
        }
        consumedCount = changeCount
        return true
    }

    /// Opens the `LISTEN` connection if it is not open; false when that failed (the server is down).
    private func startListening() -> Bool {
        let current = changeSignal.withLock { () -> (PostgresConnection?, Bool) in (listener, listenerClosed) }
        if current.1 { return false }
        if let connection = current.0, !connection.isClosed { return true }
        guard let connection = try? pool.connect() else { return false }
        connection.addListener(channel: Self.changeChannel) { [weak self] _, _ in
            guard let self else { return }
            self.changeSignal.withLock {
                self.changeCount += 1
                self.changeSignal.broadcast()
            }
        }
        guard (try? connection.query("LISTEN \(unescaped: Self.changeChannel)", logger: logger)
            .wait(seconds: Self.statementSeconds, doing: "LISTEN")) != nil else {
            connection.closeInBackground()
            return false
        }
        // Whatever was written while no one listened is read by the caller's next catch-up.
        changeSignal.withLock {
            listener = connection
            changeCount += 1
            changeSignal.broadcast()
        }
        return true
    }

    /// A session-level advisory lock on a pool connection held for `body`'s duration; PostgreSQL releases it if
    /// this process dies.
    public func whileHolding<T>(claim name: String, _ body: () throws -> T) throws -> T? {
        try pool.withConnection { connection in
            let granted = try run("SELECT pg_try_advisory_lock(hashtext(\(name)))", on: connection).first
            guard try granted?.makeRandomAccess()[0].decode(Bool.self) == true else { return nil }
            defer { _ = try? run("SELECT pg_advisory_unlock(hashtext(\(name)))", on: connection) }
            return try body()
        }
    }

    // MARK: - Encoding

    static func buffer(_ bytes: [UInt8]) -> ByteBuffer { ByteBuffer(bytes: bytes) }

    static func buffer(floats: [Float]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(floats.count * 4)
        for value in floats { buffer.writeInteger(value.bitPattern, endianness: .little) }
        return buffer
    }

    static func buffer(words: [UInt64]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(words.count * 8)
        for word in words { buffer.writeInteger(word, endianness: .little) }
        return buffer
    }

    static func bytes(_ buffer: ByteBuffer) -> [UInt8] { Array(buffer.readableBytesView) }

    static func floats(_ buffer: ByteBuffer) -> [Float] {
        var values: [Float] = []
        floats(buffer, into: &values)
        return values
    }

    static func floats(_ buffer: ByteBuffer, into values: inout [Float]) {
        var buffer = buffer
        values.removeAll(keepingCapacity: true)
        while let bits = buffer.readInteger(endianness: .little, as: UInt32.self) { values.append(Float(bitPattern: bits)) }
    }

    static func words(_ buffer: ByteBuffer) -> [UInt64] {
        var buffer = buffer
        var words: [UInt64] = []
        while let word = buffer.readInteger(endianness: .little, as: UInt64.self) { words.append(word) }
        return words
    }
}

/// Rolls back a write that found nothing to change (the caller answers nil).
private struct NothingToChange: Error {}
#endif
