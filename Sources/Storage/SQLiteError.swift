/// An SQLite failure: the result code, SQLite's message, and the SQL that failed (never bound values, which may
/// hold user data).
public struct SQLiteError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The primary or extended result code (`SQLITE_BUSY` = 5, `SQLITE_CORRUPT` = 11, `SQLITE_NOTADB` = 26, ...).
    public let code: Int32
    /// `sqlite3_errmsg` at the time of failure, or a description from this wrapper.
    public let message: String
    /// The statement, when one was involved.
    public let sql: String?

    public init(code: Int32, message: String, sql: String? = nil) {
        self.code = code
        self.message = message
        self.sql = sql
    }

    /// The primary result code (the low byte of an extended code).
    public var primaryCode: Int32 { code & 0xFF }

    /// SQLITE_CORRUPT or SQLITE_NOTADB: the file is damaged or not a database.
    public var isCorruption: Bool { primaryCode == 11 || primaryCode == 26 }

    /// SQLITE_BUSY or SQLITE_LOCKED: another connection holds a lock past the busy timeout.
    public var isBusy: Bool { primaryCode == 5 || primaryCode == 6 }

    /// SQLITE_FULL: the disk is full, or the file reached `max_page_count`.
    public var isFull: Bool { primaryCode == 13 }

    /// SQLITE_CONSTRAINT.
    public var isConstraintViolation: Bool { primaryCode == 19 }

    public var description: String {
        var text = "SQLite error \(code): \(message)"
        if let sql { text += " — while executing: \(sql)" }
        return text
    }
}
