public import HTTPCore

/// Why a store operation was refused before reaching SQLite.
public enum StorageError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Keys are 1–256 code points with no control or format characters.
    case invalidKey(String)
    /// Metadata must be a JSON object within the size limit.
    case invalidMetadata(String)
    /// A vector or code does not match what the store holds.
    case invalidVector(String)
    /// The file is damaged or is not a Lookalike database.
    case damaged(path: String, detail: String)
    /// The file's schema is newer than this program understands.
    case unsupportedSchema(found: Int, supported: Int)
    /// A collection name outside `[a-z0-9][a-z0-9_-]{0,63}`.
    case invalidCollectionName(String)
    /// A collection with this name exists.
    case collectionExists(String)
    /// No collection with this id (deleted meanwhile).
    case unknownCollection(Int64)
    /// Another process holds the database's write lock beyond the busy timeout.
    case busy(String)
    /// The database cannot grow: the disk is full or the file reached its configured size limit.
    case full(String)

    public var description: String {
        switch self {
        case .invalidKey(let reason): return "invalid image id: \(reason)"
        case .invalidMetadata(let reason): return "invalid metadata: \(reason)"
        case .invalidVector(let reason): return "invalid vector: \(reason)"
        case .damaged(let path, let detail): return "database \(path) is damaged or not a Lookalike database: \(detail)"
        case .unsupportedSchema(let found, let supported):
            return "database schema version \(found) is newer than this program's \(supported); upgrade Lookalike"
        case .invalidCollectionName(let name):
            return "invalid collection name '\(name.prefix(80))': use 1–64 characters a-z 0-9 _ -, starting with a letter or digit"
        case .collectionExists(let name): return "a collection named '\(name)' exists"
        case .unknownCollection(let id): return "no collection with id \(id)"
        case .busy(let detail): return "the database is busy: \(detail)"
        case .full(let detail): return "the database cannot grow: \(detail)"
        }
    }
}

extension StorageError: HTTPResponseError {
    public var status: HTTPStatus {
        switch self {
        case .invalidKey, .invalidMetadata, .invalidVector, .invalidCollectionName: .badRequest
        case .collectionExists: .conflict
        case .unknownCollection: .notFound
        // Another process holds the write lock (a backup, the CLI): worth retrying shortly.
        case .busy: .serviceUnavailable
        // Nothing was written; reads go on, and writes succeed again once there is room.
        case .full: .insufficientStorage
        case .damaged, .unsupportedSchema: .internalServerError
        }
    }

    /// Paths and SQLite's text stay in the log.
    public var publicDetail: String {
        switch self {
        case .unknownCollection: "the collection was deleted"
        case .busy: "the database is busy; retry shortly"
        case .full: "the database is full (disk space or storage.maxDatabaseBytes); nothing was stored"
        case .damaged, .unsupportedSchema: "storage failure"
        default: description
        }
    }
}
