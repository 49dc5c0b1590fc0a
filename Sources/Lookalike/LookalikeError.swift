public import HTTPCore

/// Failures of the domain operations that are not already typed by a lower layer.
public enum LookalikeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No image with this id.
    case notFound(String)
    /// A recommendation names an example by an id no stored image has (the request is well-formed; the
    /// collection exists: 422 rather than 404).
    case exampleNotFound(String)
    /// The upload has stored near-duplicates and the caller asked to reject those.
    case duplicate([Match])
    /// A parameter is out of range; the message names it.
    case invalidArgument(String)
    /// The index is still loading.
    case notReady
    /// What was asked for is being prepared (a collection's first forest); the message says what to do meanwhile.
    case unavailable(String)
    /// No collection with this name.
    case collectionNotFound(String)
    /// A collection with this name exists.
    case collectionExists(String)
    /// The configured number of collections (`storage.maxCollections`) is reached.
    case tooManyCollections(Int)
    /// An operation only a SQLite file has (its online backup, its integrity check); PostgreSQL has its own.
    case unsupportedOnPostgres(String)
    /// No "not duplicates" decision with this id in the collection.
    case decisionNotFound(Int64)
    /// A decision names an image id no stored image has (the request is well-formed and the collection exists: 422).
    case decisionImageNotFound(String)
    /// A collection's recipe cannot change now (a re-embedding is in progress, or no originals are kept); the
    /// message says why.
    case recipeChangeRefused(String)

    public var description: String {
        switch self {
        case .notFound(let key): return "no image with id '\(key)'"
        case .exampleNotFound(let key): return "no image with id '\(key)' to use as an example"
        case .duplicate(let matches): return "near-duplicate of \(matches.map(\.key).joined(separator: ", "))"
        case .invalidArgument(let message): return message
        case .notReady: return "the index is still loading"
        case .unavailable(let message): return message
        case .collectionNotFound(let name): return "no collection named '\(name.prefix(80))'"
        case .collectionExists(let name): return "a collection named '\(name)' exists"
        case .tooManyCollections(let limit): return "the limit of \(limit) collections is reached (storage.maxCollections)"
        case .recipeChangeRefused(let message): return message
        case .decisionNotFound(let id): return "no decision \(id) in this collection"
        case .decisionImageNotFound(let key): return "no image with id '\(key.prefix(256))' to decide on"
        case .unsupportedOnPostgres(let operation):
            return "\(operation) is for a SQLite database; with PostgreSQL use its own tools (pg_dump, pg_basebackup, amcheck)"
        }
    }
}

extension LookalikeError: HTTPResponseError {
    public var status: HTTPStatus {
        switch self {
        case .notFound, .collectionNotFound, .decisionNotFound: .notFound
        case .duplicate, .collectionExists, .tooManyCollections, .recipeChangeRefused: .conflict
        case .invalidArgument: .badRequest
        case .exampleNotFound, .decisionImageNotFound: .unprocessableContent
        case .notReady, .unavailable: .serviceUnavailable
        case .unsupportedOnPostgres: .notImplemented
        }
    }

    public var publicDetail: String {
        status.isServerError && status != .serviceUnavailable && status != .notImplemented ? "internal error" : description
    }
}
