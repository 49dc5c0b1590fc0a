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

    /// The collection every database has: today's routes without a collection name use it, and a file written
    /// before collections existed holds its images in it.
    public static let defaultCollectionID: Int64 = 1
    public static let defaultCollectionName = StoreDefaults.defaultCollectionName

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
        if version == 0 {
            // A version-0 file with tables in it is some other application's database.
            let tables = try writer.scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table'")?.integer ?? 0
            if tables > 0 { throw StorageError.damaged(path: path, detail: "it holds tables but no Lookalike schema") }
        }
        for (reaches, migration) in try SchemaMigration.pending(Self.migrations, from: version) {
            // Foreign-key enforcement can only change outside a transaction.
            if migration.rebuildsTables { try writer.execute("PRAGMA foreign_keys = OFF") }
            defer { if migration.rebuildsTables { try? writer.execute("PRAGMA foreign_keys = ON") } }
            try writer.transaction {
                for statement in migration.statements { try writer.execute(statement) }
                if migration.rebuildsTables, let problem = try writer.rows("PRAGMA foreign_key_check").first {
                    throw StorageError.damaged(path: path, detail: "migration '\(migration.name)' broke a reference: \(problem)")
                }
                try writer.setUserVersion(reaches)
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

    func write<T>(_ body: (Database) throws -> T) throws -> T {
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

    func read<T>(_ body: (Database) throws -> T) throws -> T {
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

}
