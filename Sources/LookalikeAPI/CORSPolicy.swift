import HTTPCore
import HTTPServer

/// Cross-origin access for browser scripts from `server.corsOrigins`.
///
/// Only a listed origin is echoed in `Access-Control-Allow-Origin` (`*` when the list is `*`), with
/// `Vary: Origin`; credentials are never allowed (the API's keys travel in `Authorization`, which a script sets
/// itself, so cookies are never needed). A preflight from a listed origin is answered here, before routing and
/// without a key, as browsers send it without one.
struct CORSPolicy: Sendable {
    let origins: Set<String>
    /// What a script may send and read beyond the simple headers.
    static let allowedMethods = "GET, HEAD, POST, PUT, PATCH, DELETE"
    static let allowedHeaders = "Authorization, Content-Type, If-None-Match, X-Request-Id"
    static let exposedHeaders = "Location, Retry-After, X-Request-Id, ETag"

    init(origins: [String]) { self.origins = Set(origins) }

    var isEnabled: Bool { !origins.isEmpty }

    /// The value for `Access-Control-Allow-Origin`, or nil when `origin` is not allowed.
    func allowedOrigin(_ origin: String) -> String? {
        if origins.contains("*") { return "*" }
        return origins.contains(origin) ? origin : nil
    }

    /// The answer to a preflight (`OPTIONS` with `Access-Control-Request-Method`), or nil for other requests.
    func preflight(_ request: HTTPRequest) -> HTTPResponse? {
        guard request.method == .options, let origin = request.header("Origin"),
              request.header("Access-Control-Request-Method") != nil else { return nil }
        guard let allowed = allowedOrigin(origin) else {
            return .problem(status: .forbidden, detail: "origin \(origin.prefix(100)) is not in server.corsOrigins")
        }
        return HTTPResponse(status: .noContent, headers: [
            ("Access-Control-Allow-Origin", allowed), ("Access-Control-Allow-Methods", Self.allowedMethods),
            ("Access-Control-Allow-Headers", Self.allowedHeaders), ("Access-Control-Max-Age", "600"), ("Vary", "Origin"),
        ])
    }

    /// Adds the CORS headers to an actual response for an allowed origin.
    func decorate(_ response: inout HTTPResponse, for request: HTTPRequest) {
        guard isEnabled else { return }
        response.setHeader("Vary", "Origin")
        guard let origin = request.header("Origin"), let allowed = allowedOrigin(origin) else { return }
        response.setHeader("Access-Control-Allow-Origin", allowed)
        response.setHeader("Access-Control-Expose-Headers", Self.exposedHeaders)
    }
}
