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


    public static var schemaVersion: Int { migrations.count }

    /// How long one statement may take before its connection is given up: statements here take milliseconds,
    /// so this only ends the wait for an answer that will not come (see ``EventLoopFuture/wait(seconds:doing:)``).
    static let statementSeconds: Int64 = 5

    public let location: PostgresLocation
    public let options: Options
    let pool: PostgresConnectionPool
    let logger: Logger
    let changeSignal = NSCondition()
    var changeCount = 0
    var consumedCount = 0
    var listener: PostgresConnection?
    var listenerClosed = false

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

    func run(_ query: PostgresQuery, on connection: PostgresConnection) throws -> PostgresQueryResult {
        do {
            return try connection.query(query, logger: logger).wait(seconds: Self.statementSeconds, doing: query.sql)
        } catch {
            throw Self.translate(error)
        }
    }

    /// One statement on any connection.
    @discardableResult
    func run(_ query: PostgresQuery) throws -> PostgresQueryResult {
        try pool.withConnection { try run(query, on: $0) }
    }

    /// `body`'s statements in one transaction, committed when it returns and rolled back when it throws.
    func transaction<T>(readOnly: Bool = false, _ body: (PostgresConnection) throws -> T) throws -> T {
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

    func migrate() throws {
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
            for (reaches, migration) in try SchemaMigration.pending(Self.migrations, from: version) {
                for statement in migration.statements {
                    _ = try run(PostgresQuery(unsafeSQL: statement), on: connection)
                }
                _ = try run("UPDATE lookalike_schema SET version = \(Int64(reaches))", on: connection)
            }
            // Created on first start, and again after being deleted.
            let name = StoreDefaults.defaultCollectionName
            _ = try run("""
                INSERT INTO collections (name, settings, created_at) VALUES (\(name), '{}', \(Date().timeIntervalSince1970))
                ON CONFLICT (name) DO NOTHING
                """, on: connection)
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
    func startListening() -> Bool {
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

}
#endif
