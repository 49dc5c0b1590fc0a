import Dispatch
import Foundation
public import HTTPCore
public import HTTPServer
public import Logging
public import Lookalike
import MetadataFilter
import Imaging

/// The REST API v1 over ``LookalikeService``: routes, request parsing, auth, request ids, metrics and the
/// access log. Errors are `application/problem+json` (RFC 9457).
public final class LookalikeAPI: Sendable {
    let service: LookalikeService
    public let metrics = APIMetrics()
    let logger: Logger
    let keys: [APIKey]
    let protectReads: Bool
    let rateLimiter: RateLimiter
    let trustedProxies: Set<String>
    let cors: CORSPolicy
    let multipart: MultipartParser
    let router: Router
    /// Every request: the access log and metrics, its id, CORS; then routing.
    let requestPipeline: MiddlewarePipeline<RequestContext>
    /// Every routed request: rate limits, then authorisation; then the route's handler.
    let routePipeline: MiddlewarePipeline<RouteContext>
    /// `/openapi.json` for this configuration (its security follows the keys in force).
    let openAPIDocument: String

    /// Log lines lost because the log's buffer was full (`/metrics`).
    let droppedLogLines: @Sendable () -> Int

    /// Where each request's access-log line goes; nil: `logger` at `info`.
    let accessLog: (@Sendable (AccessRecord) -> Void)?

    /// - Parameters:
    ///   - accessLog: writes a request's access-log line without going through swift-log's metadata dictionary
    ///     (the server's own log sink; a line per request at tens of thousands of requests a second); nil: the
    ///     line goes to `logger` at `info`.
    ///   - droppedLogLines: log lines lost to a full log buffer, for `/metrics`.
    public init(service: LookalikeService, logger: Logger, accessLog: (@Sendable (AccessRecord) -> Void)? = nil,
                droppedLogLines: @escaping @Sendable () -> Int = { 0 }) {
        self.service = service
        self.logger = logger
        self.accessLog = accessLog
        self.droppedLogLines = droppedLogLines
        self.keys = service.configuration.server.keys
        self.protectReads = service.configuration.server.protectReads
        self.rateLimiter = RateLimiter(limits: service.configuration.rateLimits)
        self.trustedProxies = Set(service.configuration.server.trustedProxies)
        self.cors = CORSPolicy(origins: service.configuration.server.corsOrigins)
        self.openAPIDocument = OpenAPIDocument.json(security: .init(
            keys: !keys.isEmpty, protectReads: protectReads, rateLimited: rateLimiter.isActive),
            dimension: service.model.featureDimension)
        self.multipart = MultipartParser(
            maxParts: service.configuration.server.maxMultipartParts, maxPartBytes: service.configuration.server.maxBodyBytes)
        // Routes reach the API through a weak box filled once `self` exists (the router is built first).
        let box = WeakAPIBox()
        var router = Router()
        for route in Self.routes {
            for (pattern, fixedCollection) in route.patterns {
                router.add(route.method, pattern) { [box] request in
                    guard let api = box.api else { return .problem(status: .serviceUnavailable, detail: "shutting down") }
                    return api.serve(request, route: route, collection: fixedCollection ?? request.parameters["collection"] ?? "")
                }
            }
        }
        self.router = router
        requestPipeline = MiddlewarePipeline([
            MetricsAndAccessLogMiddleware(metrics: metrics, accessLog: accessLog, logger: logger),
            RequestIDMiddleware(),
            CORSMiddleware(policy: cors),
        ])
        routePipeline = MiddlewarePipeline([
            RateLimitMiddleware(limiter: rateLimiter, keys: keys, clientAddress: { [box] request in
                box.api?.clientAddress(request) ?? request.remoteAddress
            }),
            AuthorizationMiddleware(keys: keys, protectReads: protectReads),
        ])
        box.api = self
    }

    /// Every pattern served, with its method (the OpenAPI test checks the document against it).
    public static var servedRoutes: [(method: HTTPMethod, pattern: String)] {
        routes.flatMap { route in route.patterns.map { (route.method, $0.pattern) } }
    }

    /// The server's handler: the request pipeline, then the router.
    public func handle(_ request: HTTPRequest) -> HTTPResponse {
        var context = RequestContext()
        return requestPipeline.respond(to: request, context: &context) { request, context in
            let (response, pattern) = router.route(request)
            context.routePattern = pattern
            return response
        }
    }

    /// One matched route: the route pipeline, then its handler, with errors rendered as problems.
    private func serve(_ request: HTTPRequest, route: APIRoute, collection: String) -> HTTPResponse {
        var context = RouteContext(route: route, collection: collection,
                                   caller: route.access == .open ? (nil, false) : identify(request))
        return routePipeline.respond(to: request, context: &context) { request, context in
            do {
                return try context.route.handler(self, request, context.collection)
            } catch {
                let (response, isServerFault) = ErrorMapping.response(for: error)
                if isServerFault { logger.error("request failed", metadata: ["error": "\(error)", "path": "\(request.path)"]) }
                return response
            }
        }
    }
}
