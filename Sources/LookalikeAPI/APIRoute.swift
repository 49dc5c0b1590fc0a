public import HTTPCore
import HTTPServer
import Lookalike

/// One entry of the API's route table: from it come dispatch, authorisation, the metrics' route label and the
/// OpenAPI document's `paths`.
public struct APIRoute: Sendable {
    /// Who may call a route when API keys are configured.
    public enum Access: Sendable, Equatable {
        /// Always open (health checks, the API description).
        case open
        /// Reads: open unless `server.protectReads`.
        case read
        /// Writes to images: a `write` or `admin` key is required.
        case write
        /// Creating and deleting collections, backups: an `admin` key is required.
        case admin

        /// The least role that may call a route with this access (nil: no key needed).
        var requiredRole: APIKey.Role? {
            switch self {
            case .open: nil
            case .read: .read
            case .write: .write
            case .admin: .admin
            }
        }
    }

    /// Where a route lives.
    public enum Scope: Sendable, Equatable {
        /// At `path` as given.
        case service
        /// Under `/v1/collections/{collection}` + `path`, and at `/v1` + `path` for the `default` collection
        /// (the routes from before collections existed).
        case collection
    }

    public let method: HTTPMethod
    /// The path below the scope's prefix, `{name}` segments captured.
    public let path: String
    public let scope: Scope
    public let access: Access
    /// The OpenAPI operation object (JSON), without the collection parameter and security, which the document
    /// adds from `scope` and `access`.
    public let operation: String
    let handler: @Sendable (LookalikeAPI, HTTPRequest, String) throws -> HTTPResponse

    init(_ method: HTTPMethod, _ path: String, scope: Scope, access: Access, operation: String,
         handler: @escaping @Sendable (LookalikeAPI, HTTPRequest, String) throws -> HTTPResponse) {
        self.method = method
        self.path = path
        self.scope = scope
        self.access = access
        self.operation = operation
        self.handler = handler
    }

    /// The patterns this route is served at, each with the collection it addresses (nil: from the path).
    var patterns: [(pattern: String, fixedCollection: String?)] {
        switch scope {
        case .service: return [(path, nil)]
        case .collection: return [("/v1/collections/{collection}" + path, nil), ("/v1" + path, "default")]
        }
    }
}
