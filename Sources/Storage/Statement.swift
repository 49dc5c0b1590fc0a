internal import CSQLite

/// A compiled statement with typed binding and column access. Finalized when released.
public final class Statement {
    let handle: OpaquePointer
    unowned let database: Database
    public let sql: String

    /// `SQLITE_TRANSIENT`: SQLite copies bound bytes, so Swift buffers need not outlive the call.
    private static let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

    init(database: Database, sql: String) throws {
        var handle: OpaquePointer?
        let status = sqlite3_prepare_v2(database.handle, sql, -1, &handle, nil)
        guard status == SQLITE_OK, let handle else {
            throw SQLiteError(code: status, message: database.lastErrorMessage, sql: sql)
        }
        self.handle = handle
        self.database = database
        self.sql = sql
    }

    deinit {
        sqlite3_finalize(handle)
    }

    /// Clears bindings and resets for another execution.
    public func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    /// Binds `values` to parameters 1, 2, ... Related docs: <https://www.sqlite.org/c3ref/bind_blob.html>.
    public func bind(_ values: [SQLiteValue]) throws {
        for (offset, value) in values.enumerated() {
            try bind(value, at: offset + 1)
        }
    }

    /// Binds one value to the 1-based parameter `index`.
    public func bind(_ value: SQLiteValue, at index: Int) throws {
        let position = Int32(index)
        let status: Int32
        switch value {
        case .null:
            status = sqlite3_bind_null(handle, position)
        case .integer(let integer):
            status = sqlite3_bind_int64(handle, position, integer)
        case .real(let real):
            status = sqlite3_bind_double(handle, position, real)
        case .text(let text):
            status = sqlite3_bind_text(handle, position, text, -1, Self.transient)
        case .blob(let bytes):
            status = bytes.withUnsafeBytes {
                // An empty Swift array may have no base address; SQLite needs a non-NULL pointer for a zero-length blob.
                sqlite3_bind_blob64(handle, position, $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1), UInt64($0.count), Self.transient)
            }
        }
        try database.check(status, sql: sql)
    }

    /// Binds a float array as a little-endian float32 blob without an intermediate byte array.
    public func bind(floats: [Float], at index: Int) throws {
        let status = floats.withUnsafeBytes {
            sqlite3_bind_blob64(handle, Int32(index), $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1), UInt64($0.count), Self.transient)
        }
        try database.check(status, sql: sql)
    }

    /// Advances; `true` while a row is available. Related docs: <https://www.sqlite.org/c3ref/step.html>.
    public func step() throws -> Bool {
        let status = sqlite3_step(handle)
        switch status {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw SQLiteError(code: status, message: database.lastErrorMessage, sql: sql)
        }
    }

    public var columnCount: Int { Int(sqlite3_column_count(handle)) }

    public func isNull(at column: Int) -> Bool { sqlite3_column_type(handle, Int32(column)) == SQLITE_NULL }

    public func int64(at column: Int) -> Int64 { sqlite3_column_int64(handle, Int32(column)) }

    public func double(at column: Int) -> Double { sqlite3_column_double(handle, Int32(column)) }

    public func text(at column: Int) -> String {
        guard let pointer = sqlite3_column_text(handle, Int32(column)) else { return "" }
        return String(cString: pointer)
    }

    /// Calls `body` with the column's bytes, valid only during the call.
    ///
    /// - warning: Do not escape the buffer from the closure.
    public func withBlob<T>(at column: Int, _ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        let count = Int(sqlite3_column_bytes(handle, Int32(column)))
        let pointer = sqlite3_column_blob(handle, Int32(column))
        return try body(UnsafeRawBufferPointer(start: pointer, count: pointer == nil ? 0 : count))
    }

    public func blob(at column: Int) -> [UInt8] { withBlob(at: column) { Array($0) } }

    /// A float32 little-endian blob as floats (a trailing partial float is ignored).
    public func floats(at column: Int) -> [Float] {
        withBlob(at: column) { bytes in
            let count = bytes.count / 4
            var values = [Float](repeating: 0, count: count)
            values.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[0..<(count * 4)])) }
            return values
        }
    }

    /// The column as a ``SQLiteValue``.
    public func value(at column: Int) -> SQLiteValue {
        switch sqlite3_column_type(handle, Int32(column)) {
        case SQLITE_INTEGER: return .integer(int64(at: column))
        case SQLITE_FLOAT: return .real(double(at: column))
        case SQLITE_TEXT: return .text(text(at: column))
        case SQLITE_BLOB: return .blob(blob(at: column))
        default: return .null
        }
    }
}

@available(*, unavailable)
extension Statement: Sendable {}
