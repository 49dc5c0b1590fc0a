public import HTTPCore

/// Why the PostgreSQL store refused or failed an operation.
public enum PostgresStorageError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `storage.url` is not a usable `postgresql://` URL.
    case invalidURL(String)
    /// The server cannot be reached or refused the login; worth retrying once it is back.
    case unavailable(String)
    /// The server answered with an error this store did not expect.
    case server(String)

    public var description: String {
        switch self {
        case .invalidURL(let detail): "invalid PostgreSQL URL: \(detail)"
        case .unavailable(let detail): "PostgreSQL is unavailable: \(detail)"
        case .server(let detail): "PostgreSQL error: \(detail)"
        }
    }
}

extension PostgresStorageError: HTTPResponseError {
    public var status: HTTPStatus {
        switch self {
        case .invalidURL, .server: .internalServerError
        case .unavailable: .serviceUnavailable
        }
    }

    public var publicDetail: String {
        switch self {
        case .unavailable: "the database is unavailable; retry shortly"
        default: "storage failure"
        }
    }
}
