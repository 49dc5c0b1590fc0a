internal import CSQLite
import Foundation

/// One SQLite connection.
///
/// Not thread-safe: a connection is used by one thread at a time (``ImageStore`` serialises its writer and
/// hands each reader to one caller at a time), so SQLite is opened with `SQLITE_OPEN_NOMUTEX`.
public final class Database {
    /// How to open the file.
    public struct Options: Sendable {
        public var readOnly = false
        /// Milliseconds to wait on a lock held by another connection (`busy_timeout`).
        public var busyTimeoutMilliseconds = 5_000
        public init(readOnly: Bool = false, busyTimeoutMilliseconds: Int = 5_000) {
            self.readOnly = readOnly
            self.busyTimeoutMilliseconds = busyTimeoutMilliseconds
        }
    }

    let handle: OpaquePointer
    public let path: String
    private var statementCache: [String: Statement] = [:]

    /// Opens (creating unless read-only) the database at `path`. Related docs: <https://www.sqlite.org/c3ref/open.html>.
    public init(path: String, options: Options = Options()) throws {
        var handle: OpaquePointer?
        let flags = (options.readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
            | SQLITE_OPEN_NOMUTEX
        let status = sqlite3_open_v2(path, &handle, flags, nil)
        guard status == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close_v2(handle)
            throw SQLiteError(code: status, message: "\(message) (\(path))")
        }
        sqlite3_extended_result_codes(handle, 1)
        sqlite3_busy_timeout(handle, Int32(options.busyTimeoutMilliseconds))
        self.handle = handle
        self.path = path
    }

    deinit {
        statementCache.removeAll()  // finalise the cached statements before the connection closes
        sqlite3_close_v2(handle)
    }

    var lastErrorMessage: String { String(cString: sqlite3_errmsg(handle)) }

    func check(_ status: Int32, sql: String?) throws {
        if status != SQLITE_OK && status != SQLITE_ROW && status != SQLITE_DONE {
            throw SQLiteError(code: status, message: lastErrorMessage, sql: sql)
        }
    }

    /// Runs one or more statements that take no parameters. Related docs: <https://www.sqlite.org/c3ref/exec.html>.
    public func execute(_ sql: String) throws {
        try check(sqlite3_exec(handle, sql, nil, nil, nil), sql: sql)
    }

    /// Compiles one statement.
    public func prepare(_ sql: String) throws -> Statement {
        try Statement(database: self, sql: sql)
    }

    /// A compiled statement kept for reuse on this connection (reset before use; reset it after use too, so it
    /// does not hold a read transaction open). Lookups repeat a handful of statements, and compiling one costs
    /// more than running it. At most `statementCacheLimit` are kept.
    public func cachedStatement(_ sql: String) throws -> Statement {
        if let statement = statementCache[sql] {
            statement.reset()
            return statement
        }
        if statementCache.count >= Self.statementCacheLimit { statementCache.removeAll() }
        let statement = try prepare(sql)
        statementCache[sql] = statement
        return statement
    }

    static let statementCacheLimit = 64

    /// Runs a statement with arguments, stepping it to completion.
    public func run(_ sql: String, _ arguments: [SQLiteValue] = []) throws {
        let statement = try prepare(sql)
        try statement.bind(arguments)
        while try statement.step() {}
    }

    /// The rows of a query, each as its column values.
    public func rows(_ sql: String, _ arguments: [SQLiteValue] = []) throws -> [[SQLiteValue]] {
        let statement = try prepare(sql)
        try statement.bind(arguments)
        var rows: [[SQLiteValue]] = []
        while try statement.step() {
            rows.append((0..<statement.columnCount).map { statement.value(at: $0) })
        }
        return rows
    }

    /// The first column of the first row, if any.
    public func scalar(_ sql: String, _ arguments: [SQLiteValue] = []) throws -> SQLiteValue? {
        try rows(sql, arguments).first?.first
    }

    /// Copies this whole database into `destination` with SQLite's online backup API, in one step (one read
    /// transaction on this connection, so the copy is one consistent state; in WAL mode writers go on meanwhile).
    /// Related docs: <https://www.sqlite.org/backup.html>.
    public func copy(into destination: Database) throws {
        guard let backup = sqlite3_backup_init(destination.handle, "main", handle, "main") else {
            throw SQLiteError(code: sqlite3_errcode(destination.handle), message: destination.lastErrorMessage, sql: "backup")
        }
        let status = sqlite3_backup_step(backup, -1)
        let finish = sqlite3_backup_finish(backup)
        guard status == SQLITE_DONE else { throw SQLiteError(code: status, message: String(cString: sqlite3_errstr(status)), sql: "backup") }
        guard finish == SQLITE_OK else { throw SQLiteError(code: finish, message: destination.lastErrorMessage, sql: "backup") }
    }

    /// Runs `body` in a transaction (`BEGIN IMMEDIATE` so that a writer takes the lock up front), committing if
    /// it returns and rolling back if it throws.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// `PRAGMA user_version`, used for the schema version.
    public var userVersion: Int {
        get throws { Int(try scalar("PRAGMA user_version")?.integer ?? 0) }
    }

    public func setUserVersion(_ version: Int) throws {
        try execute("PRAGMA user_version = \(Int(version))")
    }

    /// Row id of the last insert on this connection.
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Rows changed by the last statement on this connection.
    public var changes: Int { Int(sqlite3_changes(handle)) }
}

/// `Database` wraps a connection that must stay on one thread at a time.
@available(*, unavailable)
extension Database: Sendable {}
