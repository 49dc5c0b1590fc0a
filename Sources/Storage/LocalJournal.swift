import Foundation

/// A SQLite file of one node's own bookkeeping (import jobs, re-embedding vectors), reached through one connection
/// under a lock. WAL and `synchronous = NORMAL`: a commit survives the process being killed; a power cut may lose
/// the last ones, which their owners are built to redo.
///
/// `@unchecked Sendable` is safe because the connection is only touched while holding `lock`.
public final class LocalJournal: @unchecked Sendable {
    private let connection: Database
    private let lock = NSLock()

    /// Opens (or creates) the file and runs `schema` (idempotent statements).
    public init(path: String, schema: String) throws {
        let database = try Database(path: path)
        try database.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL")
        try database.execute(schema)
        connection = database
    }

    /// Runs `body` with the connection, holding the lock.
    public func locked<T>(_ body: (Database) throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(connection)
    }
}
